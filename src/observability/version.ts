import fs from 'node:fs';
import path from 'node:path';

let version: string | undefined;

/**
 * wal's version, from the package.json at the package root: two levels up from both src/<room> and
 * dist/<room> (the bench's dist-bench links it there, as it does schemas/). Read on first use.
 */
export function walVersion(): string {
  version ??= (JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'package.json'), 'utf8')) as { version: string }).version;
  return version;
}
