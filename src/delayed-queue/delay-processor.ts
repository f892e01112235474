import type { ClusterConfig, NamespaceConfig } from '../namespaces/types';
import type { Processor, ProcessorContext, WalRecord } from '../engine/api';
import { AvroCodec, createAvroCodec, registryOf, decodeIntakeRecord, dueTime, SerdeError, WriteToLogRequest, type WithIntake } from '../wire';
import { kafkaTargetHeaders, OK, type Delivery, type DeliveryResult, type Target } from '../targets';
import { Dispatcher } from './dispatcher';
import { deadLetterHeaders, DeadLetterKind, replayTargetConflict, replayTargetOf } from '../wire/dlq';
import { backoffDelay } from './backoff';
import { ControlCommand } from './control';
import { IdempotencyWindow } from './idempotency-window';
import { deadLetters, delivered, dlqDisabled, fireLateness, intakeDuplicates, pendingTimers, retries } from './metrics';
import { rootLogger, type Logger } from '../observability/logger';
import { TimerEntry, TimerStore } from './timer-store';
import { REDRIVE_HEADERS } from '../wire/headers';

export const TIMER_STORE = 'timers';
export const DLQ_SINK = 'dlq';
/** Ids delivered within the namespace's idempotency window. */
export const IDS_STORE = 'ids';
/** The sink of a target whose deliveries are made inside the task's transaction (one per target, its topic fixed). */
export function transactionalSinkName(target: string): string {
  return `kafka-target-${target}`;
}

/**
 * Targets whose deliveries go out in the task's own transaction: with `exactly-once`, the Kafka
 * targets on the namespace's cluster. Every other target stays at-least-once (idempotency keys).
 */
export function transactionalKafkaTargets(namespace: NamespaceConfig): Set<string> {
  if (namespace.processingGuarantee !== 'exactly-once') return new Set();
  return new Set(Object.entries(namespace.targets).flatMap(([name, t]) => (t.type === 'kafka' && t.cluster === namespace.cluster ? [name] : [])));
}

/** An intake record as the delay processor receives it: read once by the source's decoder. */
export type IntakeRecord = WithIntake<WalRecord>;

export interface DelayProcessorOptions {
  readonly namespace: NamespaceConfig;
  /** Every cluster of the config: Kafka targets may live on another cluster than the namespace. */
  readonly clusters: Record<string, ClusterConfig>;
  /** Records handed to a target at once (and due timers read per scan). */
  readonly batchSize?: number;
  /**
   * Child node that due requests carrying `mutations` are forwarded to (the fan-out): the intake
   * record's bytes with the request already read (an `IntakeRecord`). Without one, such requests are dead-lettered: this topology cannot apply them.
   */
  readonly mutationsChild?: string;
  readonly random?: () => number;
  /** Avro codec that reads requests back from the timer store (default: one over the namespace cluster's registry). */
  readonly codec?: AvroCodec;
  /** How targets are made (default: createTarget from the namespace's target config). */
  readonly targetFactory?: (name: string) => Target;
}

/** A record ready for delivery, from the intake (already due) or from the timer store. */
interface Ready {
  readonly entry: TimerEntry;
  readonly request: WriteToLogRequest;
  readonly fromStore: boolean;
}

/**
 * The delayed queue: holds intake records in the timer store until they are due, hands due ones to
 * the dispatcher in batches, reschedules retriable failures with backoff + jitter and dead-letters
 * the rest. Records already due skip the store and are delivered before their offset is committed
 * (`flush`), so nothing is acknowledged before its target answered.
 */
export class DelayProcessor implements Processor<IntakeRecord> {
  private context!: ProcessorContext;
  private timers!: TimerStore;
  private window!: IdempotencyWindow;
  // Per task: a task's targets and schema cache open and close with its partition.
  private codec!: AvroCodec;
  private dispatcher!: Dispatcher;
  private readonly incoming: { readonly record: WalRecord; readonly request: WriteToLogRequest }[] = [];
  private readonly ready: Ready[] = [];
  private readonly batchSize: number;
  private readonly inTransaction: ReadonlySet<string>;
  private readonly logger: Logger;
  private readonly random: () => number;

  constructor(private readonly options: DelayProcessorOptions) {
    this.batchSize = options.batchSize ?? 500;
    this.inTransaction = transactionalKafkaTargets(options.namespace);
    this.logger = rootLogger().child({ component: 'delayed-queue', namespace: options.namespace.name });
    this.random = options.random ?? Math.random;
  }

