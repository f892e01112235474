/** Tests start private PostgreSQL servers with the dev cluster's starter (temp dir, watchdog, durability off). */
export { startPostgres } from '../../src/devcluster/postgres';
export type { PostgresServer, StartPostgresOptions } from '../../src/devcluster/postgres';
