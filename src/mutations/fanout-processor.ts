import type { ClusterConfig, NamespaceConfig } from '../namespaces/types';
import { rootLogger, type Logger } from '../observability/logger';
import type { OutputRecord, Processor, ProcessorContext, WalRecord } from '../engine/api';
import { createAvroCodec, registryOf, SerdeError, type AvroCodec, type WithIntake, type WriteToLogRequest } from '../wire';
import { deadLetterHeaders, replayTargetConflict, type DeadLetterKind } from '../wire/dlq';
import { planChunks, type PlannedChunk } from './chunking';
import { CHUNK_HEADERS, INTAKE_HEADERS } from '../wire/headers';
import { chunkCodecOf, type ChunkCodec } from './chunk-codec';
import { encodeTxnEvent, type TxnEvent } from './events';
import { dlqDisabled } from '../delayed-queue/metrics';
import { chunksDeadLettered, chunksWritten } from './metrics';
import { keyPartition } from './partitioner';
import { redriveOf, type RedriveRef } from './redrive';
import { FANOUT_DLQ_SINK, FANOUT_EVENTS_SINK, chunkSinkName } from './names';

export interface FanoutProcessorOptions {
  readonly namespace: NamespaceConfig;
  readonly clusters: Record<string, ClusterConfig>;
  /** Parent logger (default: the process root logger); lines carry component and namespace. */
  readonly logger?: Logger;
  /** Avro codec (default: one over the namespace cluster's registry). */
  readonly codec?: AvroCodec;
}

/** The fan-out could not encode or decode for a reason that passes (schema registry away). */
export class FanoutRetryError extends Error {
  readonly retriable = true;
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'FanoutRetryError';
  }
}

/**
 * Turns a request with mutations into chunks on the per-target topics, plus a "begin" event that
 * tells the transaction tracker how many chunks to expect. Chunks go out through the task's sinks,
 * so the intake offset is committed only after the broker acknowledged every chunk. A request that
 * cannot be decoded for a passing reason fails the task's flush: the task re-opens from its last
 * commit and reads the request again, instead of dead-lettering it.
 */
export class FanoutProcessor implements Processor<WithIntake<WalRecord>> {
  private context!: ProcessorContext;
  private chunks!: ChunkCodec;
  /** A request that could not be read for a passing reason, and where it is. */
  private failure: { readonly error: unknown; readonly topic: string; readonly offset: string } | undefined;
  private readonly logger: Logger;

  constructor(private readonly options: FanoutProcessorOptions) {
    this.logger = (options.logger ?? rootLogger()).child({ component: 'fanout', namespace: options.namespace.name });
  }

  init(context: ProcessorContext): void {
    this.context = context;
    const { namespace, clusters } = this.options;
    this.chunks = chunkCodecOf(this.options.codec ?? createAvroCodec(registryOf(clusters[namespace.cluster])));
  }