  async init(context: ProcessorContext): Promise<void> {
    this.context = context;
    this.timers = new TimerStore(context.getStore(TIMER_STORE));
    this.window = new IdempotencyWindow(context.getStore(IDS_STORE), this.options.namespace.idempotency.windowMs);
    const { namespace, clusters } = this.options;
    this.codec = this.options.codec ?? createAvroCodec(registryOf(clusters[namespace.cluster]));
    this.dispatcher = new Dispatcher(namespace, clusters, this.options.targetFactory);
    await this.reportPending();
    context.schedule(this.options.namespace.runtime.punctuationIntervalMs, (now) => this.punctuate(now));
  }

  async process(record: IntakeRecord): Promise<void> {
    const { intake } = record;
    if (intake.kind === 'control') {
      await this.admitIncoming(); // a cancel or pause acts after the records written before it
      return this.control(intake.command as ControlCommand, record);
    }
    if (intake.kind === 'undecodable') {
      const { error } = intake;
      if (error instanceof SerdeError && error.retriable) {
        // The registry is away: park the raw record and decode it again later, in order with retries.
        await this.parkUndecodable(record, error.message);
        return;
      }
      await this.deadLetter(sourceEntry(record, `offset-${record.partition}-${record.offset}`, this.context.now()), 'poison', describe(error));
      return;
    }

    // Admitted a batch at a time: one read of the timer index for the whole batch, not one per record.
    this.incoming.push({ record, request: intake.request });
    if (this.incoming.length >= this.batchSize) await this.admitIncoming();
  }

  /**
   * Decoded intake records join the queue: already due ones go to delivery, the rest to the timer
   * store. A duplicate is dropped: an id pending (in the timer store, or due and not yet handed to its
   * target) or delivered within the idempotency window. Ids are remembered once delivered, so one
   * that ended in the DLQ or was cancelled is new again (its replay goes through).
   */
  private async admitIncoming(): Promise<void> {
    if (this.incoming.length === 0) return;
    const batch = this.incoming.splice(0, this.incoming.length);
    const now = this.context.now();
    const known = await this.knownAmong(batch.map((b) => b.request.id));
    const paused = await this.timers.getFlag('paused');
    let scheduled = false;
    for (const { record, request } of batch) {
      if (this.isDuplicate(request.id, record.headers, known)) continue;
      known.pending.add(request.id);
      const entry = sourceEntry(record, request.id, dueTime(request, this.options.namespace));
      if (entry.dueAt <= now && !paused) {
        this.ready.push({ entry, request, fromStore: false });
        continue;
      }
      await this.timers.scheduleAbsent(entry);
      scheduled = true;
    }
    if (scheduled) await this.reportPending();
    if (this.ready.length >= this.batchSize) await this.deliverReady();
  }

  /** Which of `ids` are pending (in the timer store, or due and not yet handed over) or delivered within the window, in one read each. */
  private async knownAmong(ids: readonly string[]): Promise<{ pending: Set<string>; delivered: Set<string> }> {
    const pending = await this.timers.pendingAmong(ids);
    for (const item of this.ready) pending.add(item.request.id);
    return { pending, delivered: await this.window.seenAmong(ids, this.context.now()) };
  }

  /**
   * True (and counted) when `id` is a duplicate write. A fan-out re-drive re-sends a transaction
   * already delivered: only a pending copy stops it.
   */
  private isDuplicate(id: string, headers: Record<string, string>, known: { pending: Set<string>; delivered: Set<string> }): boolean {
    if (!known.pending.has(id) && (isRedrive(headers) || !known.delivered.has(id))) return false;
    intakeDuplicates.inc({ namespace: this.options.namespace.name, backend: 'kafka' });
    return true;
  }

  /** A request handed to its target (or to the fan-out) is remembered for the idempotency window. */
  private async remember(entry: TimerEntry): Promise<void> {
    if (!isRedrive(entry.headers)) await this.window.remember(entry.id, this.context.now());
  }

  /** Called by the engine before it commits: every record taken from the intake is delivered or stored. */
  async flush(): Promise<void> {
    await this.admitIncoming();
    await this.deliverReady();
    await this.timers.flush();
  }

  async close(): Promise<void> {
    this.incoming.length = 0;
    this.ready.length = 0;
    await this.dispatcher?.close();
  }

  private async punctuate(now: number): Promise<void> {
    await this.admitIncoming();
    await this.deliverReady();
    await this.window.sweep(now, this.batchSize);
    if (await this.timers.getFlag('paused')) return;
    // Bounded work per punctuation so commits and rebalances are not held up by a large backlog.
    for (let round = 0; round < 20; round += 1) {
      const due = await this.timers.due(now, this.batchSize);
      if (due.length === 0) break;
      for (const entry of due) {
        const request = await this.decodeStored(entry);
        if (request) this.ready.push({ entry, request, fromStore: true });
      }
      await this.deliverReady();
      if (due.length < this.batchSize) break;
    }
    await this.reportPending();
  }

