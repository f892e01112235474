/**
 * What flows on `wal.<ns>.completions`, keyed by transaction id (so one tracker task sees all of a
 * transaction's events). JSON rather than schemas/Completion.avsc: the tracker also needs the
 * fan-out's "begin" (how many chunks each target gets) and "redrive" events, which that schema
 * cannot express, and this topic is written and read by wal alone, so it needs no registry.
 */
export type TxnEvent = BeginEvent | RedriveEvent | ChunkOutcomeEvent;

interface ChunkRef {
  readonly txnId: string;
  readonly target: string;
  readonly chunkIndex: number;
  readonly chunkCount: number;
}

/** The fan-out wrote all of a transaction's chunks. */
export interface BeginEvent {
  readonly kind: 'begin';
  readonly txnId: string;
  readonly chunkCount: number;
  /** Chunks per target. */
  readonly targets: Readonly<Record<string, number>>;
  /** The request's writeTime. */
  readonly writeTime: number;
  readonly at: number;
}

/** A dead-lettered chunk came back through the intake (`wal dlq replay`) and was written again. */
export interface RedriveEvent extends ChunkRef {
  readonly kind: 'redrive';
  readonly at: number;
}

/** An applier's verdict on one chunk. */
export interface ChunkOutcomeEvent extends ChunkRef {
  readonly kind: 'applied' | 'failed';
  /** Tries it took (1 = applied at the first try). */
  readonly attempts: number;
  readonly at: number;
  /** Why it failed (`failed` only). */
  readonly error?: string;
}

export class InvalidTxnEventError extends Error {
  readonly retriable = false;
  constructor(message: string) {
    super(message);
    this.name = 'InvalidTxnEventError';
  }
}

export function encodeTxnEvent(event: TxnEvent): Buffer {
  return Buffer.from(JSON.stringify(event));
}

const KINDS = new Set(['begin', 'redrive', 'applied', 'failed']);
const isCount = (n: unknown): n is number => typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;

/** Parses and checks one event; throws InvalidTxnEventError naming what is wrong. */
export function decodeTxnEvent(value: Buffer | null): TxnEvent {
  if (!value) throw new InvalidTxnEventError('completion record has no value');
  let event: Record<string, unknown>;
  try {
    event = JSON.parse(value.toString('utf8')) as Record<string, unknown>;
  } catch (error) {
    throw new InvalidTxnEventError(`completion record is not JSON: ${(error as Error).message}`);
  }
  if (!event || typeof event !== 'object') throw new InvalidTxnEventError('completion record is not a JSON object');
  const wrong = (field: string, what: string): never => {
    throw new InvalidTxnEventError(`completion record field "${field}" ${what}, got ${JSON.stringify(event[field])}`);
  };
  if (!KINDS.has(event.kind as string)) wrong('kind', 'must be one of begin, redrive, applied, failed');
  if (typeof event.txnId !== 'string' || event.txnId === '') wrong('txnId', 'must be a non-empty string');
  if (!isCount(event.chunkCount) || event.chunkCount === 0) wrong('chunkCount', 'must be a positive integer');
  if (!isCount(event.at)) wrong('at', 'must be epoch milliseconds');
  if (event.kind === 'begin') {
    const targets = event.targets as Record<string, unknown> | undefined;
    if (!targets || typeof targets !== 'object' || !Object.values(targets).every(isCount)) wrong('targets', 'must map target names to chunk counts');
    if (!isCount(event.writeTime)) wrong('writeTime', 'must be epoch milliseconds');
    return event as unknown as BeginEvent;
  }
  if (typeof event.target !== 'string' || event.target === '') wrong('target', 'must be a non-empty string');
  if (!isCount(event.chunkIndex) || event.chunkIndex >= (event.chunkCount as number)) wrong('chunkIndex', `must be an integer in [0, chunkCount)`);
  if (event.kind !== 'redrive' && (!isCount(event.attempts) || event.attempts === 0)) wrong('attempts', 'must be a positive integer');
  return event as unknown as TxnEvent;
}
