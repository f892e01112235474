import type { ClusterConfig, TargetConfig } from '../namespaces/types';
import { createCassandraTarget } from './cassandra';
import { TargetConfigError } from './errors';
import { createHttpTarget } from './http';
import { createKafkaTarget } from './kafka';
import { createMemcachedTarget } from './memcached';
import { createPostgresTarget } from './postgres';
import { createRedisTarget } from './redis';
import type { Target } from './target';

export type { Delivery, DeliveryResult, MutationDelivery, Target, TargetMutation } from './target';
export { OK, failed } from './target';
export { kafkaTargetHeaders } from './kafka';
export { TargetError, TargetConfigError } from './errors';
export { DELETED_COLUMN } from './postgres';
export { SEQUENCE_SUFFIX } from './redis';
export { batchesBySize, checkTableShape, classifyCassandraError, deliveryTimestamp, mutationTimestamp, MAX_CASSANDRA_SEQUENCE } from './cassandra';
export { decodeCacheEntry, encodeCacheEntry, readCacheValue, type CacheEntry } from './memcached-format';

/**
 * Builds the target a namespace's config names. Connections are opened lazily, on first delivery,
 * so building every target of a namespace at start-up is cheap. Adding a target type: a new file in
 * this folder and one case here.
 */
export function createTarget(name: string, config: TargetConfig, clusters: Record<string, ClusterConfig>): Target {
  switch (config.type) {
    case 'kafka': {
      const cluster = clusters[config.cluster];
      if (!cluster) {
        const known = Object.keys(clusters).join(', ') || 'none';
        throw new TargetConfigError(`target "${name}": unknown cluster "${config.cluster}" (known: ${known})`);
      }
      return createKafkaTarget(name, config, cluster);
    }
    case 'http':
      return createHttpTarget(name, config);
    case 'postgres':
      return createPostgresTarget(name, config);
    case 'redis':
      return createRedisTarget(name, config);
    case 'memcached':
      return createMemcachedTarget(name, config);
    case 'cassandra':
      return createCassandraTarget(name, config);
    default: {
      const unknown: never = config;
      throw new TargetConfigError(`target "${name}": unknown type ${JSON.stringify((unknown as { type?: unknown }).type)}`);
    }
  }
}
