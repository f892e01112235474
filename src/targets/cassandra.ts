import { createHash } from 'node:crypto';
import { auth as driverAuth, Client, errors, policies, types } from 'cassandra-driver';
import type { CassandraTargetConfig } from '../namespaces/types';
import { createLogger } from '../observability/logger';
import { mapWithConcurrency } from './batch';
import { describeError, TargetConfigError, TargetError } from './errors';
import { Delivery, DeliveryResult, failed, MutationDelivery, OK, Target, TargetMutation } from './target';

export interface CassandraTargetOptions {
  /** Statements of one chunk (or one delivery batch) in flight at once. */
  concurrency?: number;
  /** For deliveries without a write time. */
  now?: () => number;
}

/**
 * The largest sequence written as it is: Cassandra write timestamps are signed 64-bit microseconds,
 * and a mutation's sequence (a non-negative int64 on the wire) reaches wal as a JavaScript number,
 * exact up to 2^53 − 1. Sequence s is written `USING TIMESTAMP s`: 0 ≤ s ≤ 2^53 − 1 is the safe range
 * (2^53 µs is about 285 years, so a producer may also use its clock's microseconds as sequences).
 */
export const MAX_CASSANDRA_SEQUENCE = Number.MAX_SAFE_INTEGER;

/** `USING TIMESTAMP` of a mutation: its sequence, unchanged (see MAX_CASSANDRA_SEQUENCE). */
export function mutationTimestamp(sequence: number): types.Long {
  if (!Number.isSafeInteger(sequence) || sequence < 0) {
    throw new TargetError(`sequence ${sequence} cannot be a Cassandra write timestamp: it must be a whole number from 0 to ${MAX_CASSANDRA_SEQUENCE}`, false);
  }
  return types.Long.fromNumber(sequence);
}

/**
 * `USING TIMESTAMP` of a delivery: the request's write time in microseconds (ms × 1000) plus 0–999
 * derived from its id, so every attempt of one request writes the same cell at the same timestamp
 * (a redelivery is a no-op) and two requests for one key in the same millisecond still order the
 * same way on every replica.
 */
export function deliveryTimestamp(writeTimeMs: number, id: string): types.Long {
  const micros = createHash('sha1').update(id).digest().readUInt16BE(0) % 1000;
  return types.Long.fromNumber(writeTimeMs).multiply(1000).add(micros);
}

type ValueType = 'blob' | 'text';

/**
 * Writes keyed rows into a Cassandra table with the DataStax Node.js driver (cassandra-driver).
 *
 * Ordering is Cassandra's own last-write-wins: every PUT is `INSERT … USING TIMESTAMP <sequence>` and
 * every DELETE `DELETE … USING TIMESTAMP <sequence>`, so whatever order chunks arrive in, and however
 * often one is applied again, each key ends with the cell of its highest sequence (a DELETE's
 * tombstone shadows older PUTs; a newer PUT brings the key back). At equal timestamps Cassandra
 * prefers a tombstone to a value and the greater value to the smaller: give one key distinct
 * sequences. wal should be the table's only writer: a write without USING TIMESTAMP gets the
 * coordinator's clock in microseconds (~1.7e15 today) and would beat every sequence below that.
 *
 * A chunk is written as the newest mutation of each of its keys (the others could not win anyway),
 * grouped into unlogged batches of at most 32 KiB and 100 statements, a few batches in flight at once.
 * Measured on one node (bench/fanout-cassandra.ts): unlogged batches of 100 took 8.8k mutations/s where
 * 100 concurrent single statements per chunk took 4.4k. Not atomic across keys (an unlogged batch is
 * not), but idempotent, so a chunk that failed in part is simply applied again.
 *
 * The keyspace (with the configured replication) and the table (`key text PRIMARY KEY, value blob`)
 * are created when missing; an existing table must have the key column as its only primary-key column,
 * of type text, and the value column of type blob or text: anything else is refused (permanent).
 */
