/**
 * The public library: what `require('wal')` / `import … from 'wal'` gives a user, and nothing else.
 * Everything not named here (the runners, stores, Kafka plumbing, the CLI, dev tooling) is internal
 * and may change without notice. Adding a name here is a promise: keep this list deliberate.
 *
 * - WriteToLog writer: `createWalWriter`; every write resolves to a `WriteResult` whose `durable` is
 *   'true' | 'false' | 'unknown' (`Durability`).
 * - Configuration: `loadConfig` (files or directories), `parseConfig` (text), `findNamespace`,
 *   `ConfigError`, and the typed config shapes they return.
 * - Processor API (in the spirit of Kafka Streams' `processor/api`): `Processor`, `ProcessorContext`,
 *   records, source decoders, punctuators, stores, error policies, and `TopologyBuilder` → `Topology`.
 * - `TopologyTestDriver`: runs a topology with no broker (pipe records in, advance the wall clock,
 *   read outputs and stores), for a processor's unit tests.
 *
 * Modules are imported one by one rather than through their folders' barrels so that loading the
 * library does not load the HTTP server, the engine's runners or the CLI.
 */

// WriteToLog writer
export { createWalWriter, DEFAULT_WRITE_TIMEOUT_MS } from './api/writer';
export type { WalWriter, WalWriterOptions } from './api/writer';
export type { Durability, FailureReason, JsonValue, MutationInput, PayloadInput, WriteRequest, WriteResult } from './api/types';

// Configuration
export { loadConfig, parseConfig, findNamespace } from './namespaces/loader';
export { ConfigError } from './namespaces/errors';
export type {
  BackoffConfig,
  ClusterConfig,
  HttpTargetConfig,
  KafkaTargetConfig,
  MemcachedTargetConfig,
  NamespaceConfig,
  NamespaceTopics,
  PostgresTargetConfig,
  ProcessingGuarantee,
  RedisTargetConfig,
  ReplicationConfig,
  TargetConfig,
  WalConfig,
} from './namespaces/types';

// Reading what the memcached target stored (a value, a tombstone, or a plain delivery)
export { decodeCacheEntry, readCacheValue } from './targets/memcached-format';
export type { CacheEntry } from './targets/memcached-format';

// Processor API and topologies
export { TopologyBuilder } from './engine/topology';
export type { Topology } from './engine/topology';
export { TopologyError } from './engine/errors';
export { TopologyTestDriver } from './engine/test-driver';
export type { TestInputRecord, TestOutputRecord, TopologyTestDriverOptions } from './engine/test-driver';
export type {
  Cancellable,
  DecoderSupplier,
  RecordDecoder,
  SourceOptions,
  Clock,
  ErrorPolicy,
  ErrorPolicyActions,
  OutputRecord,
  Processor,
  ProcessorContext,
  ProcessorSupplier,
  Punctuator,
  StoreOptions,
  TopicChooser,
  WalRecord,
} from './engine/api';
export type { KeyValueStore, RangeOptions } from './state/store';
