import { mkdir, writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';
import path from 'node:path';

/**
 * Runs `body` under V8's CPU profiler and its sampling heap profiler when `dir` is given, and writes
 * `<dir>/<name>-<time>.cpuprofile` and `.heapprofile` (open them in Chrome DevTools): one phase of an
 * in-process bench, without the fill and the baseline that `node --cpu-prof` would mix in. The heap
 * profile counts every allocation sampled, collected or not: where the garbage collector's work comes
 * from, a figure that does not move with the machine's load as CPU time does.
 */
export async function profiled<T>(dir: string | undefined, name: string, body: () => Promise<T>): Promise<T> {
  if (dir === undefined) return body();
  const session = new Session();
  session.connect();
  try {
    await session.post('Profiler.enable');
    await session.post('Profiler.start');
    await session.post('HeapProfiler.startSampling', { samplingInterval: 32 * 1024, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
    const result = await body();
    const { profile } = await session.post('Profiler.stop');
    const { profile: heap } = await session.post('HeapProfiler.stopSampling');
    await mkdir(dir, { recursive: true });
    const stem = path.join(dir, `${name}-${Date.now()}`);
    await writeFile(`${stem}.cpuprofile`, JSON.stringify(profile));
    await writeFile(`${stem}.heapprofile`, JSON.stringify(heap));
    return result;
  } finally {
    session.disconnect();
  }
}