export function createCassandraTarget(name: string, config: CassandraTargetConfig, options: CassandraTargetOptions = {}): Target {
  const log = createLogger({ component: 'target', target: name, type: 'cassandra' });
  const concurrency = options.concurrency ?? 64;
  const now = options.now ?? Date.now;
  const table = `${config.keyspace}.${config.table}`;
  const consistency = types.consistencies[CONSISTENCY[config.consistency]];
  const insertCql = `INSERT INTO ${table} (${config.keyColumn}, ${config.valueColumn}) VALUES (?, ?) USING TIMESTAMP ?`;
  const deleteCql = `DELETE FROM ${table} USING TIMESTAMP ? WHERE ${config.keyColumn} = ?`;

  let client: Client | undefined;
  let ready: Promise<ValueType> | undefined;
  const prepare = (): Promise<ValueType> => {
    ready ??= (async () => {
      client ??= newClient(config);
      await client.connect();
      return ensureTable(client, name, config);
    })().catch(async (error: unknown) => {
      ready = undefined;
      // A client whose first connect failed is not reused: the next attempt starts afresh.
      const broken = client;
      client = undefined;
      await broken?.shutdown().catch(() => undefined);
      throw error;
    });
    return ready;
  };

  const write = async (key: string, value: Buffer | null, timestamp: types.Long): Promise<void> => {
    const valueType = await prepare();
    const params = value === null ? [timestamp, key] : [key, valueType === 'blob' ? value : value.toString('utf8'), timestamp];
    await client!.execute(value === null ? deleteCql : insertCql, params, { prepare: true, consistency, isIdempotent: true });
  };

  /** One key's mutation alone, or several keys' in one unlogged batch (each statement still carries its own timestamp). */
  const writeBatch = async (group: TargetMutation[]): Promise<void> => {
    const valueType = await prepare();
    const statements = group.map((m) => {
      const timestamp = mutationTimestamp(m.sequence);
      if (m.op === 'DELETE') return { query: deleteCql, params: [timestamp, m.key] };
      const value = m.value ?? Buffer.alloc(0);
      return { query: insertCql, params: [m.key, valueType === 'blob' ? value : value.toString('utf8'), timestamp] };
    });
    if (statements.length === 1) {
      await client!.execute(statements[0].query, statements[0].params, { prepare: true, consistency, isIdempotent: true });
    } else {
      await client!.batch(statements, { prepare: true, logged: false, consistency, isIdempotent: true });
    }
  };

  const attempt = async (fn: () => Promise<void>): Promise<DeliveryResult> => {
    try {
      await fn();
      return OK;
    } catch (error) {
      // Table (or keyspace) dropped under us: create it again on the next attempt.
      if (isMissingTable(error)) ready = undefined;
      const result = classifyCassandraError(error);
      if (!result.ok && result.retriable) log.debug({ err: result.reason }, 'cassandra write failed, retriable');
      return result;
    }
  };

  return {
    name,
    async deliver(batch: Delivery[]): Promise<DeliveryResult[]> {
      return mapWithConcurrency(batch, concurrency, (d) =>
        attempt(() => {
          const key = d.key !== null && d.key.length > 0 ? d.key.toString('utf8') : d.id;
          return write(key, d.payload, deliveryTimestamp(d.writeTime ?? now(), d.id));
        }),
      );
    },
    async applyMutations(chunk: MutationDelivery): Promise<DeliveryResult> {
      const winners = new Map<string, TargetMutation>();
      for (const m of chunk.mutations) {
        const seen = winners.get(m.key);
        if (!seen || m.sequence > seen.sequence) winners.set(m.key, m);
      }
      const groups = batchesBySize([...winners.values()], BATCH_MAX_BYTES, BATCH_MAX_STATEMENTS);
      const results = await mapWithConcurrency(groups, BATCH_CONCURRENCY, (group) => attempt(() => writeBatch(group)));
      const failures = results.filter((r): r is Extract<DeliveryResult, { ok: false }> => !r.ok);
      if (failures.length === 0) return OK;
      // Retried as a whole (applying again is harmless) while any failure may pass later.
      const retriable = failures.some((f) => f.retriable);
      const first = failures.find((f) => f.retriable === retriable) ?? failures[0];
      const more = failures.length > 1 ? ` (and ${failures.length - 1} more of ${groups.length} batches)` : '';
      return failed(retriable, `${first.reason}${more}`);
    },
    async close(): Promise<void> {
      const open = client;
      client = undefined;
      ready = undefined;
      await open?.shutdown();
    },
  };
}

/**
 * A chunk's statements go in unlogged batches of at most this many bytes of keys and values (Cassandra
 * refuses a batch over batch_size_fail_threshold, 50 KiB by default, as an invalid query, and warns in its
 * log above 5 KiB) and this many statements; a larger single value is written on its own.
 */
