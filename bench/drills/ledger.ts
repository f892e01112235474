import type { WalWriter, WriteRequest } from '../../src/api';
import type { Collected } from '../lib/kafka';
import { writeAll } from '../lib/queue';
import { percentile } from '../lib/stats';
import { sleep } from './fleet';

/** How delays are mixed: a share due at once, the rest uniform in (0, maxDelayMs]. */
export interface DelayMix {
  readonly zeroShare: number;
  readonly maxDelayMs: number;
}

/**
 * The drill's record of what it wrote: numbered ids `<prefix>-<i>` and when each is due. Compared
 * at the end with what reached the target: lost, duplicated, early, late.
 */
export class Ledger {
  readonly due = new Map<string, number>();

  constructor(
    readonly namespace: string,
    readonly prefix: string,
    readonly mix: DelayMix,
  ) {}

  /** Request number i; its due time is recorded before it is sent (≤ the writer's own writeTime). */
  request(i: number): WriteRequest {
    const id = `${this.prefix}-${i}`;
    const now = Date.now();
    if (Math.random() < this.mix.zeroShare) {
      this.due.set(id, now);
      return { namespace: this.namespace, id, lifecycle: { delayMs: 0 }, payload: { i } };
    }
    const deliverAt = now + 1 + Math.floor(Math.random() * this.mix.maxDelayMs);
    this.due.set(id, deliverAt);
    return { namespace: this.namespace, id, lifecycle: { deliverAt }, payload: { i } };
  }

  lastDue(): number {
    let last = 0;
    for (const t of this.due.values()) last = Math.max(last, t);
    return last;
  }
}

/**
 * Writes `count` numbered requests at about `ratePerSec`, in small batches; a batch that is not
 * durable is retried with the same ids (so a broker outage slows the producer, never drops records).
 */
export async function produceNumbered(writer: WalWriter, ledger: Ledger, count: number, ratePerSec: number, deadlineMs: number): Promise<{ seconds: number }> {
  const batch = Math.max(1, Math.min(100, Math.round(ratePerSec / 10)));
  const started = Date.now();
  for (let from = 0; from < count; from += batch) {
    const wait = started + (from / ratePerSec) * 1000 - Date.now();
    if (wait > 0) await sleep(wait);
    const n = Math.min(batch, count - from);
    await writeAll(writer, n, (j) => ledger.request(from + j), { batch: n, concurrency: 1, deadlineMs: Math.max(1000, started + deadlineMs - Date.now()) });
  }
  return { seconds: (Date.now() - started) / 1000 };
}

export interface Verdict {
  readonly written: number;
  readonly delivered: number;
  readonly lost: number;
  readonly duplicates: number;
  readonly early: number;
  readonly latenessP50Ms: number;
  readonly latenessP99Ms: number;
  readonly latenessMaxMs: number;
  /** A few lost ids, for the report. */
  readonly lostSample: string[];
  /** Target records whose id the ledger never wrote. */
  readonly strangers: number;
}

export function verify(ledger: Ledger, collected: Collected): Verdict {
  const counts = new Map<string, number>();
  const lateness: number[] = [];
  let early = 0;
  let strangers = 0;
  for (const m of collected.messages) {
    const id = m.key?.toString() ?? '';
    const due = ledger.due.get(id);
    if (due === undefined) {
      strangers += 1;
      continue;
    }
    const seen = counts.get(id) ?? 0;
    counts.set(id, seen + 1);
    if (seen > 0) continue; // lateness of the first delivery; later ones are duplicates
    const late = Number(m.timestamp) - due;
    if (late < 0) early += 1;
    lateness.push(late);
  }
  const lost = [...ledger.due.keys()].filter((id) => !counts.has(id));
  const total = [...counts.values()].reduce((a, b) => a + b, 0);
  return {
    written: ledger.due.size,
    delivered: counts.size,
    lost: lost.length,
    duplicates: total - counts.size,
    early,
    latenessP50Ms: percentile(lateness, 50),
    latenessP99Ms: percentile(lateness, 99),
    latenessMaxMs: lateness.length > 0 ? Math.max(...lateness) : NaN,
    lostSample: lost.slice(0, 5),
    strangers,
  };
}

/** Waits until every written id reached the target (or `timeoutMs`), then a little longer for late duplicates. */
export async function settle(ledger: Ledger, collected: Collected, timeoutMs: number): Promise<void> {
  const seen = new Set<string>();
  let scanned = 0;
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    for (; scanned < collected.messages.length; scanned += 1) seen.add(collected.messages[scanned].key?.toString() ?? '');
    if ([...ledger.due.keys()].every((id) => seen.has(id))) break;
    await sleep(250);
  }
  await sleep(2000);
}
