import { Client } from 'cassandra-driver';
import type { CassandraTargetConfig } from '../../src/namespaces/types';

/** The env var through which global-setup hands the shared Cassandra node to test workers. */
export const CASSANDRA_ENV = 'WAL_TEST_CASSANDRA';

export interface TestCassandra {
  /** "127.0.0.1:<port>". */
  readonly contactPoint: string;
  readonly localDataCenter: string;
  /** The JVM's pid: an outage test freezes it with SIGSTOP and thaws it with SIGCONT. */
  readonly pid: number;
}

/**
 * The Cassandra node global-setup started for this run (once, shared by every suite that imports this
 * file). Fails loudly when it is missing: a Cassandra test never runs without a real node.
 */
export function testCassandra(): TestCassandra {
  const raw = process.env[CASSANDRA_ENV];
  if (!raw) {
    throw new Error(`${CASSANDRA_ENV} is not set: global-setup starts Cassandra only for runs whose test files import test/support/cassandra`);
  }
  return JSON.parse(raw) as TestCassandra;
}

/** A cassandra target config on the shared node; `keyspace` and `table` should be unique per test. */
export function cassandraTargetConfig(keyspace: string, table: string, extra: Partial<CassandraTargetConfig> = {}): CassandraTargetConfig {
  const node = testCassandra();
  return {
    type: 'cassandra',
    contactPoints: [node.contactPoint],
    localDataCenter: node.localDataCenter,
    keyspace,
    table,
    keyColumn: 'key',
    valueColumn: 'value',
    consistency: 'LOCAL_QUORUM',
    replication: { class: 'SimpleStrategy', replicationFactor: 1 },
    timeoutMs: 5000,
    connectTimeoutMs: 2000,
    ...extra,
  };
}

/** A driver client on the shared node, for tests to read what the target wrote. */
export async function cassandraClient(): Promise<Client> {
  const node = testCassandra();
  const client = new Client({ contactPoints: [node.contactPoint], localDataCenter: node.localDataCenter, socketOptions: { readTimeout: 10_000 } });
  await client.connect();
  return client;
}

/** Live rows of a table, key → value as text (an absent table reads as empty). */
export async function cassandraRows(client: Client, keyspace: string, table: string): Promise<Map<string, string>> {
  try {
    const rows = new Map<string, string>();
    let pageState: string | undefined;
    do {
      const page = await client.execute(`SELECT key, value FROM ${keyspace}.${table}`, [], { prepare: true, fetchSize: 5000, pageState });
      for (const row of page.rows) {
        const value = row.value as Buffer | string | null;
        rows.set(String(row.key), value === null ? '' : value.toString());
      }
      pageState = page.pageState ?? undefined;
    } while (pageState);
    return rows;
  } catch (error) {
    // Not created yet: the target creates keyspace and table on its first write. "Unknown CF" is a
    // read that raced that CREATE TABLE on the node (the schema not applied everywhere yet).
    if (/unconfigured table|does not exist|Unknown CF/i.test((error as Error).message)) return new Map();
    throw error;
  }
}
