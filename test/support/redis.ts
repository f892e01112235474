/** Tests start private Redis servers with the dev cluster's starter (temp dir, watchdog, in memory). */
export { startRedis } from '../../src/devcluster/redis';
export type { RedisServer, StartRedisOptions } from '../../src/devcluster/redis';