  private async deliverReady(): Promise<void> {
    if (this.ready.length === 0) return;
    const batch = this.ready.splice(0, this.ready.length);
    const byTarget = new Map<string, Ready[]>();
    for (const item of batch) {
      if (item.request.mutations.length > 0) {
        await this.handOverMutations(item);
        continue;
      }
      const target = this.dispatcher.targetFor(replayTargetOf(item.entry.headers) ?? item.request.target);
      if (!target) {
        await this.fail(item.entry, item.fromStore, 'unrouted', { ok: false, retriable: false, reason: `request names no target and namespace "${this.options.namespace.name}" has no defaultTarget` });
        continue;
      }
      const items = byTarget.get(target);
      if (items) items.push(item);
      else byTarget.set(target, [item]);
    }
    await Promise.all(
      [...byTarget].map(async ([target, items]) => {
        const results = this.inTransaction.has(target) ? this.sendInTransaction(target, items) : await this.dispatcher.deliver(target, items.map((i) => toDelivery(i)));
        const now = this.context.now();
        // Label lookups once per batch: prom-client hashes the label object on every call.
        const deliveredHere = delivered.labels({ namespace: this.options.namespace.name, target, backend: 'kafka' });
        const lateness = fireLateness.labels({ namespace: this.options.namespace.name, backend: 'kafka' });
        let deliveredCount = 0;
        for (let i = 0; i < items.length; i += 1) {
          const item = items[i];
          const result = results[i] ?? { ok: false, retriable: true, reason: 'target gave no result' };
          if (result.ok) {
            if (item.fromStore) await this.timers.remove(item.entry.id);
            await this.remember(item.entry);
            deliveredCount += 1;
            lateness.observe(Math.max(0, now - item.entry.dueAt) / 1000);
          } else {
            await this.fail(item.entry, item.fromStore, target, result);
          }
        }
        if (deliveredCount > 0) deliveredHere.inc(deliveredCount);
      }),
    );
  }

  /**
   * Exactly-once to a Kafka target on the namespace's own cluster: the delivery is a sink record of
   * the task, so it commits in one transaction with the timer store's changelog and the intake
   * offset (a read_committed consumer sees it once). A failed send fails the task, which re-reads
   * from its last commit: nothing to retry here.
   */
  private sendInTransaction(target: string, items: readonly Ready[]): DeliveryResult[] {
    for (const item of items) {
      const delivery = toDelivery(item);
      this.context.forward({ key: delivery.key, value: delivery.payload, headers: kafkaTargetHeaders(delivery) }, transactionalSinkName(target));
    }
    return items.map(() => OK);
  }

  /** The fan-out owns a due multi-key request from here; it commits with this task like any output. */
  private async handOverMutations(item: Ready): Promise<void> {
    const child = this.options.mutationsChild;
    if (!child) {
      if (item.fromStore) await this.timers.remove(item.entry.id);
      await this.deadLetter(item.entry, 'permanent', `request carries ${item.request.mutations.length} mutations but namespace "${this.options.namespace.name}" runs no fan-out`);
      return;
    }
    if (item.fromStore) await this.timers.remove(item.entry.id);
    // Refused before it is remembered: a dead-lettered id stays new to the idempotency window.
    const conflict = replayTargetConflict(item.entry.headers, item.request);
    if (conflict) {
      await this.deadLetter(item.entry, 'permanent', conflict, replayTargetOf(item.entry.headers));
      return;
    }
    await this.remember(item.entry);
    this.context.forward({ key: item.entry.key, value: item.entry.value, headers: item.entry.headers, intake: { kind: 'request', request: item.request } }, child);
  }

  /** A failed try: back off and retry while retries remain and it may help, else dead-letter. */
  private async fail(entry: TimerEntry, fromStore: boolean, target: string, result: Extract<DeliveryResult, { ok: false }>): Promise<void> {
    const now = this.context.now();
    const attempts = entry.attempts + 1;
    const failed: TimerEntry = {
      ...entry,
      attempts,
      firstFailureAt: entry.firstFailureAt ?? now,
      lastFailureAt: now,
      lastError: result.reason,
    };
    const ns = this.options.namespace;
    if (result.retriable && attempts <= ns.maxRetries) {
      await this.timers.schedule({ ...failed, dueAt: now + backoffDelay(attempts, ns.backoff, this.random) }, { replace: true });
      retries.inc({ namespace: ns.name, target, backend: 'kafka' });
      return;
    }
    if (fromStore) await this.timers.remove(entry.id);
    await this.deadLetter(failed, result.retriable ? 'exhausted' : 'permanent', result.reason, target);
  }

