import { escapeIdentifier, Pool, PoolClient } from 'pg';
import type { PostgresTargetConfig } from '../namespaces/types';
import { createLogger } from '../observability/logger';
import { sendIsolatingFailures } from './batch';
import { boolArray, bytesArray, int8Array, textArray } from './postgres-arrays';
import { describeError, TargetConfigError, TargetError } from './errors';
import { Delivery, DeliveryResult, failed, MutationDelivery, OK, Target, TargetMutation } from './target';

/**
 * Deletes are kept as tombstone rows (value NULL, this flag true, the delete's sequence) rather than
 * removed: the row's sequence is what stops a late, older PUT from resurrecting a deleted key, and a
 * missing row would carry no sequence. Readers select `WHERE NOT wal_deleted`.
 */
export const DELETED_COLUMN = 'wal_deleted';

export interface PostgresTargetOptions {
  poolSize?: number;
  connectionTimeoutMs?: number;
  statementTimeoutMs?: number;
}

type ValueEncoding = 'bytea' | 'jsonb' | 'json' | 'text';
interface Row { key: string; value: Buffer | null; sequence: number; deleted: boolean }

/**
 * Upserts rows keyed by `keyColumn`, guarded by `sequenceColumn`: one INSERT … ON CONFLICT over
 * unnest()ed arrays applies a whole chunk atomically (a single statement is a single transaction)
 * and its `WHERE t.seq < EXCLUDED.seq` makes re-applying a chunk, or applying an older one late, a
 * no-op. Creates the table when missing. `deliver` upserts each payload under its delivery id with
 * sequence 0, so a redelivery changes nothing.
 */
export function createPostgresTarget(name: string, config: PostgresTargetConfig, options: PostgresTargetOptions = {}): Target {
  const table = qualifiedName(name, config.table);
  const [keyCol, valueCol, seqCol] = [config.keyColumn, config.valueColumn, config.sequenceColumn].map((c, i) => {
    if (!c) throw new TargetConfigError(`target "${name}": postgres ${['keyColumn', 'valueColumn', 'sequenceColumn'][i]} is empty`);
    return escapeIdentifier(c);
  }) as [string, string, string];
  const deletedCol = escapeIdentifier(DELETED_COLUMN);
  const log = createLogger({ component: 'target', target: name, type: 'postgres' });
  const pool = new Pool({
    connectionString: config.connectionString,
    max: options.poolSize ?? 4,
    connectionTimeoutMillis: options.connectionTimeoutMs ?? 5000,
    idleTimeoutMillis: 10000,
    statement_timeout: options.statementTimeoutMs ?? 30000,
    allowExitOnIdle: true,
  });
  // An idle client whose server went away emits here; without a listener the process would crash.
  pool.on('error', (error) => log.warn({ err: describeError(error) }, 'idle postgres connection failed'));

  let ready: Promise<ValueEncoding> | undefined;
  const prepare = (): Promise<ValueEncoding> => {
    ready ??= withClient(pool, (client) => ensureTable(client, name, config, table, { keyCol, valueCol, seqCol, deletedCol })).catch(
      (error: unknown) => {
        ready = undefined;
        throw error;
      },
    );
    return ready;
  };

  const upsert = async (rows: Row[]): Promise<void> => {
    const encoding = await prepare();
    const latest = latestPerKey(rows);
    // Binary arrays (postgres-arrays.ts). A value for a text, json or jsonb column travels as text,
    // decoded as before (invalid UTF-8 becomes U+FFFD rather than failing the chunk).
    const values = encoding === 'bytea' ? bytesArray(latest.map((r) => r.value)) : textArray(latest.map((r) => (r.value === null ? null : r.value.toString('utf8'))));
    const valueType = encoding === 'bytea' ? 'bytea[]' : encoding === 'text' ? 'text[]' : `text[]::${encoding}[]`;
    await pool.query(
      `INSERT INTO ${table} AS t (${keyCol}, ${valueCol}, ${seqCol}, ${deletedCol})
       SELECT * FROM unnest($1::text[], $2::${valueType}, $3::bigint[], $4::boolean[])
       ON CONFLICT (${keyCol}) DO UPDATE
         SET ${valueCol} = EXCLUDED.${valueCol}, ${seqCol} = EXCLUDED.${seqCol}, ${deletedCol} = EXCLUDED.${deletedCol}
         WHERE t.${seqCol} < EXCLUDED.${seqCol}`,
      [textArray(latest.map((r) => r.key)), values, int8Array(latest.map((r) => r.sequence)), boolArray(latest.map((r) => r.deleted))],
    );
  };

  const classify = (error: unknown): DeliveryResult => {
    if ((error as { code?: string }).code === '42P01') ready = undefined; // table dropped under us: recreate next time
    return classifyPostgresError(error);
  };

  return {
    name,
    async deliver(batch: Delivery[]): Promise<DeliveryResult[]> {
      const rows = batch.map((d): Row => ({ key: d.id, value: d.payload, sequence: 0, deleted: false }));
      return sendIsolatingFailures(rows, upsert, classify);
    },
    async applyMutations(chunk: MutationDelivery): Promise<DeliveryResult> {
      try {
        await upsert(chunk.mutations.map(toRow));
        return OK;
      } catch (error) {
        return classify(error);
      }
    },
    async close(): Promise<void> {
      await pool.end();
    },
  };
}

