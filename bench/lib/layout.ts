import fs from 'node:fs';
import path from 'node:path';

/** The repository root, from dist-bench/bench/lib (compiled) or bench/lib (sources). */
export const REPO_ROOT = path.resolve(__dirname, '..', '..', __dirname.includes(`${path.sep}dist-bench${path.sep}`) ? '..' : '.');

/**
 * The compiled sources under dist-bench/src look for the Avro schemas two levels up, in
 * dist-bench/schemas: point that at the repository's schemas/ (a symlink, made once).
 */
export function linkSchemas(): void {
  const compiledRoot = path.resolve(__dirname, '..', '..');
  if (path.basename(compiledRoot) !== 'dist-bench') return;
  const link = path.join(compiledRoot, 'schemas');
  if (!fs.existsSync(link)) fs.symlinkSync(path.join(REPO_ROOT, 'schemas'), link, 'dir');
}

/** A compiled bench script, e.g. compiled('bench/runtime.js'). */
export function compiled(relative: string): string {
  return path.join(REPO_ROOT, 'dist-bench', relative);
}
