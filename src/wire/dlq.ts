import { DLQ_HEADERS } from './headers';

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
