/** Tests start private memcached servers with the dev cluster's starter (temp dir, watchdog, in memory). */
export { startMemcached, memcachedAnswers } from '../../src/devcluster/memcached';
export type { MemcachedServer, StartMemcachedOptions } from '../../src/devcluster/memcached';
