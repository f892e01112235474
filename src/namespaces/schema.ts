import { z } from 'zod';
import { DEFAULT_IDEMPOTENCY_WINDOW_MS, DEFAULT_PARTITION_CONCURRENCY, DEFAULT_SHARD } from './types';
import { parseDuration, parseNumber, parseSize } from './units';

/**
 * The shape of one configuration file, before defaults and cross-field checks (see resolve.ts).
 * Objects are strict: an unknown field (a typo) is an error, never silently ignored.
 * Field names are those of types.ts, so a saved WalConfig loads back unchanged.
 */

export const NAME_PATTERN = /^[a-zA-Z0-9._-]+$/;

const name = z.string().regex(NAME_PATTERN, { error: 'must match ^[a-zA-Z0-9._-]+$' });
const topicName = name.max(249, { error: 'must be at most 249 characters' });

function quantity(kind: string, parse: (v: unknown) => number | undefined) {
  return z
    .unknown()
    .transform((value, ctx) => {
      const parsed = parse(value);
      if (parsed === undefined) {
        ctx.addIssue({ code: 'custom', message: `must be ${kind}`, input: value });
        return z.NEVER;
      }
      return parsed;
    });
}

const duration = () => quantity('a duration such as "250ms", "30s", "5m", "3d" or a number of milliseconds', parseDuration);
const size = () => quantity('a size such as "512KiB", "1MiB" or a number of bytes', parseSize);
const number = () => quantity('a number', parseNumber);

const nonNegativeDuration = () => duration().pipe(z.number().int({ error: 'must be a whole number of milliseconds' }).min(0, { error: 'must be ≥ 0' }));
const positiveDuration = () => duration().pipe(z.number().int({ error: 'must be a whole number of milliseconds' }).min(1, { error: 'must be > 0' }));
const positiveSize = () => size().pipe(z.number().int({ error: 'must be a whole number of bytes' }).min(1, { error: 'must be > 0' }));
const positiveInt = () => number().pipe(z.number().int({ error: 'must be a whole number' }).min(1, { error: 'must be ≥ 1' }));
const nonNegativeInt = () => number().pipe(z.number().int({ error: 'must be a whole number' }).min(0, { error: 'must be ≥ 0' }));

const url = (protocols: string[]) =>
  z.string().refine(
    (text) => {
      try {
        return protocols.includes(new URL(text).protocol);
      } catch {
        return false;
      }
    },
    { error: `must be a URL (${protocols.map((p) => `${p}//`).join(' or ')}…)` },
  );

const brokerList = z
  .union([z.string(), z.array(z.string())], { error: 'must be "host:port,host:port" or a list of "host:port"' })
  .transform((value) => (Array.isArray(value) ? value : value.split(',')).map((b) => b.trim()).filter((b) => b !== ''))
  .pipe(
    z
      .array(z.string().regex(/^[^\s:]+:\d{1,5}$/, { error: 'each broker must be "host:port"' }))
      .min(1, { error: 'must name at least one broker' }),
  );

/** PEM text or a password: given inline, as `file:<path>` (relative to the config file) or through `${ENV}`. */
const secret = z.string().min(1, { error: 'must not be empty' });

const tlsSchema = z.union(
  [
    z.boolean(),
    z.strictObject({
      ca: secret.optional(),
      cert: secret.optional(),
      key: secret.optional(),
      passphrase: secret.optional(),
      rejectUnauthorized: z.boolean().default(true),
    }),
  ],
  { error: 'must be true, false or { ca, cert, key, passphrase, rejectUnauthorized }' },
);

const saslSchema = z.strictObject({
  mechanism: z.enum(['plain', 'scram-sha-256', 'scram-sha-512']),
  username: z.string().min(1, { error: 'must not be empty' }),
  password: secret,
});

const basicAuthSchema = z.union(
  [
    z.string().regex(/^[^:]+:.+$/, { error: 'must be "user:password"' }),
    z.strictObject({ username: z.string().min(1), password: secret }),
  ],
  { error: 'must be "user:password" or { username, password }' },
);

const registrySchema = z.strictObject({
  url: url(['http:', 'https:']),
  basicAuth: basicAuthSchema.optional(),
  ca: secret.optional(),
});

export const clusterSchema = z
  .strictObject({
    name: name.optional(),
    brokers: brokerList,
    schemaRegistryUrl: url(['http:', 'https:']).optional(),
    schemaRegistry: registrySchema.optional(),
    clientId: z.string().min(1).optional(),
    ssl: tlsSchema.optional(),
    sasl: saslSchema.optional(),
  })
  .superRefine((cluster, ctx) => {
    if (cluster.schemaRegistryUrl === undefined && cluster.schemaRegistry === undefined) {
      ctx.addIssue({ code: 'custom', path: ['schemaRegistryUrl'], message: 'is required (or schemaRegistry.url)', input: undefined });
    } else if (cluster.schemaRegistryUrl !== undefined && cluster.schemaRegistry !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['schemaRegistry', 'url'], message: 'and schemaRegistryUrl both name the registry: keep one', input: undefined });
    }
  });

