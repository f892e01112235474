import { DeliveryResult, OK } from './target';

/**
 * Sends a batch in one request (one produce, one SQL statement). When that fails permanently and the
 * batch has more than one record, each record is sent on its own so that one bad record (too large,
 * invalid JSON) fails alone instead of taking its neighbours to the DLQ. A retriable failure fails
 * the whole batch as retriable: retrying it as a unit is cheap and keeps order.
 */
export async function sendIsolatingFailures<T>(
  batch: T[],
  send: (records: T[]) => Promise<void>,
  classify: (error: unknown) => DeliveryResult,
): Promise<DeliveryResult[]> {
  if (batch.length === 0) return [];
  const whole = await attempt(batch, send, classify);
  if (whole.ok || whole.retriable || batch.length === 1) return batch.map(() => whole);
  const results: DeliveryResult[] = [];
  for (const record of batch) results.push(await attempt([record], send, classify));
  return results;
}

async function attempt<T>(
  records: T[],
  send: (records: T[]) => Promise<void>,
  classify: (error: unknown) => DeliveryResult,
): Promise<DeliveryResult> {
  try {
    await send(records);
    return OK;
  } catch (error) {
    return classify(error);
  }
}

/** Maps with at most `limit` calls in flight; results keep the input order. */
export async function mapWithConcurrency<T, R>(items: T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const index = next++;
      results[index] = await fn(items[index], index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(Math.max(1, limit), items.length) }, worker));
  return results;
}
