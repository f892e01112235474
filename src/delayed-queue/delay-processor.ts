import type { ClusterConfig, NamespaceConfig } from '../namespaces/types';
import type { Processor, ProcessorContext, WalRecord } from '../engine/api';
import { AvroCodec, createAvroCodec, registryOf, decodeIntakeRecord, SerdeError, WriteToLogRequest, type WithIntake } from '../wire';
import type { Delivery, DeliveryResult, Target } from '../targets';
import { Dispatcher } from './dispatcher';
import { deadLetterHeaders, DeadLetterKind } from '../wire/dlq';
import { backoffDelay } from './backoff';
import { ControlCommand } from './control';
import { deadLetters, delivered, fireLateness, pendingTimers, retries } from './metrics';
import { TimerEntry, TimerStore } from './timer-store';

export const TIMER_STORE = 'timers';
export const DLQ_SINK = 'dlq';

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
  // Per task: a task's targets and schema cache open and close with its partition.
  private codec!: AvroCodec;
  private dispatcher!: Dispatcher;
  private readonly incoming: { readonly record: WalRecord; readonly request: WriteToLogRequest }[] = [];
  private readonly ready: Ready[] = [];
  private readonly batchSize: number;
  private readonly random: () => number;

  constructor(private readonly options: DelayProcessorOptions) {
    this.batchSize = options.batchSize ?? 500;
    this.random = options.random ?? Math.random;
  }

  async init(context: ProcessorContext): Promise<void> {
    this.context = context;
    this.timers = new TimerStore(context.getStore(TIMER_STORE));
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
      this.deadLetter(sourceEntry(record, `offset-${record.partition}-${record.offset}`, this.context.now()), 'poison', describe(error));
      return;
    }

    // Admitted a batch at a time: one read of the timer index for the whole batch, not one per record.
    this.incoming.push({ record, request: intake.request });
    if (this.incoming.length >= this.batchSize) await this.admitIncoming();
  }

  /**
   * Decoded intake records join the queue: already due ones go to delivery, the rest to the timer
   * store. An id already pending (or scheduled earlier in this batch) keeps its one timer.
   */
  private async admitIncoming(): Promise<void> {
    if (this.incoming.length === 0) return;
    const batch = this.incoming.splice(0, this.incoming.length);
    const pending = await this.timers.pendingAmong(batch.map((b) => b.request.id));
    const paused = await this.timers.getFlag('paused');
    const now = this.context.now();
    let scheduled = false;
    for (const { record, request } of batch) {
      if (pending.has(request.id)) continue;
      const entry = sourceEntry(record, request.id, dueTime(request, this.options.namespace));
      if (entry.dueAt <= now && !paused) {
        this.ready.push({ entry, request, fromStore: false });
        continue;
      }
      await this.timers.scheduleAbsent(entry);
      pending.add(request.id);
      scheduled = true;
    }
    if (scheduled) await this.reportPending();
    if (this.ready.length >= this.batchSize) await this.deliverReady();
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
      const target = this.dispatcher.targetFor(item.request.target);
      if (!target) {
        await this.fail(item.entry, item.fromStore, 'unrouted', { ok: false, retriable: false, reason: `request names no target and namespace "${this.options.namespace.name}" has no defaultTarget` });
        continue;
      }
      byTarget.set(target, [...(byTarget.get(target) ?? []), item]);
    }
    await Promise.all(
      [...byTarget].map(async ([target, items]) => {
        const results = await this.dispatcher.deliver(target, items.map((i) => toDelivery(i)));
        const now = this.context.now();
        for (let i = 0; i < items.length; i += 1) {
          const item = items[i];
          const result = results[i] ?? { ok: false, retriable: true, reason: 'target gave no result' };
          if (result.ok) {
            if (item.fromStore) await this.timers.remove(item.entry.id);
            delivered.inc({ namespace: this.options.namespace.name, target });
            fireLateness.observe({ namespace: this.options.namespace.name }, Math.max(0, now - item.entry.dueAt) / 1000);
          } else {
            await this.fail(item.entry, item.fromStore, target, result);
          }
        }
      }),
    );
  }

  /** The fan-out owns a due multi-key request from here; it commits with this task like any output. */
  private async handOverMutations(item: Ready): Promise<void> {
    const child = this.options.mutationsChild;
    if (!child) {
      if (item.fromStore) await this.timers.remove(item.entry.id);
      this.deadLetter(item.entry, 'permanent', `request carries ${item.request.mutations.length} mutations but namespace "${this.options.namespace.name}" runs no fan-out`);
      return;
    }
    if (item.fromStore) await this.timers.remove(item.entry.id);
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
      retries.inc({ namespace: ns.name, target });
      return;
    }
    if (fromStore) await this.timers.remove(entry.id);
    this.deadLetter(failed, result.retriable ? 'exhausted' : 'permanent', result.reason, target);
  }

  private deadLetter(entry: TimerEntry, kind: DeadLetterKind, reason: string, target?: string): void {
    const ns = this.options.namespace;
    deadLetters.inc({ namespace: ns.name, kind });
    if (!ns.dlq.enabled) return;
    const now = this.context.now();
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
        // A parked record decoded at last: re-key it under its request id.
        await this.timers.remove(entry.id);
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
        this.deadLetter(entry, 'poison', describe(error));
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
        this.deadLetter(sourceEntry(record, `offset-${record.partition}-${record.offset}`, this.context.now()), 'poison', `unknown control command "${String(command)}"`);
    }
  }

  private async reportPending(): Promise<void> {
    pendingTimers.set({ namespace: this.options.namespace.name, partition: String(this.context.partition) }, await this.timers.pendingCount());
  }
}

/** When a request is due: deliverAt wins; else writeTime + its delay (or the namespace default). */
export function dueTime(request: WriteToLogRequest, namespace: NamespaceConfig): number {
  const { writeTime, delayMs, deliverAt } = request.lifecycle;
  if (deliverAt !== null) return deliverAt;
  return writeTime + (delayMs ?? namespace.delay.defaultDelayMs);
}

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

function toDelivery({ entry, request }: Ready): Delivery {
  return {
    id: request.id,
    key: Buffer.from(request.id),
    payload: request.payload,
    headers: request.headers,
    contentType: request.contentType,
    attempt: entry.attempts + 1,
  };
}

function describe(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}
