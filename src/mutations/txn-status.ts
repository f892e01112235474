import type { TxnEvent } from './events';

export type TxnState = 'pending' | 'complete' | 'failed';

export interface TargetProgress {
  /** Chunks the fan-out wrote for this target; null until its "begin" event arrived. */
  readonly expected: number | null;
  readonly applied: number;
  readonly failed: number;
  /** Extra tries its applied or failed chunks took (attempts beyond the first). */
  readonly retries: number;
}

export interface ChunkFailure {
  readonly chunkIndex: number;
  readonly target: string;
  readonly attempts: number;
  readonly error: string;
  readonly at: number;
}

/**
 * A transaction as the tracker keeps it (JSON in its store, and so on the compacted
 * `wal.<ns>.txn-status` changelog that `wal txn status` reads). `failed` as soon as a chunk is
 * dead-lettered, even while others are still pending; `complete` once every chunk is applied.
 */
export interface TxnStatus {
  readonly txnId: string;
  readonly status: TxnState;
  readonly chunkCount: number;
  readonly applied: number;
  readonly failed: number;
  readonly pending: number;
  readonly targets: Readonly<Record<string, TargetProgress>>;
  /** Dead-lettered chunks not re-driven since (at most MAX_FAILURES kept; `failed` counts them all). */
  readonly failures: readonly ChunkFailure[];
  /** One character per chunk: `.` pending, `A` applied, `F` failed. */
  readonly chunks: string;
  readonly writeTime: number | null;
  readonly firstSeenAt: number;
  readonly updatedAt: number;
  readonly completedAt: number | null;
}

export const MAX_FAILURES = 20;
const PENDING = '.';
const APPLIED = 'A';
const FAILED = 'F';

function emptyStatus(txnId: string, chunkCount: number, at: number): TxnStatus {
  return {
    txnId,
    status: 'pending',
    chunkCount,
    applied: 0,
    failed: 0,
    pending: chunkCount,
    targets: {},
    failures: [],
    chunks: PENDING.repeat(chunkCount),
    writeTime: null,
    firstSeenAt: at,
    updatedAt: at,
    completedAt: null,
  };
}

function progressOf(status: TxnStatus, target: string): TargetProgress {
  return status.targets[target] ?? { expected: null, applied: 0, failed: 0, retries: 0 };
}

/**
 * The next state of a transaction after one event. Idempotent (events arrive at least once) and
 * order-tolerant (a chunk's outcome may arrive before the fan-out's "begin"). An applied chunk stays
 * applied: a later failure of a re-delivery of it changes nothing, since its mutations are in place.
 */
export function applyTxnEvent(previous: TxnStatus | undefined, event: TxnEvent): TxnStatus {
  const base = previous ?? emptyStatus(event.txnId, event.chunkCount, event.at);
  // A plan with another chunk count (chunkSize changed between two runs of one request) is tracked
  // on the first plan's numbering: ignore events that do not fit it.
  if (event.chunkCount !== base.chunkCount) return base;
  let next: TxnStatus = { ...base, updatedAt: Math.max(base.updatedAt, event.at) };

  if (event.kind === 'begin') {
    const targets = { ...next.targets };
    for (const [target, expected] of Object.entries(event.targets)) targets[target] = { ...progressOf(next, target), expected };
    next = { ...next, targets, writeTime: event.writeTime };
    return withState(next);
  }

  const current = next.chunks[event.chunkIndex];
  const mark = (to: string): string => next.chunks.slice(0, event.chunkIndex) + to + next.chunks.slice(event.chunkIndex + 1);
  const progress = progressOf(next, event.target);
  const withTarget = (p: TargetProgress): Record<string, TargetProgress> => ({ ...next.targets, [event.target]: p });
  const withoutFailure = next.failures.filter((f) => f.chunkIndex !== event.chunkIndex);

  switch (event.kind) {
    case 'redrive':
      if (current !== FAILED) return next;
      next = {
        ...next,
        chunks: mark(PENDING),
        targets: withTarget({ ...progress, failed: progress.failed - 1 }),
        failures: withoutFailure,
      };
      break;
    case 'applied':
      if (current === APPLIED) return next;
      next = {
        ...next,
        chunks: mark(APPLIED),
        targets: withTarget({
          ...progress,
          applied: progress.applied + 1,
          failed: progress.failed - (current === FAILED ? 1 : 0),
          retries: progress.retries + event.attempts - 1,
        }),
        failures: withoutFailure,
      };
      break;
    case 'failed': {
      if (current !== PENDING) return next;
      const failure: ChunkFailure = { chunkIndex: event.chunkIndex, target: event.target, attempts: event.attempts, error: event.error ?? 'unknown', at: event.at };
      next = {
        ...next,
        chunks: mark(FAILED),
        targets: withTarget({ ...progress, failed: progress.failed + 1, retries: progress.retries + event.attempts - 1 }),
        failures: withoutFailure.length < MAX_FAILURES ? [...withoutFailure, failure] : withoutFailure,
      };
      break;
    }
  }
  return withState(next, event.at);
}

function withState(status: TxnStatus, at?: number): TxnStatus {
  let applied = 0;
  let failed = 0;
  for (const c of status.chunks) {
    if (c === APPLIED) applied += 1;
    else if (c === FAILED) failed += 1;
  }
  const pending = status.chunkCount - applied - failed;
  const state: TxnState = failed > 0 ? 'failed' : pending === 0 ? 'complete' : 'pending';
  const completedAt = state === 'complete' ? (status.completedAt ?? at ?? status.updatedAt) : null;
  return { ...status, applied, failed, pending, status: state, completedAt };
}

/** One line per fact, for people (`wal txn status`). */
export function formatTxnStatus(status: TxnStatus, namespace = '<ns>'): string {
  const lines = [
    `txn ${status.txnId}: ${status.status.toUpperCase()}  ${status.applied}/${status.chunkCount} chunks applied, ${status.failed} failed, ${status.pending} pending`,
  ];
  if (status.writeTime !== null) lines.push(`  written   ${new Date(status.writeTime).toISOString()}`);
  if (status.completedAt !== null) {
    const took = status.writeTime !== null ? ` (${status.completedAt - status.writeTime} ms after the write)` : '';
    lines.push(`  completed ${new Date(status.completedAt).toISOString()}${took}`);
  } else {
    lines.push(`  updated   ${new Date(status.updatedAt).toISOString()}`);
  }
  for (const [name, t] of Object.entries(status.targets).sort(([a], [b]) => a.localeCompare(b))) {
    const expected = t.expected === null ? '?' : String(t.expected);
    lines.push(`  target ${name}: ${t.applied}/${expected} applied, ${t.failed} failed${t.retries > 0 ? `, ${t.retries} retries` : ''}`);
  }
  for (const f of status.failures) {
    lines.push(`  chunk ${f.chunkIndex} (${f.target}) dead-lettered after ${f.attempts} attempt(s): ${f.error}`);
  }
  if (status.failed > 0) lines.push(`  re-drive failed chunks with: wal dlq replay --namespace ${namespace} --id ${status.txnId}`);
  return lines.join('\n');
}
