/**
 * The typed, validated configuration every other module trusts. Produced once, at the edge, by the
 * loader in this folder from topologies/*.yaml (or JSON); nothing downstream re-validates it.
 * All durations are milliseconds, all sizes bytes. Topic names are already resolved
 * (defaults `wal.<ns>.<role>` applied), so callers never build topic names themselves.
 */

import type { ClusterConfig, ClusterTls } from '../kafka/cluster';

export type ProcessingGuarantee = 'at-least-once' | 'exactly-once';

export type { ClusterConfig } from '../kafka/cluster';

export interface BackoffConfig {
  readonly initialMs: number;
  readonly maxMs: number;
  /** ≥ 1. */
  readonly multiplier: number;
  /** Fraction 0..1 of the delay that is randomised ("full jitter" at 1). */
  readonly jitter: number;
}

export interface KafkaTargetConfig {
  readonly type: 'kafka';
  readonly topic: string;
  /** Cluster alias; defaults to the namespace's cluster. */
  readonly cluster: string;
  readonly partitions: number;
}

export interface HttpTargetConfig {
  readonly type: 'http';
  readonly url: string;
  readonly method: 'POST' | 'PUT' | 'PATCH' | 'DELETE' | 'GET';
  readonly headers: Record<string, string>;
  readonly timeoutMs: number;
}

export interface PostgresTargetConfig {
  readonly type: 'postgres';
  readonly connectionString: string;
  readonly table: string;
  readonly keyColumn: string;
  readonly valueColumn: string;
  /** Column holding the mutation sequence: an older mutation never overwrites a newer one. */
  readonly sequenceColumn: string;
}

export interface RedisTargetConfig {
  readonly type: 'redis';
  readonly url: string;
  readonly keyPrefix: string;
  readonly ttlSeconds?: number;
}

export interface MemcachedTargetConfig {
  readonly type: 'memcached';
  /** "host:port" of each server; keys are hashed across them by memjs. */
  readonly servers: string[];
  readonly keyPrefix: string;
  /** Milliseconds (whole seconds: memcached's unit) until a written value expires; 0 = never. */
  readonly ttl: number;
  /** Milliseconds a DELETE's tombstone keeps an older PUT from bringing the key back. */
  readonly tombstoneTtl: number;
  /**
   * The servers' item size limit (memcached -I; 1 MiB by default). A value that would not fit is refused
   * before it is sent: memcached answers a too-large SET by dropping the key's current item, guard included.
   */
  readonly maxItemSize: number;
  /** Per request, and to connect. */
  readonly timeoutMs: number;
  readonly connectTimeoutMs: number;
  /** SASL PLAIN (memcached -S); the password is resolved from inline, `file:` or `${ENV}`. */
  readonly sasl?: { readonly username: string; readonly password: string };
}

export type CassandraConsistency = 'ANY' | 'ONE' | 'TWO' | 'THREE' | 'QUORUM' | 'ALL' | 'LOCAL_QUORUM' | 'EACH_QUORUM' | 'LOCAL_ONE';

export interface CassandraTargetConfig {
  readonly type: 'cassandra';
  /** "host" or "host:port" (port 9042 when absent). */
  readonly contactPoints: string[];
  readonly localDataCenter: string;
  readonly keyspace: string;
  readonly table: string;
  readonly keyColumn: string;
  readonly valueColumn: string;
  readonly consistency: CassandraConsistency;
  /** Used only when the keyspace is missing and wal creates it. */
  readonly replication:
    | { readonly class: 'SimpleStrategy'; readonly replicationFactor: number }
    | { readonly class: 'NetworkTopologyStrategy'; readonly datacenters: Record<string, number> };
  /** Per request (the driver's read timeout), and to connect. */
  readonly timeoutMs: number;
  readonly connectTimeoutMs: number;
  /** The password is resolved from inline, `file:` or `${ENV}`. */
  readonly auth?: { readonly username: string; readonly password: string };
  readonly ssl?: ClusterTls;
}

export type TargetConfig = KafkaTargetConfig | HttpTargetConfig | PostgresTargetConfig | RedisTargetConfig | MemcachedTargetConfig | CassandraTargetConfig;

export interface ReplicationConfig {
  /** Source cluster alias. */
  readonly source: string;
  /** Target cluster aliases. */
  readonly targets: string[];
  /** Explicit topic names; or `topicPattern`. */
  readonly topics: string[];
  /** A JavaScript regular expression source, matched against whole topic names. */
  readonly topicPattern?: string;
  readonly rename: 'prefix' | 'identity';
  /** Consumer groups whose offsets are translated to the target. */
  readonly groups: string[];
  readonly checkpointIntervalMs: number;
  /**
   * `copy` (default): Avro records in Confluent wire format get their writer schema registered on the
   * target cluster's registry and their schema id rewritten, so they decode there; `bytes`: mirrored
   * as they are (like MirrorMaker 2). Nothing to do when both clusters use the same registry.
   */
  readonly schemas?: 'copy' | 'bytes';
  /**
   * Commit the translated offsets of `groups` to the same groups on the target while they have no
   * active member there (MirrorMaker 2's sync.group.offsets.enabled), every checkpointIntervalMs.
   */
  readonly syncGroupOffsets?: boolean;
}

