import { SendMessageBatchCommand, type MessageAttributeValue, type SendMessageBatchRequestEntry, type SQSClient } from '@aws-sdk/client-sqs';
import type { NamespaceConfig, SqsQueueConfig } from '../namespaces/types';
import type { QueueIntake, SendOutcome } from '../queues/intake';
import { SQS_ATTRIBUTES } from '../wire/headers';
import { dueTime, type WriteToLogRequest } from '../wire/intake';
import { encodeSqsBody } from '../wire/sqs-envelope';
import { createSqsClient, describeSqsError, queueNameOf, queueUrlResolver } from './client';

/** Errors that mean no request reached SQS: nothing was written. */
const NOT_SENT_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);

/** The attributes every waiting request carries: id, namespace, due time (SQS allows 10). */
export function requestAttributes(request: WriteToLogRequest, namespace: NamespaceConfig, dueAt: number): Record<string, MessageAttributeValue> {
  return {
    [SQS_ATTRIBUTES.id]: { DataType: 'String', StringValue: request.id },
    [SQS_ATTRIBUTES.namespace]: { DataType: 'String', StringValue: namespace.name },
    [SQS_ATTRIBUTES.dueAt]: { DataType: 'Number', StringValue: String(dueAt) },
  };
}

/** SQS DelaySeconds for a request due at `dueAt`: whole seconds rounded up (never early), at most `max`. */
export function delaySecondsUntil(dueAt: number, now: number, max: number): number {
  return Math.max(0, Math.min(max, Math.ceil((dueAt - now) / 1000)));
}

export interface SqsIntakeOptions {
  readonly now?: () => number;
  /** How an SQS client is made for a namespace's queue (default createSqsClient). */
  readonly clientFactory?: (queue: SqsQueueConfig) => SQSClient;
  /** SendMessageBatch requests in flight per namespace (default 8). */
  readonly maxInFlight?: number;
}

/** SQS: 10 entries a batch, 256 KiB a batch (AWS now takes 1 MiB; ElasticMQ and older queues 256 KiB). */
const MAX_BATCH_ENTRIES = 10;
const MAX_BATCH_BYTES = 250 * 1024;

interface Pending {
  readonly entry: SendMessageBatchRequestEntry;
  readonly bytes: number;
  state: 'queued' | 'sent' | 'done';
  timer?: NodeJS.Timeout;
  resolve(outcome: SendOutcome): void;
}

/** Per namespace: its client, queue URL and the appends waiting for a batch. */
interface Lane {
  readonly client: SQSClient;
  readonly url: (signal?: AbortSignal) => Promise<string>;
  readonly queue: SqsQueueConfig;
  readonly waiting: Pending[];
  inFlight: number;
}

/**
 * The SQS half of the writer's intake: appends travel in SendMessageBatch requests of up to 10 (the
 * ones issued while others are in flight go together, like the Kafka sender's batches), each with
 * DelaySeconds up to the queue's maximum (a longer delay is held by re-sending, see runner.ts).
 * `acked` only once SQS returned the entry's MessageId; each caller is answered by its deadline:
 * still queued then → `not-sent`, handed over → `ambiguous` (maybe written).
 */
