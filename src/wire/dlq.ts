/**
 * Headers of a dead-lettered record. The record's key and value are the original intake record's,
 * byte for byte, so `wal dlq replay` can re-produce it unchanged.
 */
export const DLQ_HEADERS = {
  reason: 'wal-dlq-reason',
  /** `permanent` (the target refused), `exhausted` (maxRetries reached), `poison` (undecodable/invalid). */
  kind: 'wal-dlq-kind',
  attempts: 'wal-dlq-attempts',
  firstFailureAt: 'wal-dlq-first-failure',
  lastFailureAt: 'wal-dlq-last-failure',
  sourceTopic: 'wal-dlq-source-topic',
  sourcePartition: 'wal-dlq-source-partition',
  sourceOffset: 'wal-dlq-source-offset',
  target: 'wal-dlq-target',
  id: 'wal-id',
} as const;

export type DeadLetterKind = 'permanent' | 'exhausted' | 'poison';

export interface DeadLetterInfo {
  reason: string;
  kind: DeadLetterKind;
  attempts: number;
  firstFailureAt: number;
  lastFailureAt: number;
  source: { topic: string; partition: number; offset: string };
  target?: string;
  id?: string;
}

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
  return headers;
}
