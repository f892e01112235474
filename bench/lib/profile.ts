import { mkdir, writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';
import path from 'node:path';

/**
 * Runs `body` under V8's CPU profiler of this process when `dir` is given, and writes
 * `<dir>/<name>-<time>.cpuprofile` (open it in Chrome DevTools or summarise it): a profile of one
 * phase of an in-process bench, without the fill and the baseline that `node --cpu-prof` would mix in.
 */
export async function profiled<T>(dir: string | undefined, name: string, body: () => Promise<T>): Promise<T> {
  if (dir === undefined) return body();
  const session = new Session();
  session.connect();
  try {
    await session.post('Profiler.enable');
    await session.post('Profiler.start');
    const result = await body();
    const { profile } = await session.post('Profiler.stop');
    await mkdir(dir, { recursive: true });
    await writeFile(path.join(dir, `${name}-${Date.now()}.cpuprofile`), JSON.stringify(profile));
    return result;
  } finally {
    session.disconnect();
  }
}