/** Fields whose values are never echoed in an error message. */
export const SECRET_FIELDS: ReadonlySet<string> = new Set(['password', 'passphrase', 'key', 'basicAuth']);

const kafkaTarget = z.strictObject({
  type: z.literal('kafka'),
  topic: topicName,
  cluster: name.optional(),
  partitions: positiveInt().optional(),
});

const httpTarget = z.strictObject({
  type: z.literal('http'),
  url: url(['http:', 'https:']),
  method: z.enum(['POST', 'PUT', 'PATCH', 'DELETE', 'GET']).default('POST'),
  headers: z.record(z.string(), z.string()).default({}),
  timeoutMs: positiveDuration().default(10_000),
});

const sqlIdentifier = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$/, {
  error: 'must be an SQL identifier (letters, digits, _; optionally schema.table)',
});
const column = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, { error: 'must be an SQL column name (letters, digits, _)' });

const postgresTarget = z.strictObject({
  type: z.literal('postgres'),
  connectionString: url(['postgres:', 'postgresql:']),
  table: sqlIdentifier,
  keyColumn: column.default('key'),
  valueColumn: column.default('value'),
  sequenceColumn: column.default('sequence'),
});

const redisTarget = z.strictObject({
  type: z.literal('redis'),
  url: url(['redis:', 'rediss:']),
  keyPrefix: z.string().default(''),
  ttlSeconds: positiveInt().optional(),
});

const hostPort = z.string().regex(/^[^\s:,@]+:\d{1,5}$/, { error: 'each server must be "host:port"' });

// memcached counts expiry in whole seconds, so a TTL is too.
const wholeSeconds = () =>
  nonNegativeDuration().refine((ms) => ms % 1000 === 0, { error: 'must be whole seconds (memcached counts expiry in seconds)' });

const memcachedTarget = z.strictObject({
  type: z.literal('memcached'),
  servers: z
    .union([z.string(), z.array(z.string())], { error: 'must be "host:port,host:port" or a list of "host:port"' })
    .transform((value) => (Array.isArray(value) ? value : value.split(',')).map((s) => s.trim()).filter((s) => s !== ''))
    .pipe(z.array(hostPort).min(1, { error: 'must name at least one server' })),
  keyPrefix: z.string().default(''),
  ttl: wholeSeconds().default(0),
  tombstoneTtl: wholeSeconds()
    .refine((ms) => ms > 0, { error: 'must be > 0 (a tombstone without expiry would never leave the cache on its own)' })
    .default(86_400_000),
  maxItemSize: positiveSize().default(1024 * 1024),
  timeoutMs: positiveDuration().default(1000),
  connectTimeoutMs: positiveDuration().default(2000),
  sasl: z
    .strictObject({
      username: z.string().min(1, { error: 'must not be empty' }),
      password: secret,
    })
    .optional(),
});

// Unquoted CQL names, lower case only: CQL folds unquoted names to lower case, so "Items" would
// silently be "items"; keyspace and table names are at most 48 characters.
const cqlName = z.string().regex(/^[a-z][a-z0-9_]{0,47}$/, { error: 'must be a CQL name: a lower-case letter, then lower-case letters, digits or _ (at most 48)' });

export const CASSANDRA_CONSISTENCIES = ['ANY', 'ONE', 'TWO', 'THREE', 'QUORUM', 'ALL', 'LOCAL_QUORUM', 'EACH_QUORUM', 'LOCAL_ONE'] as const;