  /** Dead-letters a request; with the DLQ disabled it stays in the queue instead, unless `onDisabled: drop`. */
  private async deadLetter(entry: TimerEntry, kind: DeadLetterKind, reason: string, target?: string): Promise<void> {
    const ns = this.options.namespace;
    const now = this.context.now();
    if (!ns.dlq.enabled) {
      if (ns.dlq.onDisabled === 'drop') {
        dlqDisabled.inc({ namespace: ns.name, action: 'dropped', backend: 'kafka' });
        this.logger.warn({ id: entry.id, kind, reason, source: entry.source }, 'DLQ disabled (onDisabled: drop): record dropped');
        return;
      }
      // Never a silent loss: back to the timer store, tried again at the longest backoff, a pending timer in the metrics.
      await this.timers.schedule({ ...entry, dueAt: now + ns.backoff.maxMs, firstFailureAt: entry.firstFailureAt ?? now, lastFailureAt: now, lastError: reason }, { replace: true });
      dlqDisabled.inc({ namespace: ns.name, action: 'retained', backend: 'kafka' });
      return;
    }
    deadLetters.inc({ namespace: ns.name, kind, backend: 'kafka' });
    this.context.forward(
      {
        key: entry.key,
        value: entry.value,
        headers: deadLetterHeaders(
          {
            reason,
            kind,
            attempts: entry.attempts,
            firstFailureAt: entry.firstFailureAt ?? now,
            lastFailureAt: entry.lastFailureAt ?? now,
            source: entry.source,
            target,
            id: entry.id,
          },
          entry.headers,
        ),
      },
      DLQ_SINK,
    );
  }

  private async parkUndecodable(record: WalRecord, reason: string): Promise<void> {
    const now = this.context.now();
    const entry = sourceEntry(record, `offset-${record.partition}-${record.offset}`, now + backoffDelay(1, this.options.namespace.backoff, this.random));
    await this.timers.schedule({ ...entry, attempts: 1, firstFailureAt: now, lastFailureAt: now, lastError: reason });
  }

  /** A stored record decoded again; undecodable ones are retried while the registry is away, else dead-lettered. */
  private async decodeStored(entry: TimerEntry): Promise<WriteToLogRequest | undefined> {
    try {
      const request = await decodeIntakeRecord(this.codec, entry.value, this.options.namespace);
      if (request.id !== entry.id && entry.id.startsWith('offset-')) {
        // A parked record decoded at last: re-key it under its request id, unless that id was written
        // again meanwhile (pending, or delivered within the window): then this copy is the duplicate.
        await this.timers.remove(entry.id);
        if (this.isDuplicate(request.id, entry.headers, await this.knownAmong([request.id]))) return undefined;
        const rekeyed = { ...entry, id: request.id, dueAt: dueTime(request, this.options.namespace) };
        if (rekeyed.dueAt > this.context.now()) {
          await this.timers.schedule(rekeyed);
          return undefined;
        }
        this.ready.push({ entry: rekeyed, request, fromStore: false });
        return undefined;
      }
      return request;
    } catch (error) {
      if (error instanceof SerdeError && error.retriable) {
        await this.fail(entry, true, 'registry', { ok: false, retriable: true, reason: error.message });
      } else {
        await this.timers.remove(entry.id);
        await this.deadLetter(entry, 'poison', describe(error));
      }
      return undefined;
    }
  }

  private async control(command: ControlCommand, record: WalRecord): Promise<void> {
    switch (command) {
      case 'pause':
        await this.timers.setFlag('paused', true);
        return;
      case 'resume':
        await this.timers.setFlag('paused', false);
        return;
      case 'cancel': {
        const id = record.key?.toString();
        if (id) await this.timers.remove(id);
        await this.reportPending();
        return;
      }
      default:
        await this.deadLetter(sourceEntry(record, `offset-${record.partition}-${record.offset}`, this.context.now()), 'poison', `unknown control command "${String(command)}"`);
    }
  }

  private async reportPending(): Promise<void> {
    pendingTimers.set({ namespace: this.options.namespace.name, partition: String(this.context.partition) }, await this.timers.pendingCount());
  }
}

/** When a request is due (shared with the SQS backend, so it lives with the request's wire shape). */
export { dueTime };

function sourceEntry(record: WalRecord, id: string, dueAt: number): TimerEntry {
  return {
    id,
    dueAt,
    attempts: 0,
    source: { topic: record.topic, partition: record.partition, offset: record.offset },
    key: record.key,
    value: record.value ?? Buffer.alloc(0),
    headers: record.headers,
  };
}

/** A fan-out re-drive re-sends a transaction's chunk under the transaction's id: never a duplicate write. */
function isRedrive(headers: Record<string, string>): boolean {
  return headers[REDRIVE_HEADERS.target] !== undefined;
}

function toDelivery({ entry, request }: Ready): Delivery {
  return {
    id: request.id,
    key: Buffer.from(request.id),
    payload: request.payload,
    headers: request.headers,
    contentType: request.contentType,
    attempt: entry.attempts + 1,
    writeTime: request.lifecycle.writeTime,
  };
}

function describe(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}
