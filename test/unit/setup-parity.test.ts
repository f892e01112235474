import { readFileSync } from 'node:fs';
import path from 'node:path';

/**
 * The README's two commands must each do their own set-up on a fresh machine: `npm run dev`
 * (scripts/dev.sh) runs the installer and the jar fetch that `npm test` runs in its pretest, before
 * it needs what they install (`wal dev up` starts PostgreSQL, Redis and the JVM brokers). A new
 * dependency added to the installer (memcached, say) reaches both commands at once.
 */

const root = path.resolve(__dirname, '../..');
const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> };

/** The commands a bash script runs, in order: comments and blank lines dropped, continuations joined. */
function commands(script: string): string[] {
  return script
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
}

/** Index of the first command matching `pattern`; -1 when none does. */
function indexOf(list: readonly string[], pattern: RegExp): number {
  return list.findIndex((c) => pattern.test(c));
}

const INSTALLER = /^bash scripts\/install-system-deps\.sh\b/;
const JAR_FETCH = /(node dist\/cli\/main\.js|"\$\{WAL\[@\]\}") dev fetch\b/;

describe('set-up parity of the two commands', () => {
  const pretest = pkg.scripts.pretest.split('&&').map((c) => c.trim());
  const dev = commands(readFileSync(path.join(root, 'scripts/dev.sh'), 'utf8'));

  it('npm test runs the system installer and the jar fetch in its pretest', () => {
    expect(indexOf(pretest, INSTALLER)).toBe(0);
    expect(indexOf(pretest, JAR_FETCH)).toBeGreaterThan(0);
  });

  it('npm run dev is scripts/dev.sh, which runs the same installer and jar fetch before `wal dev up`', () => {
    expect(pkg.scripts.dev).toMatch(/\bbash scripts\/dev\.sh$/);
    const installer = indexOf(dev, INSTALLER);
    const fetch = indexOf(dev, JAR_FETCH);
    const build = indexOf(dev, /^npm run build\b/);
    const up = indexOf(dev, /dev up\)?"?\)?$/);
    expect({ installer, fetch, build, up }).toEqual({ installer: expect.any(Number), fetch: expect.any(Number), build: expect.any(Number), up: expect.any(Number) });
    expect([installer, build, fetch, up].every((i) => i >= 0)).toBe(true);
    // The installer runs before anything needs it; the fetch needs the build (it is a wal command).
    expect(installer).toBeLessThan(up);
    expect(build).toBeLessThan(fetch);
    expect(fetch).toBeLessThan(up);
    // Nothing conditional around them: a fresh machine always goes through the installer.
    expect(dev[installer]).toMatch(/^bash scripts\/install-system-deps\.sh( >&2)?$/);
  });

  it('the installer dev.sh runs is the very script the pretest runs (one file, not a copy)', () => {
    const script = (line: string) => /scripts\/[\w.-]+\.sh/.exec(line)?.[0];
    expect(script(dev[indexOf(dev, INSTALLER)])).toBe(script(pretest[indexOf(pretest, INSTALLER)]));
  });
});
