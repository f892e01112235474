import type { Logger } from '../../observability/logger';
import type { ErrorPolicy, WalRecord } from '../api';
import type { RecordCollector } from './record-collector';

/** Headers a dead-lettered record carries, besides its own. */
export const DLQ_HEADERS = {
  error: 'wal-error',
  errorClass: 'wal-error-class',
  sourceTopic: 'wal-source-topic',
  sourcePartition: 'wal-source-partition',
  sourceOffset: 'wal-source-offset',
} as const;

/** Default: log, then dead-letter (the retry/backoff policy of a namespace replaces this). */
export function defaultErrorPolicy(logger: Logger): ErrorPolicy {
  return (error, record, actions) => {
    logger.error(
      { err: error, topic: record.topic, partition: record.partition, offset: record.offset },
      'processing a record failed; dead-lettering it',
    );
    actions.deadLetter(error instanceof Error ? error.message : String(error));
  };
}

export function deadLetterRecord(
  collector: RecordCollector,
  topic: string | undefined,
  record: WalRecord,
  reason: string,
  error: unknown,
  logger: Logger,
): void {
  if (!topic) {
    logger.warn({ topic: record.topic, partition: record.partition, offset: record.offset, reason }, 'no dead-letter topic in the topology: record skipped');
    return;
  }
  collector.send(
    topic,
    {
      key: record.key,
      value: record.value,
      timestamp: record.timestamp,
      headers: {
        ...record.headers,
        [DLQ_HEADERS.error]: reason.slice(0, 2000),
        [DLQ_HEADERS.errorClass]: error instanceof Error ? error.name : typeof error,
        [DLQ_HEADERS.sourceTopic]: record.topic,
        [DLQ_HEADERS.sourcePartition]: String(record.partition),
        [DLQ_HEADERS.sourceOffset]: record.offset,
      },
    },
    record.timestamp,
  );
}
