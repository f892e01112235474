import type { Kafka } from 'kafkajs';
import type { NamespaceConfig } from '../namespaces/types';
import { dlqMarksTopic } from '../namespaces/topic-plan';
import { INTAKE_HEADERS, REDRIVE_HEADERS } from '../wire/headers';
import { originalHeaders } from '../wire/dlq';
import { readDeadLetters, type DeadLetter } from './dead-letters';
import { DlqRequestError, type DlqFilters } from './filters';
import { DlqLedger, type DlqMark, type PartitionBounds } from './ledger';
import { listSqsDeadLetters, purgeSqsDeadLetters, replaySqsDeadLetters, sqsDlqDepth, sqsDlqName } from './sqs-dead-letters';

export { DlqRequestError, parseDlqFilters, type DlqFilterInput, type DlqFilters } from './filters';

/**
 * What `wal dlq` and the HTTP admin routes do to a namespace's DLQ: list, replay, purge, depth. One
 * implementation for both; the callers only parse their input and print or serialize the answer.
 * A namespace on an SQS queue has an SQS DLQ: the same operations, on it (sqs-dead-letters.ts).
 */

function onSqs(namespace: NamespaceConfig): boolean {
  return namespace.queue?.type === 'sqs';
}

/** Where the namespace's dead letters are: its DLQ topic, or "SQS queue <name>". */
export function dlqName(namespace: NamespaceConfig): string {
  return onSqs(namespace) ? sqsDlqName(namespace) : namespace.topics.dlq;
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
  // SQS keeps no marks: what was replayed or purged is gone, so `all` shows nothing more.
  if (onSqs(scope.namespace)) return listSqsDeadLetters(scope.namespace, filters, { limit: options.limit });
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
  /** Where they went: the intake topic, or "SQS queue <name>". */
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
  if (onSqs(scope.namespace)) return replayOnSqs(scope.namespace, filters, options);
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

/** An SQS namespace's replay: the same target check, then each selected dead letter back on the main queue. */
async function replayOnSqs(namespace: NamespaceConfig, filters: DlqFilters, options: ReplayOptions): Promise<ReplayResult> {
  if (options.toTarget !== undefined) checkTarget(namespace, options.toTarget, []);
  const { records, replayed, queue } = await replaySqsDeadLetters(namespace, filters, {
    toTarget: options.toTarget,
    dryRun: options.dryRun,
    check: (selected) => checkTarget(namespace, options.toTarget, selected),
    onSent: options.onSent,
  });
  return { records, replayed, intake: `SQS queue ${queue}` };
}

export interface PurgeResult {
  readonly records: LedgerDeadLetter[];
  /** Records marked purged (0 on a dry run). */
  readonly purged: number;
  /** Partitions whose marked prefix was deleted, with their new first offset (none on SQS: a purge deletes there). */
  readonly deleted: Array<{ partition: number; upTo: string }>;
}

/**
 * Marks the selected dead letters not yet replayed or purged as purged; then deletes each partition's
 * contiguous prefix of marked records, so an unselected record is never deleted.
 */
export async function purgeDeadLetters(scope: DlqScope, filters: DlqFilters, options: MarkContext & { dryRun?: boolean; onMarked?: (marked: number, total: number) => void }): Promise<PurgeResult> {
  if (onSqs(scope.namespace)) return { ...(await purgeSqsDeadLetters(scope.namespace, filters, { dryRun: options.dryRun, onDeleted: options.onMarked })), deleted: [] };
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
  /** The DLQ topic, or "SQS queue <name>". */
  readonly topic: string;
  /** Dead letters not yet replayed or purged (SQS: approximately, visible + in flight). */
  readonly depth: number;
  /** Kafka's partitions; none on SQS. */
  readonly partitions: Array<{ partition: number; low: string; high: string }>;
  /** SQS: of `depth`, those a reader holds hidden now (ApproximateNumberOfMessagesNotVisible). */
  readonly inFlight?: number;
}

function depthReport(namespace: NamespaceConfig, depth: number, bounds: readonly PartitionBounds[]): DlqDepth {
  return { namespace: namespace.name, topic: namespace.topics.dlq, depth, partitions: bounds.map((b) => ({ partition: b.partition, low: b.low.toString(), high: b.high.toString() })) };
}

/** The DLQ's depth now (one ledger read; see DlqLedger.depth). */
export async function dlqDepth(scope: DlqScope): Promise<DlqDepth> {
  if (onSqs(scope.namespace)) {
    const { queue, visible, inFlight } = await sqsDlqDepth(scope.namespace);
    return { namespace: scope.namespace.name, topic: `SQS queue ${queue}`, depth: visible + inFlight, partitions: [], inFlight };
  }
  return withLedger(scope, async (ledger) => {
    const { depth, bounds } = await ledger.depth();
    return depthReport(scope.namespace, depth, bounds);
  });
}
