import { DLQ_HEADERS, INTAKE_HEADERS } from './headers';

/**
 * Why a record was dead-lettered: `permanent` (the target refused), `exhausted` (maxRetries reached),
 * `poison` (undecodable/invalid), `error` (a processor threw and the engine caught it).
 */
export const DEAD_LETTER_KINDS = ['permanent', 'exhausted', 'poison', 'error'] as const;
export type DeadLetterKind = (typeof DEAD_LETTER_KINDS)[number];

export interface DeadLetterInfo {
  reason: string;
  kind: DeadLetterKind;
  attempts: number;
  firstFailureAt: number;
  lastFailureAt: number;
  source: { topic: string; partition: number; offset: string };
  target?: string;
  id?: string;
  /** The thrown error's class name, for dead letters of kind `error`. */
  errorClass?: string;
}

/**
 * Headers of a dead-lettered record: its original headers plus the DLQ's. The record's key and value
 * stay the original's, byte for byte, so `wal dlq replay` can re-produce it unchanged.
 */
export function deadLetterHeaders(info: DeadLetterInfo, original: Record<string, string> = {}): Record<string, string> {
  const headers: Record<string, string> = {
    ...original,
    [DLQ_HEADERS.reason]: info.reason.slice(0, 2000),
    [DLQ_HEADERS.kind]: info.kind,
    [DLQ_HEADERS.attempts]: String(info.attempts),
    [DLQ_HEADERS.firstFailureAt]: new Date(info.firstFailureAt).toISOString(),
    [DLQ_HEADERS.lastFailureAt]: new Date(info.lastFailureAt).toISOString(),
    [DLQ_HEADERS.sourceTopic]: info.source.topic,
    [DLQ_HEADERS.sourcePartition]: String(info.source.partition),
    [DLQ_HEADERS.sourceOffset]: info.source.offset,
  };
  if (info.target) headers[DLQ_HEADERS.target] = info.target;
  if (info.id) headers[DLQ_HEADERS.id] = info.id;
  if (info.errorClass) headers[DLQ_HEADERS.errorClass] = info.errorClass;
  return headers;
}

/** What the DLQ added, never what the record carried (the request id is the record's own). */
const ADDED_BY_THE_DLQ = new Set<string>(Object.values(DLQ_HEADERS).filter((name) => name !== DLQ_HEADERS.id));

/** The original record's headers, without what the DLQ added: what a replay sends back to the intake. */
export function originalHeaders(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).filter(([name]) => !ADDED_BY_THE_DLQ.has(name)));
}

/** The target a replay (`wal dlq replay --to-target`) delivers a request to, instead of the one it names. */
export function replayTargetOf(headers: Record<string, string>): string | undefined {
  return headers[INTAKE_HEADERS.toTarget];
}

/**
 * Why a replayed request cannot go to its override target, else undefined: the fan-out applies each
 * mutation on the target it names, so a replay cannot move a mutation for another target. Takes the
 * request's shape, not its type: the engine reads this module, and the intake types reach the namespace config.
 */
export function replayTargetConflict(headers: Record<string, string>, request: { readonly mutations: ReadonlyArray<{ readonly target: string }> }): string | undefined {
  const override = replayTargetOf(headers);
  const elsewhere = override === undefined ? undefined : request.mutations.find((m) => m.target !== override);
  return elsewhere && `replayed to target "${override}" but holds a mutation for target "${elsewhere.target}", which only that target can apply`;
}