const cassandraTarget = z.strictObject({
  type: z.literal('cassandra'),
  contactPoints: z
    .union([z.string(), z.array(z.string())], { error: 'must be "host:port,host" or a list of "host[:port]"' })
    .transform((value) => (Array.isArray(value) ? value : value.split(',')).map((s) => s.trim()).filter((s) => s !== ''))
    .pipe(z.array(z.string().regex(/^[^\s:,@]+(:\d{1,5})?$/, { error: 'each contact point must be "host" or "host:port"' })).min(1, { error: 'must name at least one contact point' })),
  localDataCenter: z.string().min(1, { error: 'must name the datacenter the driver treats as local (e.g. datacenter1)' }),
  keyspace: cqlName,
  table: cqlName,
  keyColumn: cqlName.default('key'),
  valueColumn: cqlName.default('value'),
  consistency: z.enum(CASSANDRA_CONSISTENCIES).default('LOCAL_QUORUM'),
  /** How the keyspace is created when missing; an existing keyspace is left as it is. */
  replication: z
    .discriminatedUnion('class', [
      z.strictObject({ class: z.literal('SimpleStrategy'), replicationFactor: positiveInt().default(1) }),
      z.strictObject({
        class: z.literal('NetworkTopologyStrategy'),
        datacenters: z.record(z.string().regex(/^[A-Za-z0-9_-]+$/, { error: 'must be a datacenter name' }), positiveInt()).refine((dcs) => Object.keys(dcs).length > 0, { error: 'must name at least one datacenter' }),
      }),
    ])
    .default({ class: 'SimpleStrategy', replicationFactor: 1 }),
  timeoutMs: positiveDuration().default(10_000),
  connectTimeoutMs: positiveDuration().default(5000),
  /** Password authentication (PasswordAuthenticator); the password inline, as file:<path> or ${ENV}. */
  auth: z.strictObject({ username: z.string().min(1, { error: 'must not be empty' }), password: secret }).optional(),
  ssl: tlsSchema.optional(),
});

export const targetSchema = z.discriminatedUnion('type', [kafkaTarget, httpTarget, postgresTarget, redisTarget, memcachedTarget, cassandraTarget]);

const replicationSchema = z.strictObject({
  source: name.optional(),
  targets: z.array(name).min(1, { error: 'must name at least one target cluster' }),
  topics: z.array(topicName).default([]),
  topicPattern: z.string().min(1).optional(),
  rename: z.enum(['prefix', 'identity']).default('prefix'),
  groups: z.array(z.string().min(1)).default([]),
  checkpointIntervalMs: positiveDuration().default(5_000),
  schemas: z.enum(['copy', 'bytes']).default('copy'),
  syncGroupOffsets: z.boolean().default(false),
});

/** SQS queue names: 1–80 of letters, digits, - and _ (a FIFO queue ends in .fifo). */
const sqsQueueName = z.string().regex(/^[A-Za-z0-9_-]{1,75}(\.fifo)?$/, { error: 'must be an SQS queue name (1–80 letters, digits, - or _)' });

/**
 * Where a namespace's requests wait until due: Kafka (the intake topic + timer store, the default)
 * or an SQS queue. Credentials are never here: the AWS SDK's usual env/profile chain supplies them.
 */
const sqsQueue = z
  .strictObject({
    type: z.literal('sqs'),
    queueUrl: url(['http:', 'https:']).optional(),
    queueName: sqsQueueName.optional(),
    region: z.string().min(1, { error: 'must not be empty' }),
    endpoint: url(['http:', 'https:']).optional(),
    dlqQueueUrl: url(['http:', 'https:']).optional(),
    dlqQueueName: sqsQueueName.optional(),
    receivers: z.number().int().min(1).max(64).default(2),
    visibilityTimeoutMs: positiveDuration().pipe(z.number().min(1000, { error: 'must be ≥ 1s' }).max(43_200_000, { error: 'must be ≤ 12h (SQS limit)' })).default(60_000),
    maxSqsDelaySeconds: z.number().int().min(1).max(900, { error: 'must be ≤ 900 (SQS limit)' }).default(900),
    waitTimeSeconds: z.number().int().min(0).max(20, { error: 'must be ≤ 20 (SQS limit)' }).default(20),
  })
  .superRefine((queue, ctx) => {
    if ((queue.queueUrl === undefined) === (queue.queueName === undefined)) {
      ctx.addIssue({ code: 'custom', path: ['queueUrl'], message: 'give exactly one of queueUrl and queueName', input: undefined });
    }
    if (queue.dlqQueueUrl !== undefined && queue.dlqQueueName !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['dlqQueueUrl'], message: 'and dlqQueueName both name the DLQ: keep one', input: undefined });
    }
  });

