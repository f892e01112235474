/**
 * `promise`'s value, or `onTimeout` once `ms` passed first. The timer is cleared either way: a pending
 * one would hold jest open after the run (it exits on its own, without forceExit).
 */
export async function orTimeout<T, U>(promise: Promise<T>, ms: number, onTimeout: U): Promise<T | U> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([promise, new Promise<U>((resolve) => (timer = setTimeout(() => resolve(onTimeout), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}
