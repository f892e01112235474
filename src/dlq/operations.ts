import type { Kafka } from 'kafkajs';
import type { NamespaceConfig } from '../namespaces/types';
import { dlqMarksTopic } from '../namespaces/topic-plan';
import { INTAKE_HEADERS, REDRIVE_HEADERS } from '../wire/headers';
import { originalHeaders } from '../wire/dlq';
import { parseInstant, readDeadLetters, type DeadLetter, type DeadLetterQuery } from './dead-letters';
import { DlqLedger, type DlqMark, type PartitionBounds } from './ledger';

/**
 * What `wal dlq` and the HTTP admin routes do to a namespace's DLQ: list, replay, purge, depth. One
 * implementation for both; the callers only parse their input and print or serialize the answer.
 */

/** A request the DLQ operations refuse as given (bad filter, unknown target, DLQ disabled): a retry cannot help. */
export class DlqRequestError extends Error {
  readonly retriable = false;
  constructor(message: string) {
    super(message);
    this.name = 'DlqRequestError';
  }
}

/** Filters as a person types them (CLI flags, query string, JSON body): instants and the reason still text. */
export interface DlqFilterInput {
  readonly since?: string;
  readonly until?: string;
  readonly ids?: readonly string[];
  readonly kinds?: readonly string[];
  readonly targets?: readonly string[];
  readonly reason?: string;
}

export type DlqFilters = Omit<DeadLetterQuery, 'limit' | 'onProgress'>;

/** Parses and checks filters once, at the edge; throws DlqRequestError naming the bad one. */
export function parseDlqFilters(input: DlqFilterInput, now = Date.now()): DlqFilters {
  const instant = (name: string, text: string | undefined): number | undefined => {
    if (text === undefined) return undefined;
    try {
      return parseInstant(text, now);
    } catch (error) {
      throw new DlqRequestError(`${name}: ${(error as Error).message}`);
    }
  };
  let reason: RegExp | undefined;
  if (input.reason !== undefined) {
    try {
      reason = new RegExp(input.reason);
    } catch (error) {
      throw new DlqRequestError(`--reason "${input.reason}": not a regular expression (${(error as Error).message})`);
    }
  }
  const list = (values: readonly string[] | undefined) => (values && values.length > 0 ? values : undefined);
  return { since: instant('--since', input.since), until: instant('--until', input.until), ids: list(input.ids), kinds: list(input.kinds), targets: list(input.targets), reason };
}

/** A dead letter with its mark, when it was replayed or purged. */
export interface LedgerDeadLetter extends DeadLetter {
  readonly mark?: DlqMark;
}

/** The JSON form of a dead letter (`wal dlq list --json`, the HTTP API): the value as base64. */
export function deadLetterJson(record: LedgerDeadLetter): Record<string, unknown> {
  return { ...record, key: record.key?.toString() ?? null, value: record.value?.toString('base64') ?? null };
}

export interface DlqScope {
  readonly kafka: Kafka;
  readonly namespace: NamespaceConfig;
  /** Reading progress (records read, records to read). */
  readonly onProgress?: (read: number, total: number) => void;
}

/** Who acts and with which filters, written into each mark. */
export interface MarkContext {
  readonly by: string;
  readonly filter?: Readonly<Record<string, unknown>>;
}

function ledgerOf(namespace: NamespaceConfig, kafka: Kafka): DlqLedger {
  if (!namespace.dlq.enabled) throw new DlqRequestError(`namespace "${namespace.name}" has its DLQ disabled (dlq.enabled: false): there is nothing to list, replay or purge`);
  return new DlqLedger(kafka, namespace.topics.dlq, dlqMarksTopic(namespace.topics.dlq));
}

async function withLedger<T>(scope: DlqScope, work: (ledger: DlqLedger) => Promise<T>): Promise<T> {
  const ledger = ledgerOf(scope.namespace, scope.kafka);
  try {
    return await work(ledger);
  } finally {
    await ledger.close();
  }
}

/** Selected dead letters with their marks; the marked ones only with `all`. */
async function selectWithMarks(scope: DlqScope, ledger: DlqLedger, filters: DlqFilters, all: boolean): Promise<LedgerDeadLetter[]> {
  await ledger.refresh();
  const records = await readDeadLetters(scope.kafka, scope.namespace.topics.dlq, { ...filters, onProgress: scope.onProgress });
  return records.flatMap((record) => {
    const mark = ledger.markOf(record.partition, record.offset);
    if (mark && !all) return [];
    return [mark ? { ...record, mark } : record];
  });
}

/** Dead letters matching `filters`, oldest first; replayed and purged ones only with `all` (each with its mark). */
export async function listDeadLetters(scope: DlqScope, filters: DlqFilters, options: { all?: boolean; limit?: number } = {}): Promise<LedgerDeadLetter[]> {
  const records = await withLedger(scope, (ledger) => selectWithMarks(scope, ledger, filters, options.all ?? false));
  return options.limit === undefined ? records : records.slice(0, options.limit);
}

export interface ReplayOptions extends MarkContext {
  /** Deliver the replayed requests only to this target of the namespace, whatever they named. */
  readonly toTarget?: string;
  readonly dryRun?: boolean;
  /** Records sent so far, records to send. */
  readonly onSent?: (sent: number, total: number) => void;
}

