import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isAlive } from './process';

const OWNER_FILE = 'owner.pid';

/** Marks a temp dir as belonging to this process, so a later start can tell when it is abandoned. */
export function writeOwnerFile(dir: string): void {
  fs.writeFileSync(path.join(dir, OWNER_FILE), String(process.pid));
}

/**
 * Temp dirs left by processes that were killed (the watchdog ends their server, but nobody removes
 * the dir): removed when their owner process is gone. Dirs without an owner file are left alone.
 */
export function removeAbandonedDirs(prefix: string): void {
  for (const entry of fs.readdirSync(os.tmpdir())) {
    if (!entry.startsWith(prefix)) continue;
    const dir = path.join(os.tmpdir(), entry);
    try {
      const owner = Number(fs.readFileSync(path.join(dir, OWNER_FILE), 'utf8'));
      if (owner > 0 && !isAlive(owner)) fs.rmSync(dir, { recursive: true, force: true });
    } catch {
      /* not ours, or being created right now */
    }
  }
}