const BATCH_MAX_BYTES = 32 * 1024;
const BATCH_MAX_STATEMENTS = 100;
/** Batches of one chunk in flight at once. */
const BATCH_CONCURRENCY = 8;

/** Splits mutations, in order, into groups under both limits; a mutation over `maxBytes` alone forms a group. */
export function batchesBySize(mutations: readonly TargetMutation[], maxBytes: number, maxStatements: number): TargetMutation[][] {
  const groups: TargetMutation[][] = [];
  let current: TargetMutation[] = [];
  let bytes = 0;
  for (const m of mutations) {
    const size = Buffer.byteLength(m.key) + (m.value?.length ?? 0);
    if (current.length > 0 && (bytes + size > maxBytes || current.length >= maxStatements)) {
      groups.push(current);
      current = [];
      bytes = 0;
    }
    current.push(m);
    bytes += size;
  }
  if (current.length > 0) groups.push(current);
  return groups;
}

const CONSISTENCY: Record<CassandraTargetConfig['consistency'], keyof typeof types.consistencies> = {
  ANY: 'any',
  ONE: 'one',
  TWO: 'two',
  THREE: 'three',
  QUORUM: 'quorum',
  ALL: 'all',
  LOCAL_QUORUM: 'localQuorum',
  EACH_QUORUM: 'eachQuorum',
  LOCAL_ONE: 'localOne',
};

function newClient(config: CassandraTargetConfig): Client {
  return new Client({
    contactPoints: config.contactPoints,
    localDataCenter: config.localDataCenter,
    protocolOptions: { port: 9042 },
    socketOptions: { connectTimeout: config.connectTimeoutMs, readTimeout: config.timeoutMs },
    // Back within seconds after an outage (the default backs off to 10 minutes).
    policies: { reconnection: new policies.reconnection.ExponentialReconnectionPolicy(500, 5000, false) },
    ...(config.auth ? { authProvider: new driverAuth.PlainTextAuthProvider(config.auth.username, config.auth.password) } : {}),
    ...(config.ssl
      ? {
          sslOptions: {
            rejectUnauthorized: config.ssl.rejectUnauthorized,
            ...(config.ssl.ca !== undefined ? { ca: config.ssl.ca } : {}),
            ...(config.ssl.cert !== undefined ? { cert: config.ssl.cert } : {}),
            ...(config.ssl.key !== undefined ? { key: config.ssl.key } : {}),
            ...(config.ssl.passphrase !== undefined ? { passphrase: config.ssl.passphrase } : {}),
          },
        }
      : {}),
  });
}

function replicationCql(replication: CassandraTargetConfig['replication']): string {
  if (replication.class === 'SimpleStrategy') return `{'class': 'SimpleStrategy', 'replication_factor': ${replication.replicationFactor}}`;
  const dcs = Object.entries(replication.datacenters).map(([dc, rf]) => `, '${dc}': ${rf}`).join('');
  return `{'class': 'NetworkTopologyStrategy'${dcs}}`;
}

/**
 * DDL statements in flight in this process, by statement: the applier tasks of a namespace open their
 * targets at the same moment, and Cassandra 5 can give a table created by two concurrent
 * `CREATE TABLE IF NOT EXISTS` two ids, after which queries fail with "Unknown CF". One runs, the
 * others wait for it (then forget it, so a table dropped later is created again).
 */
const ddlInFlight = new Map<string, Promise<unknown>>();

function executeOnce(client: Client, cluster: string, statement: string): Promise<unknown> {
  const key = `${cluster}\u0000${statement}`;
  let running = ddlInFlight.get(key);
  if (!running) {
    running = client.execute(statement).finally(() => ddlInFlight.delete(key));
    ddlInFlight.set(key, running);
  }
  return running;
}

/** Creates the keyspace and table when missing, then checks the table's shape; returns the value column's type. */
async function ensureTable(client: Client, name: string, config: CassandraTargetConfig): Promise<ValueType> {
  const cluster = [...config.contactPoints].sort().join(',');
  await executeOnce(client, cluster, `CREATE KEYSPACE IF NOT EXISTS ${config.keyspace} WITH replication = ${replicationCql(config.replication)}`);
  await executeOnce(client, cluster, `CREATE TABLE IF NOT EXISTS ${config.keyspace}.${config.table} (${config.keyColumn} text PRIMARY KEY, ${config.valueColumn} blob)`);
  const { rows } = await client.execute(
    'SELECT column_name, kind, type FROM system_schema.columns WHERE keyspace_name = ? AND table_name = ?',
    [config.keyspace, config.table],
    { prepare: true },
  );
  const columns = rows.map((r) => ({ name: String(r.column_name), kind: String(r.kind), type: String(r.type) }));
  return checkTableShape(name, config, columns);
}