function toRow(m: TargetMutation): Row {
  const deleted = m.op === 'DELETE';
  return { key: m.key, value: deleted ? null : m.value, sequence: m.sequence, deleted };
}

/** ON CONFLICT cannot touch one row twice in a statement, so a chunk keeps each key's newest mutation. */
function latestPerKey(rows: Row[]): Row[] {
  const byKey = new Map<string, Row>();
  for (const row of rows) {
    const seen = byKey.get(row.key);
    if (!seen || row.sequence >= seen.sequence) byKey.set(row.key, row);
  }
  return [...byKey.values()];
}

async function withClient<T>(pool: Pool, fn: (client: PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    return await fn(client);
  } finally {
    client.release();
  }
}

async function ensureTable(
  client: PoolClient,
  name: string,
  config: PostgresTargetConfig,
  table: string,
  cols: { keyCol: string; valueCol: string; seqCol: string; deletedCol: string },
): Promise<ValueEncoding> {
  try {
    await client.query(
      `CREATE TABLE IF NOT EXISTS ${table} (${cols.keyCol} text PRIMARY KEY, ${cols.valueCol} bytea, ` +
        `${cols.seqCol} bigint NOT NULL, ${cols.deletedCol} boolean NOT NULL DEFAULT false)`,
    );
  } catch (error) {
    // Two targets creating the same table at once (the appliers of several tasks starting together):
    // the loser sees a duplicate table, row type (42710, "type … already exists") or catalog key; the
    // table is there. Before 42710 was on this list, the loser's chunk went to the DLQ as permanent.
    if (!['42P07', '42710', '23505'].includes((error as { code?: string }).code ?? '')) throw error;
  }
  await client.query(`ALTER TABLE ${table} ADD COLUMN IF NOT EXISTS ${cols.deletedCol} boolean NOT NULL DEFAULT false`);
  const { rows } = await client.query<{ attname: string; type: string }>(
    `SELECT attname, format_type(atttypid, atttypmod) AS type FROM pg_attribute
     WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped`,
    [table],
  );
  const types = new Map(rows.map((r) => [r.attname, r.type]));
  for (const column of [config.keyColumn, config.valueColumn, config.sequenceColumn]) {
    if (!types.has(column)) throw new TargetConfigError(`target "${name}": table ${config.table} has no column "${column}"`);
  }
  const valueType = types.get(config.valueColumn) ?? '';
  if (valueType === 'bytea' || valueType === 'jsonb' || valueType === 'json') return valueType;
  if (valueType === 'text' || valueType.startsWith('character varying')) return 'text';
  throw new TargetConfigError(
    `target "${name}": value column "${config.valueColumn}" is ${valueType}; expected bytea, jsonb, json or text`,
  );
}

function qualifiedName(name: string, table: string): string {
  const parts = table.split('.');
  if (!table || parts.length > 2 || parts.some((p) => p.length === 0)) {
    throw new TargetConfigError(`target "${name}": postgres table ${JSON.stringify(table)} must be "table" or "schema.table"`);
  }
  return parts.map(escapeIdentifier).join('.');
}

/** SQLSTATE classes where the same statement can succeed later. */
const RETRIABLE_SQLSTATE = [/^08/, /^40/, /^53/, /^57P0[1-4]$/, /^57014$/, /^55P03$/, /^58/, /^42P01$/];
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);

/**
 * Connection loss, server shutdown, serialization failures, deadlocks, lock and statement timeouts
 * are retriable; constraint, type and syntax errors (classes 22, 23, 42) will fail the same way
 * again. Errors from the driver itself without a code (terminated connection, connect timeout) are
 * network trouble and retriable.
 */
export function classifyPostgresError(error: unknown): DeliveryResult {
  const reason = describeError(error);
  if (error instanceof TargetError) return failed(error.retriable, reason);
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && NETWORK_CODES.has(code)) return failed(true, `${code}: ${reason}`);
  if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) {
    return failed(RETRIABLE_SQLSTATE.some((re) => re.test(code)), `SQLSTATE ${code}: ${reason}`);
  }
  return failed(true, reason);
}