/** Resolved topic names of a namespace. */
export interface NamespaceTopics {
  readonly intake: string;
  readonly dlq: string;
  readonly timersChangelog: string;
  readonly completions: string;
  /** Per-target fan-out topic: `wal.<ns>.target.<target>` unless overridden. */
  readonly targets: Record<string, string>;
}

/** A namespace whose requests wait in an SQS queue instead of the Kafka intake + timer store. */
export interface SqsQueueConfig {
  readonly type: 'sqs';
  readonly queueUrl?: string;
  readonly queueName?: string;
  readonly region: string;
  /** An SQS-compatible server (ElasticMQ, LocalStack); absent = AWS. */
  readonly endpoint?: string;
  /** The namespace's DLQ, an SQS queue; absent = no DLQ (dlq.onDisabled applies). */
  readonly dlqQueueUrl?: string;
  readonly dlqQueueName?: string;
  /** Long-polling receivers per `wal start` instance. */
  readonly receivers: number;
  /** How long a received message stays hidden: longer than one delivery attempt. */
  readonly visibilityTimeoutMs: number;
  /** The longest DelaySeconds one SendMessage uses (SQS: 900); longer delays are re-sent. Lower it to test re-sends. */
  readonly maxSqsDelaySeconds: number;
  /** Long-poll wait of one ReceiveMessage (0–20 s). */
  readonly waitTimeSeconds: number;
}

export type QueueConfig = { readonly type: 'kafka' } | SqsQueueConfig;

export interface NamespaceConfig {
  readonly name: string;
  /** Cluster alias that holds this namespace's topics. */
  readonly cluster: string;
  readonly partitions: number;
  readonly replicationFactor: number;
  readonly topics: NamespaceTopics;
  readonly delay: {
    /** Applied when a request names no delay. */
    readonly defaultDelayMs: number;
    /** Longest accepted delay; null = no limit. */
    readonly maxDelayMs: number | null;
  };
  readonly maxPayloadBytes: number;
  readonly backoff: BackoffConfig;
  readonly maxRetries: number;
  /**
   * Ids delivered within `windowMs` are remembered per partition: a second write of one of them (or of
   * one still pending) is dropped, not delivered again. 0 = no window (only pending ids are deduplicated).
   */
  readonly idempotency: { readonly windowMs: number };
  readonly dlq: {
    readonly enabled: boolean;
    /** retention.ms of the DLQ topic (long: dead letters wait for a human); the loader fills 30 days. */
    readonly retentionMs?: number;
    /**
     * With `enabled: false`, what happens to a record that would be dead-lettered: `retain` (default)
     * keeps it in the timer store, tried again at the longest backoff; `drop` logs and counts it.
     */
    readonly onDisabled?: 'retain' | 'drop';
  };
  readonly targets: Record<string, TargetConfig>;
  /** Target used when a request names none. */
  readonly defaultTarget?: string;
  readonly chunking: { readonly chunkSize: number; readonly maxChunkBytes: number };
  readonly replication?: ReplicationConfig;
  /**
   * The namespace whose requests this one applies, read from the mirrored copy of that namespace's intake
   * on this namespace's cluster (region B applying region A's cache writes). Its intake topic is that copy.
   */
  readonly replicaOf?: string;
  readonly processingGuarantee: ProcessingGuarantee;
  /** Where requests wait until due; absent = `{ type: 'kafka' }` (the loader fills it). */
  readonly queue?: QueueConfig;
  /**
   * The group of instances that runs this namespace: `wal start --shard <name>` runs exactly the
   * namespaces of its shard. The loader fills DEFAULT_SHARD.
   */
  readonly shard?: string;
  readonly runtime: {
    readonly commitIntervalMs: number;
    readonly punctuationIntervalMs: number;
    /**
     * Assigned partitions an instance processes at once (kafkajs partitionsConsumedConcurrently).
     * Each has its own task, so they overlap their waits on LevelDB and on broker acks. The loader
     * fills DEFAULT_PARTITION_CONCURRENCY.
     */
    readonly partitionConcurrency?: number;
  };
}

/** The shard of a namespace that names none, and of `wal start` without --shard. */
export const DEFAULT_SHARD = 'default';

/** A client retrying a write it got `unknown` for (or a producer retrying a batch) within a day is safe. */
export const DEFAULT_IDEMPOTENCY_WINDOW_MS = 24 * 3600 * 1000;

/** Measured: delay-0 throughput doubles from 1 to 4 with 4 partitions on 2 cores (bench/delay.ts). */
export const DEFAULT_PARTITION_CONCURRENCY = 4;

export interface WalConfig {
  readonly clusters: Record<string, ClusterConfig>;
  readonly namespaces: NamespaceConfig[];
  /** Files the config was read from, for error messages and `wal status`. */
  readonly sourceFiles: string[];
}
