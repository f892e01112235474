import fs from 'node:fs';
import path from 'node:path';

/** The repository root, from dist-bench/bench/lib (compiled) or bench/lib (sources). */
export const REPO_ROOT = path.resolve(__dirname, '..', '..', __dirname.includes(`${path.sep}dist-bench${path.sep}`) ? '..' : '.');

/**
 * The compiled sources under dist-bench/src look for the package root two levels up, in dist-bench:
 * its Avro schemas and package.json (the version). Point those at the repository's (symlinks, made once).
 */
export function linkPackageRoot(): void {
  const compiledRoot = path.resolve(__dirname, '..', '..');
  if (path.basename(compiledRoot) !== 'dist-bench') return;
  for (const [name, type] of [['schemas', 'dir'], ['package.json', 'file']] as const) {
    const link = path.join(compiledRoot, name);
    if (!fs.existsSync(link)) fs.symlinkSync(path.join(REPO_ROOT, name), link, type);
  }
}

/** A compiled bench script, e.g. compiled('bench/runtime.js'). */
export function compiled(relative: string): string {
  return path.join(REPO_ROOT, 'dist-bench', relative);
}
