import { Counter, Gauge } from 'prom-client';
import { metricsRegistry } from '../observability/metrics';

/** Mirror metrics on the process registry. Labels: namespace, source and target cluster aliases. */

export const mirroredRecords = new Counter({
  name: 'wal_mirror_records_total',
  help: 'Records written to the target cluster (acked, or committed in exactly-once mode)',
  labelNames: ['namespace', 'source', 'target', 'topic'] as const,
  registers: [metricsRegistry],
});

export const mirrorTransactions = new Counter({
  name: 'wal_mirror_transactions_total',
  help: 'Exactly-once: target transactions committed (records per transaction = wal_mirror_records_total / this)',
  labelNames: ['namespace', 'source', 'target'] as const,
  registers: [metricsRegistry],
});

export const skippedRecords = new Counter({
  name: 'wal_mirror_records_skipped_total',
  help: 'Source records not mirrored because their origin is the target cluster (loop prevention)',
  labelNames: ['namespace', 'source', 'target', 'topic'] as const,
  registers: [metricsRegistry],
});

export const lagRecords = new Gauge({
  name: 'wal_mirror_lag_records',
  help: 'Source records not yet mirrored, per source topic/partition',
  labelNames: ['namespace', 'source', 'target', 'topic', 'partition'] as const,
  registers: [metricsRegistry],
});

export const lagSeconds = new Gauge({
  name: 'wal_mirror_lag_seconds',
  help: 'Upper bound on the age of the oldest unmirrored record, per source topic/partition (0 when caught up)',
  labelNames: ['namespace', 'source', 'target', 'topic', 'partition'] as const,
  registers: [metricsRegistry],
});

export const checkpointAge = new Gauge({
  name: 'wal_mirror_checkpoint_age_seconds',
  help: 'Seconds since the source positions were last checkpointed (source group commit, or target transaction in exactly-once mode)',
  labelNames: ['namespace', 'source', 'target'] as const,
  registers: [metricsRegistry],
});

export const mirroredTopics = new Gauge({
  name: 'wal_mirror_topics',
  help: 'Source topics currently mirrored',
  labelNames: ['namespace', 'source', 'target'] as const,
  registers: [metricsRegistry],
});

export const groupCheckpoints = new Counter({
  name: 'wal_mirror_group_checkpoints_total',
  help: 'Translated consumer-group offsets published to the checkpoint topic (per partition)',
  labelNames: ['namespace', 'source', 'target', 'group'] as const,
  registers: [metricsRegistry],
});

export const groupOffsetsApplied = new Counter({
  name: 'wal_mirror_group_offsets_applied_total',
  help: 'Translated offsets committed to idle consumer groups on the target (per partition)',
  labelNames: ['namespace', 'source', 'target', 'group'] as const,
  registers: [metricsRegistry],
});

export const groupOffsetsSyncedAt = new Gauge({
  name: 'wal_mirror_group_offsets_synced_timestamp_seconds',
  help: 'When translated offsets were last committed to an idle consumer group on the target (replication.syncGroupOffsets), Unix seconds',
  labelNames: ['namespace', 'source', 'target'] as const,
  registers: [metricsRegistry],
});

export const schemaTranslations = new Counter({
  name: 'wal_mirror_schemas_registered_total',
  help: 'Source writer schemas registered on the target registry (once per schema id and target subject) so that mirrored Avro records decode there',
  labelNames: ['namespace', 'target', 'subject'],
  registers: [metricsRegistry],
});

export const schemaSkips = new Counter({
  name: 'wal_mirror_schema_skipped_total',
  help: "Records not mirrored because the target registry refused their writer schema (incompatible with the target subject); the reason is logged",
  labelNames: ['namespace', 'target', 'topic'],
  registers: [metricsRegistry],
});