  async process(record: WithIntake<WalRecord>): Promise<void> {
    if (this.failure !== undefined) return; // the task fails at flush and reads this record again
    const ns = this.options.namespace;
    const { intake } = record;
    let request: WriteToLogRequest;
    let redrive: RedriveRef | undefined;
    try {
      // Read once by the source's decoder (or by the delay processor that forwarded it).
      if (intake.kind === 'undecodable') throw intake.error;
      if (intake.kind === 'control') throw new TypeError(`control command "${intake.command}" is for the delayed queue, not the fan-out`);
      request = intake.request;
      redrive = redriveOf(record.headers, request);
    } catch (error) {
      if (error instanceof SerdeError && error.retriable) {
        const message = `cannot decode intake record ${record.topic}[${record.partition}]@${record.offset}: ${error.message}`;
        this.failure = { error: new FanoutRetryError(message, { cause: error }), topic: record.topic, offset: record.offset };
        return;
      }
      this.deadLetter(record, 'poison', describe(error));
      return;
    }
    if (request.mutations.length === 0) {
      this.deadLetter(record, 'permanent', `request ${request.id} has no mutations: nothing to fan out`);
      return;
    }
    const conflict = replayTargetConflict(record.headers, request);
    if (conflict) {
      this.deadLetter(record, 'permanent', conflict);
      return;
    }

    const planned: PlannedChunk[] = redrive
      ? [{ target: redrive.target, partition: keyPartition(request.mutations[0].key, ns.partitions), chunkIndex: redrive.chunkIndex, chunkCount: redrive.chunkCount, mutations: request.mutations }]
      : [...planChunks(request.mutations, { ...ns.chunking, partitions: ns.partitions }).chunks];
    let encoded: Array<{ chunk: PlannedChunk; value: Buffer }>;
    try {
      encoded = await Promise.all(
        planned.map(async (chunk) => ({
          chunk,
          value: await this.chunks.encode(ns.topics.targets[chunk.target], {
            namespace: ns.name,
            txnId: request.id,
            target: chunk.target,
            chunkIndex: chunk.chunkIndex,
            chunkCount: chunk.chunkCount,
            writeTime: request.lifecycle.writeTime,
            mutations: [...chunk.mutations],
          }),
        })),
      );
    } catch (error) {
      if (error instanceof SerdeError && error.retriable) {
        this.failure = { error: new FanoutRetryError(`cannot encode the chunks of ${request.id}: ${error.message}`, { cause: error }), topic: record.topic, offset: record.offset };
        return;
      }
      this.deadLetter(record, 'permanent', `cannot encode the chunks of ${request.id}: ${describe(error)}`);
      return;
    }

    const now = this.context.now();
    for (const { chunk, value } of encoded) {
      this.context.forward(
        {
          key: Buffer.from(`${request.id}:${chunk.chunkIndex}`),
          value,
          partition: chunk.partition,
          timestamp: now,
          headers: { [CHUNK_HEADERS.txnId]: request.id, [CHUNK_HEADERS.chunkIndex]: String(chunk.chunkIndex), [CHUNK_HEADERS.chunkCount]: String(chunk.chunkCount) },
        },
        chunkSinkName(chunk.target),
      );
      chunksWritten.inc({ namespace: ns.name, target: chunk.target });
    }
    const event: TxnEvent = redrive
      ? { kind: 'redrive', txnId: request.id, target: redrive.target, chunkIndex: redrive.chunkIndex, chunkCount: redrive.chunkCount, at: now }
      : {
          kind: 'begin',
          txnId: request.id,
          chunkCount: planned.length,
          targets: countBy(planned, (c) => c.target),
          writeTime: request.lifecycle.writeTime,
          at: now,
        };
    this.context.forward(txnEventRecord(event, ns.partitions, now), FANOUT_EVENTS_SINK);
  }

  /** Fails the task's commit when a request could not be read for a passing reason (see the class comment). */
  flush(): void {
    if (this.failure === undefined) return;
    const { error, topic, offset } = this.failure;
    this.failure = undefined;
    this.logger.warn(
      { err: error, partition: this.context.partition, topic, offset },
      'fan-out could not read a request; the task re-reads it from its last commit',
    );
    throw error;
  }

  private deadLetter(record: WalRecord, kind: DeadLetterKind, reason: string): void {
    const ns = this.options.namespace;
    chunksDeadLettered.inc({ namespace: ns.name, target: '', kind });
    if (!ns.dlq.enabled) {
      // Nothing here can succeed later (unreadable, no mutations, chunks that cannot be encoded) and the
      // fan-out keeps no store: with the DLQ disabled the request is dropped, loudly, whatever onDisabled says.
      dlqDisabled.inc({ namespace: ns.name, action: 'dropped', backend: 'kafka' });
      this.logger.error({ topic: record.topic, partition: record.partition, offset: record.offset, kind, reason }, 'DLQ disabled: fan-out drops a request it can never split (still readable at its intake offset until the topic retention)');
      return;
    }
    this.logger.warn({ topic: record.topic, partition: record.partition, offset: record.offset, kind, reason }, 'fan-out dead-letters a request');
    const now = this.context.now();
    this.context.forward(
      {
        key: record.key,
        value: record.value,
        headers: deadLetterHeaders(
          { reason, kind, attempts: 0, firstFailureAt: now, lastFailureAt: now, source: { topic: record.topic, partition: record.partition, offset: record.offset }, id: record.headers[INTAKE_HEADERS.id] },
          record.headers,
        ),
      },
      FANOUT_DLQ_SINK,
    );
  }
}

/** A tracker event, keyed and partitioned by transaction id so that one tracker task sees all of them. */
export function txnEventRecord(event: TxnEvent, partitions: number, now: number): OutputRecord {
  return { key: Buffer.from(event.txnId), value: encodeTxnEvent(event), partition: keyPartition(event.txnId, partitions), timestamp: now, headers: {} };
}

function countBy<T>(items: readonly T[], key: (item: T) => string): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const item of items) counts[key(item)] = (counts[key(item)] ?? 0) + 1;
  return counts;
}

function describe(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}