export interface ReplayResult {
  readonly records: LedgerDeadLetter[];
  readonly intake: string;
  /** Records sent and marked replayed (0 on a dry run). */
  readonly replayed: number;
}

/** The headers a replayed record goes back to the intake with: its own, the target override set or cleared. */
export function replayHeaders(headers: Record<string, string>, toTarget: string | undefined): Record<string, string> {
  const replayed = originalHeaders(headers);
  // A dead letter of an earlier override carries it: a replay without --to-target goes back to the request's own choice.
  delete replayed[INTAKE_HEADERS.toTarget];
  if (toTarget !== undefined) replayed[INTAKE_HEADERS.toTarget] = toTarget;
  return replayed;
}

function checkTarget(namespace: NamespaceConfig, toTarget: string | undefined, records: readonly DeadLetter[]): void {
  if (toTarget === undefined) return;
  const known = Object.keys(namespace.targets);
  if (!known.includes(toTarget)) {
    throw new DlqRequestError(`namespace "${namespace.name}" has no target "${toTarget}"; its targets: ${known.join(', ') || '(none)'}`);
  }
  // A fan-out chunk holds mutations of its own target only: it cannot be re-driven to another one.
  const chunks = records.filter((r) => r.headers[REDRIVE_HEADERS.target] !== undefined && r.headers[REDRIVE_HEADERS.target] !== toTarget);
  if (chunks.length > 0) {
    const targets = [...new Set(chunks.map((r) => r.headers[REDRIVE_HEADERS.target]))].join(', ');
    throw new DlqRequestError(`${chunks.length} selected record(s) are fan-out chunks of target ${targets}, which only that target can apply; select them out (e.g. --target) or replay them without --to-target`);
  }
}

/**
 * Sends the selected dead letters not yet replayed or purged back to the intake (original key, value
 * and headers), then marks each batch replayed once every in-sync replica acknowledged it.
 */
export async function replayDeadLetters(scope: DlqScope, filters: DlqFilters, options: ReplayOptions): Promise<ReplayResult> {
  const intake = scope.namespace.topics.intake;
  return withLedger(scope, async (ledger) => {
    if (options.toTarget !== undefined) checkTarget(scope.namespace, options.toTarget, []);
    const records = await selectWithMarks(scope, ledger, filters, false);
    checkTarget(scope.namespace, options.toTarget, records);
    if (options.dryRun) return { records, intake, replayed: 0 };
    const mark: DlqMark = { action: 'replayed', at: new Date().toISOString(), by: options.by, filter: options.filter, ...(options.toTarget ? { toTarget: options.toTarget } : {}) };
    const producer = scope.kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    let replayed = 0;
    try {
      for (let i = 0; i < records.length; i += 500) {
        const batch = records.slice(i, i + 500);
        await producer.send({ topic: intake, acks: -1, messages: batch.map((r) => ({ key: r.key, value: r.value, headers: replayHeaders(r.headers, options.toTarget) })) });
        await ledger.mark(batch, { ...mark, at: new Date().toISOString() });
        replayed += batch.length;
        options.onSent?.(replayed, records.length);
      }
    } finally {
      await producer.disconnect();
    }
    return { records, intake, replayed };
  });
}

export interface PurgeResult {
  readonly records: LedgerDeadLetter[];
  /** Records marked purged (0 on a dry run). */
  readonly purged: number;
  /** Partitions whose marked prefix was deleted, with their new first offset. */
  readonly deleted: Array<{ partition: number; upTo: string }>;
}

/**
 * Marks the selected dead letters not yet replayed or purged as purged; then deletes each partition's
 * contiguous prefix of marked records, so an unselected record is never deleted.
 */
export async function purgeDeadLetters(scope: DlqScope, filters: DlqFilters, options: MarkContext & { dryRun?: boolean; onMarked?: (marked: number, total: number) => void }): Promise<PurgeResult> {
  return withLedger(scope, async (ledger) => {
    const records = await selectWithMarks(scope, ledger, filters, false);
    if (options.dryRun) return { records, purged: 0, deleted: [] };
    let purged = 0;
    for (let i = 0; i < records.length; i += 1000) {
      const batch = records.slice(i, i + 1000);
      await ledger.mark(batch, { action: 'purged', at: new Date().toISOString(), by: options.by, filter: options.filter });
      purged += batch.length;
      options.onMarked?.(purged, records.length);
    }
    const deleted = await ledger.deleteMarkedPrefix();
    return { records, purged, deleted };
  });
}

export interface DlqDepth {
  readonly namespace: string;
  readonly topic: string;
  /** Dead letters not yet replayed or purged. */
  readonly depth: number;
  readonly partitions: Array<{ partition: number; low: string; high: string }>;
}

function depthReport(namespace: NamespaceConfig, depth: number, bounds: readonly PartitionBounds[]): DlqDepth {
  return { namespace: namespace.name, topic: namespace.topics.dlq, depth, partitions: bounds.map((b) => ({ partition: b.partition, low: b.low.toString(), high: b.high.toString() })) };
}

/** The DLQ's depth now (one ledger read; see DlqLedger.depth). */
export async function dlqDepth(scope: DlqScope): Promise<DlqDepth> {
  return withLedger(scope, async (ledger) => {
    const { depth, bounds } = await ledger.depth();
    return depthReport(scope.namespace, depth, bounds);
  });
}
