import type { NamespaceConfig } from '../namespaces/types';
import type { WriteToLogRequest } from '../wire/intake';

/**
 * The answer of a queue backend to one append. The WriteToLog writer turns it into durable
 * true / false / unknown, whatever the backend (Kafka intake topic or SQS queue).
 */
export type SendOutcome =
  | { readonly status: 'acked'; readonly partition?: number; readonly offset?: string; readonly messageId?: string }
  /** Never handed to the backend: definitely not written. */
  | { readonly status: 'not-sent'; readonly reason: 'broker-unavailable' | 'timeout' | 'writer-closed'; readonly detail: string }
  /** The backend refused it (too large, no such topic or queue …): definitely not written. */
  | { readonly status: 'rejected'; readonly detail: string }
  /** Handed to the backend, outcome lost: maybe written. */
  | { readonly status: 'ambiguous'; readonly reason: 'timeout' | 'connection-lost'; readonly detail: string }
  /** The caller's `hold` answered true (the namespace is in bypass): nothing was sent. */
  | { readonly status: 'withheld' }
  /** The request could not be put in the backend's format (e.g. the schema registry failed): nothing was sent. */
  | { readonly status: 'unencodable'; readonly error: unknown };

/**
 * The intake half of the queue-backend seam: appends a validated request durably and answers by
 * `deadline`, never later and never by throwing. Kafka's is the writer's cluster sender (Avro on the
 * intake topic, `src/api/kafka-intake.ts`); SQS's is `src/sqs/intake.ts` (SendMessageBatch with DelaySeconds).
 */
export interface QueueIntake {
  /** Where requests of `namespace` go, for messages ("SQS queue wal-orders"). */
  describe(namespace: NamespaceConfig): string;
  /**
   * `hold` is asked once the request is ready to go (encoded), right before it is handed over: true
   * answers `withheld` and sends nothing (the writer's bypass check, looked up meanwhile).
   */
  append(request: WriteToLogRequest, namespace: NamespaceConfig, deadline: number, hold?: () => Promise<boolean>): Promise<SendOutcome>;
  close(): Promise<void>;
}