export function createSqsIntake(options: SqsIntakeOptions = {}): QueueIntake {
  const now = options.now ?? Date.now;
  const maxInFlight = options.maxInFlight ?? 8;
  const lanes = new Map<string, Lane>();
  const factory = options.clientFactory ?? ((queue: SqsQueueConfig) => createSqsClient(queue, { maxAttempts: 2 }));
  let closed = false;

  const laneFor = (ns: NamespaceConfig, queue: SqsQueueConfig): Lane => {
    let lane = lanes.get(ns.name);
    if (!lane) {
      const client = factory(queue);
      lane = { client, url: queueUrlResolver(client, queue.queueUrl, queue.queueName), queue, waiting: [], inFlight: 0 };
      lanes.set(ns.name, lane);
    }
    return lane;
  };

  const settle = (item: Pending, outcome: SendOutcome): void => {
    if (item.state === 'done') return;
    item.state = 'done';
    clearTimeout(item.timer);
    item.resolve(outcome);
  };

  const takeBatch = (lane: Lane): Pending[] => {
    const batch: Pending[] = [];
    let bytes = 0;
    while (lane.waiting.length > 0 && batch.length < MAX_BATCH_ENTRIES) {
      const next = lane.waiting[0];
      if (batch.length > 0 && bytes + next.bytes > MAX_BATCH_BYTES) break;
      lane.waiting.shift();
      next.state = 'sent';
      batch.push(next);
      bytes += next.bytes;
    }
    return batch;
  };

  const flush = async (lane: Lane, batch: Pending[]): Promise<void> => {
    const name = queueNameOf(lane.queue);
    let queueUrl: string;
    try {
      queueUrl = await lane.url();
    } catch (error) {
      const outcome = classify(error, false, name);
      batch.forEach((item) => settle(item, outcome.status === 'ambiguous' ? { status: 'not-sent', reason: 'broker-unavailable', detail: `SQS queue ${name} could not be looked up: ${outcome.detail}` } : outcome));
      return;
    }
    try {
      const out = await lane.client.send(new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: batch.map((item) => item.entry) }));
      const byId = new Map(batch.map((item) => [item.entry.Id!, item]));
      for (const ok of out.Successful ?? []) {
        const item = byId.get(ok.Id!);
        if (item) settle(item, ok.MessageId ? { status: 'acked', messageId: ok.MessageId } : { status: 'ambiguous', reason: 'connection-lost', detail: 'SQS answered without a MessageId' });
      }
      for (const failed of out.Failed ?? []) {
        const item = byId.get(failed.Id!);
        if (!item) continue;
        const detail = `${failed.Code ?? 'error'}: ${failed.Message ?? ''}`.trim();
        // SQS reports the entry was not enqueued: the sender's fault is a refusal, its own an outage.
        settle(item, failed.SenderFault ? { status: 'rejected', detail: `SQS refused the message for queue ${name}: ${detail}` } : { status: 'not-sent', reason: 'broker-unavailable', detail: `SQS could not enqueue it on ${name}: ${detail}` });
      }
      batch.forEach((item) => settle(item, { status: 'ambiguous', reason: 'connection-lost', detail: 'SQS answered the batch without this entry' }));
    } catch (error) {
      const outcome = classify(error, false, name);
      batch.forEach((item) => settle(item, outcome));
    }
  };

  const pump = (lane: Lane): void => {
    while (lane.inFlight < maxInFlight && lane.waiting.length > 0) {
      const batch = takeBatch(lane);
      lane.inFlight += 1;
      void flush(lane, batch).finally(() => {
        lane.inFlight -= 1;
        pump(lane);
      });
    }
  };

  return {
    describe: (ns) => `SQS queue ${ns.queue?.type === 'sqs' ? queueNameOf(ns.queue) : '?'}`,

    async append(request, ns, deadline, hold): Promise<SendOutcome> {
      const queue = ns.queue;
      if (queue?.type !== 'sqs') return { status: 'rejected', detail: `namespace ${ns.name} is not on an SQS queue` };
      if (await hold?.()) return { status: 'withheld' };
      if (closed) return { status: 'not-sent', reason: 'writer-closed', detail: 'the writer is closed' };
      const lane = laneFor(ns, queue);
      const dueAt = dueTime(request, ns);
      const body = encodeSqsBody(request);
      return new Promise<SendOutcome>((resolve) => {
        const item: Pending = {
          entry: {
            Id: `e${lane.waiting.length}-${Math.random().toString(36).slice(2, 10)}`,
            MessageBody: body,
            DelaySeconds: delaySecondsUntil(dueAt, now(), queue.maxSqsDelaySeconds),
            MessageAttributes: requestAttributes(request, ns, dueAt),
          },
          bytes: Buffer.byteLength(body) + 200,
          state: 'queued',
          resolve,
        };
        item.timer = setTimeout(() => {
          if (item.state === 'queued') {
            lane.waiting.splice(lane.waiting.indexOf(item), 1);
            settle(item, { status: 'not-sent', reason: 'timeout', detail: `still queued behind earlier sends to SQS queue ${queueNameOf(queue)} at the deadline` });
          } else {
            settle(item, { status: 'ambiguous', reason: 'timeout', detail: `no answer from SQS queue ${queueNameOf(queue)} by the deadline` });
          }
        }, Math.max(0, deadline - now()));
        lane.waiting.push(item);
        // One macrotask of linger: appends issued in the same tick travel together.
        setImmediate(() => pump(lane));
      });
    },

    async close() {
      closed = true;
      for (const lane of lanes.values()) {
        for (const item of lane.waiting.splice(0)) settle(item, { status: 'not-sent', reason: 'writer-closed', detail: 'the writer was closed before this request was sent' });
        lane.client.destroy();
      }
      lanes.clear();
    },
  };
}

function classify(error: unknown, timedOut: boolean, queue: string): SendOutcome {
  const detail = describeSqsError(error);
  const e = error as { name?: string; code?: string; $fault?: string; $metadata?: { httpStatusCode?: number }; cause?: { code?: string } };
  const code = e.code ?? e.cause?.code ?? '';
  if (timedOut) return { status: 'ambiguous', reason: 'timeout', detail: `no answer from SQS queue ${queue} in time (${detail})` };
  // No connection was made: nothing reached SQS.
  if (NOT_SENT_CODES.has(code) || /ECONNREFUSED|ENOTFOUND|did not establish a connection/.test(detail)) {
    return { status: 'not-sent', reason: 'broker-unavailable', detail: `cannot reach SQS for queue ${queue}: ${detail}` };
  }
  // A 4xx that is not throttling is SQS's refusal (no such queue, too large, denied): nothing written.
  const status = e.$metadata?.httpStatusCode;
  if (e.$fault === 'client' && status !== undefined && status !== 429 && !/Throttl/i.test(e.name ?? '')) {
    return { status: 'rejected', detail: `SQS refused the message for queue ${queue}: ${e.name ?? 'error'}: ${detail}` };
  }
  return { status: 'ambiguous', reason: 'connection-lost', detail };
}