/**
 * Whether an existing table can hold this target's rows: the key column is the one partition key (text)
 * with no clustering columns, the value column is blob or text. Throws TargetConfigError naming what is off.
 */
export function checkTableShape(
  name: string,
  config: Pick<CassandraTargetConfig, 'keyspace' | 'table' | 'keyColumn' | 'valueColumn'>,
  columns: ReadonlyArray<{ name: string; kind: string; type: string }>,
): ValueType {
  const where = `target "${name}": table ${config.keyspace}.${config.table}`;
  const primary = columns.filter((c) => c.kind === 'partition_key' || c.kind === 'clustering');
  const key = columns.find((c) => c.name === config.keyColumn);
  if (!key) throw new TargetConfigError(`${where} has no column "${config.keyColumn}" (keyColumn)`);
  if (primary.length !== 1 || key.kind !== 'partition_key') {
    throw new TargetConfigError(`${where} has primary key (${primary.map((c) => c.name).join(', ')}); expected "${config.keyColumn}" alone`);
  }
  if (key.type !== 'text' && key.type !== 'varchar') throw new TargetConfigError(`${where}: key column "${config.keyColumn}" is ${key.type}; expected text`);
  const value = columns.find((c) => c.name === config.valueColumn);
  if (!value) throw new TargetConfigError(`${where} has no column "${config.valueColumn}" (valueColumn)`);
  if (value.type === 'blob') return 'blob';
  if (value.type === 'text' || value.type === 'varchar') return 'text';
  throw new TargetConfigError(`${where}: value column "${config.valueColumn}" is ${value.type}; expected blob or text`);
}

const codes = types.responseErrorCodes;
/** Server answers where the same statement can succeed later (a replica back, load gone). */
const RETRIABLE_CODES = new Set<number>([
  codes.serverError,
  codes.unavailableException,
  codes.overloaded,
  codes.isBootstrapping,
  codes.truncateError,
  codes.writeTimeout,
  codes.readTimeout,
  codes.writeFailure,
  codes.readFailure,
  codes.unprepared,
]);
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);

/**
 * Unavailable, overloaded, timeouts (server or client side) and lost connections are retriable; a
 * statement the server refuses (syntax, invalid, unauthorized, config), refused credentials and a
 * table of the wrong shape fail the same way again: permanent, so the DLQ gets them with the reason.
 */
export function classifyCassandraError(error: unknown): DeliveryResult {
  const reason = describeError(error);
  if (error instanceof TargetError) return failed(error.retriable, reason);
  if (error instanceof errors.ResponseError) {
    const code = error.code;
    // Like PostgreSQL's 42P01: the target creates the table again on its next attempt.
    return failed(RETRIABLE_CODES.has(code) || isMissingTable(error), `${responseCodeName(code)}: ${reason}`);
  }
  if (error instanceof errors.AuthenticationError) return failed(false, reason);
  if (error instanceof errors.NoHostAvailableError) {
    const inner = Object.values(error.innerErrors ?? {});
    // Every host refused our credentials: waiting will not change that.
    const allAuth = inner.length > 0 && inner.every((e) => e instanceof errors.AuthenticationError);
    return failed(!allAuth, reason);
  }
  if (error instanceof errors.ArgumentError || error instanceof errors.NotSupportedError) return failed(false, reason);
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && NETWORK_CODES.has(code)) return failed(true, `${code}: ${reason}`);
  // OperationTimedOutError, BusyConnectionError, a socket closed under a request: worth another try.
  return failed(true, reason);
}

/** Cassandra answers a statement on a dropped table or keyspace with an "invalid" error saying so. */
function isMissingTable(error: unknown): boolean {
  return error instanceof errors.ResponseError && error.code === Number(codes.invalid) && /unconfigured table|does not exist/i.test(error.message);
}

function responseCodeName(code: number): string {
  const entry = Object.entries(codes).find(([, value]) => Number(value) === code);
  return entry ? entry[0] : `0x${code.toString(16)}`;
}