export const queueSchema = z.discriminatedUnion('type', [z.strictObject({ type: z.literal('kafka') }), sqsQueue], {
  error: 'must be { type: kafka } or { type: sqs, queueUrl | queueName, region, … }',
});

export const namespaceSchema = z.strictObject({
  name,
  cluster: name.default('primary'),
  partitions: positiveInt().default(3),
  replicationFactor: positiveInt().default(1),
  topics: z
    .strictObject({
      intake: topicName.optional(),
      dlq: topicName.optional(),
      timersChangelog: topicName.optional(),
      completions: topicName.optional(),
      targets: z.record(z.string(), topicName).default({}),
    })
    .default({ targets: {} }),
  delay: z
    .strictObject({
      defaultDelayMs: nonNegativeDuration().default(0),
      maxDelayMs: nonNegativeDuration().nullable().default(null),
    })
    .default({ defaultDelayMs: 0, maxDelayMs: null }),
  maxPayloadBytes: positiveSize().default(1024 * 1024),
  backoff: z
    .strictObject({
      initialMs: positiveDuration().default(1000),
      maxMs: positiveDuration().default(60_000),
      multiplier: number().pipe(z.number().min(1, { error: 'must be ≥ 1' })).default(2),
      jitter: number().pipe(z.number().min(0, { error: 'must be between 0 and 1' }).max(1, { error: 'must be between 0 and 1' })).default(0.2),
    })
    .default({ initialMs: 1000, maxMs: 60_000, multiplier: 2, jitter: 0.2 }),
  maxRetries: nonNegativeInt().default(5),
  idempotency: z
    .strictObject({
      windowMs: nonNegativeDuration().default(DEFAULT_IDEMPOTENCY_WINDOW_MS),
    })
    .default({ windowMs: DEFAULT_IDEMPOTENCY_WINDOW_MS }),
  dlq: z
    .strictObject({
      enabled: z.boolean().default(true),
      retentionMs: positiveDuration().default(30 * 86_400_000),
      onDisabled: z.enum(['retain', 'drop']).default('retain'),
    })
    .default({ enabled: true, retentionMs: 30 * 86_400_000, onDisabled: 'retain' }),
  targets: z.record(name, targetSchema).default({}),
  defaultTarget: name.optional(),
  chunking: z
    .strictObject({
      chunkSize: positiveInt().default(100),
      maxChunkBytes: positiveSize().default(512 * 1024),
    })
    .default({ chunkSize: 100, maxChunkBytes: 512 * 1024 }),
  replication: replicationSchema.optional(),
  replicaOf: name.optional(),
  processingGuarantee: z.enum(['at-least-once', 'exactly-once']).default('at-least-once'),
  queue: queueSchema.default({ type: 'kafka' }),
  shard: name.default(DEFAULT_SHARD),
  runtime: z
    .strictObject({
      commitIntervalMs: positiveDuration().default(1000),
      punctuationIntervalMs: positiveDuration().default(250),
      partitionConcurrency: z.number().int().min(1).max(256).default(DEFAULT_PARTITION_CONCURRENCY),
    })
    .default({ commitIntervalMs: 1000, punctuationIntervalMs: 250, partitionConcurrency: DEFAULT_PARTITION_CONCURRENCY }),
});

/** Top level of a file; clusters and namespaces are then checked one by one so one bad entry hides no other. */
export const fileSchema = z.strictObject({
  clusters: z.record(z.string(), z.unknown()).default({}),
  namespaces: z.array(z.unknown()).default([]),
});

export type RawNamespace = z.output<typeof namespaceSchema>;
export type RawCluster = z.output<typeof clusterSchema>;
