/**
 * Every header name wal writes or reads on Kafka records. These names are the wire contract:
 * records already on topics (intakes, DLQs, targets) carry them, so a value never changes.
 */

/** The request id: the intake's dedupe key, a Kafka target's idempotency key, a dead letter's request id. */
const ID = 'wal-id';

/** What every intake record carries, so consumers can route and dedupe without decoding. */
export const INTAKE_HEADERS = {
  id: ID,
  namespace: 'wal-namespace',
  /**
   * An operational command (pause, resume, cancel) travelling on the intake itself, so it is ordered
   * with the data and reaches the task that owns the partition.
   */
  control: 'wal-control',
  /**
   * A replay's target override (`wal dlq replay --to-target`): the request is delivered to this target
   * of the namespace only, whatever target it named. Kept through retries, like every header.
   */
  toTarget: 'wal-to-target',
} as const;

/** Headers of a chunk record on `wal.<ns>.target.<t>`, so tools can follow a transaction without decoding. */
export const CHUNK_HEADERS = { txnId: 'wal-txn-id', chunkIndex: 'wal-chunk-index', chunkCount: 'wal-chunk-count' } as const;

/** What wal adds to each record it writes to a Kafka target. */
export const KAFKA_TARGET_HEADERS = {
  id: ID,
  contentType: 'content-type',
  op: 'wal-op',
  sequence: 'wal-sequence',
  txnId: CHUNK_HEADERS.txnId,
  chunkIndex: CHUNK_HEADERS.chunkIndex,
} as const;

/** Names the chunk a dead-lettered chunk request re-drives when `wal dlq replay` sends it back. */
export const REDRIVE_HEADERS = { target: 'wal-redrive-target', chunkIndex: 'wal-redrive-chunk-index', chunkCount: 'wal-redrive-chunk-count' } as const;

/** Loop prevention of the mirror: where a record was first written. */
export const ORIGIN_HEADERS = {
  /** Kafka cluster id of the cluster the record was first written to. */
  clusterId: 'wal-origin',
  /** The alias of that cluster in the mirror's config (for people reading records). */
  alias: 'wal-origin-alias',
} as const;

/**
 * What a dead letter carries besides the original record's own headers (the one DLQ format, written
 * by the engine and by every persona, read by `wal dlq list/replay`).
 */
export const DLQ_HEADERS = {
  reason: 'wal-dlq-reason',
  /** See `DeadLetterKind`. */
  kind: 'wal-dlq-kind',
  attempts: 'wal-dlq-attempts',
  firstFailureAt: 'wal-dlq-first-failure',
  lastFailureAt: 'wal-dlq-last-failure',
  sourceTopic: 'wal-dlq-source-topic',
  sourcePartition: 'wal-dlq-source-partition',
  sourceOffset: 'wal-dlq-source-offset',
  target: 'wal-dlq-target',
  /** Class of the error a processor threw (dead letters of kind `error`). */
  errorClass: 'wal-dlq-error-class',
  id: ID,
} as const;

/**
 * Message attributes of a request waiting in an SQS queue (SQS allows 10 a message). A dead letter
 * on the SQS DLQ carries DLQ_HEADERS as attributes instead, the one DLQ vocabulary.
 */
export const SQS_ATTRIBUTES = {
  id: ID,
  namespace: INTAKE_HEADERS.namespace,
  /** Epoch ms the request is due: a message surfacing before it is sent again with the remaining delay. */
  dueAt: 'wal-due-at',
  /** A replay's target override, as on the Kafka intake (`wal dlq replay --to-target`). */
  toTarget: INTAKE_HEADERS.toTarget,
} as const;
