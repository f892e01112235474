import type { Logger } from '../../observability/logger';
import { deadLetterHeaders } from '../../wire/dlq';
import type { ErrorPolicy, WalRecord } from '../api';
import type { RecordCollector } from './record-collector';

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

/**
 * Dead-letters a record whose processing threw, in the one DLQ format the personas write too, so
 * `wal dlq list/replay` read it: kind `error`, one attempt (the engine does not retry).
 */
export function deadLetterRecord(
  collector: RecordCollector,
  topic: string | undefined,
  record: WalRecord,
  reason: string,
  error: unknown,
  logger: Logger,
  now: number,
): void {
  if (!topic) {
    logger.warn({ topic: record.topic, partition: record.partition, offset: record.offset, reason }, 'no dead-letter topic in the topology: record skipped');
    return;
  }
  const headers = deadLetterHeaders(
    {
      reason,
      kind: 'error',
      attempts: 1,
      firstFailureAt: now,
      lastFailureAt: now,
      source: { topic: record.topic, partition: record.partition, offset: record.offset },
      errorClass: error instanceof Error ? error.name : typeof error,
    },
    record.headers,
  );
  collector.send(topic, { key: record.key, value: record.value, timestamp: record.timestamp, headers }, record.timestamp);
}
