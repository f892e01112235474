import type { Admin, IHeaders } from 'kafkajs';

/** Consumer-group plumbing kafkajs leaves to its callers. */

/** kafkajs' own test for "the group is rebalancing, re-join" (not exported by its typings). */
export function isRebalancing(error: unknown): boolean {
  const type = (error as { type?: string })?.type;
  return type === 'REBALANCE_IN_PROGRESS' || type === 'NOT_COORDINATOR_FOR_GROUP' || type === 'ILLEGAL_GENERATION';
}

/** Kafka headers as UTF-8 strings (a repeated header keeps its last value). */
export function decodeHeaders(headers: IHeaders | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (!headers) return out;
  // for-in, not Object.entries: this runs for every fetched record.
  for (const name in headers) {
    const raw = headers[name];
    const value = Array.isArray(raw) ? raw[raw.length - 1] : raw;
    if (value !== undefined) out[name] = Buffer.isBuffer(value) ? value.toString('utf8') : String(value);
  }
  return out;
}

/** The group's committed offsets of partition `p` per topic (topics without a commit are left out). */
export async function committedOffsets(admin: Admin, groupId: string, topics: readonly string[], p: number): Promise<Map<string, string>> {
  const result = await admin.fetchOffsets({ groupId, topics: [...topics] });
  const out = new Map<string, string>();
  for (const { topic, partitions } of result) {
    const entry = partitions.find((e) => e.partition === p);
    if (entry && BigInt(entry.offset) >= 0n) out.set(topic, entry.offset);
  }
  return out;
}

/** Where to resume after discarding uncommitted work: the committed offset, else the start of the partition. */
export async function rewindTarget(admin: Admin, groupId: string, topic: string, p: number): Promise<string> {
  const committed = (await committedOffsets(admin, groupId, [topic], p)).get(topic);
  if (committed !== undefined) return committed;
  const offsets = await admin.fetchTopicOffsets(topic);
  return offsets.find((o) => o.partition === p)?.low ?? '0';
}

/**
 * Awaits `work` while heartbeating every second, so a long restore does not get the member evicted.
 * A heartbeat failure (e.g. the group is rebalancing) is rethrown once the work is done.
 */
export async function withHeartbeat<T>(work: Promise<T>, heartbeat: () => Promise<void>): Promise<T> {
  let failure: unknown;
  const timer = setInterval(() => {
    heartbeat().catch((error: unknown) => {
      failure ??= error;
    });
  }, 1000);
  try {
    const result = await work;
    // eslint-disable-next-line @typescript-eslint/only-throw-error -- rethrows what a catch or a heartbeat caught, as it was
    if (failure !== undefined) throw failure;
    return result;
  } finally {
    clearInterval(timer);
  }
}
