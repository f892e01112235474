import { setMaxListeners } from 'node:events';
import {
  ChangeMessageVisibilityCommand,
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  type Message,
  type MessageAttributeValue,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { NamespaceStatus } from '../engine';
import type { ClusterConfig, NamespaceConfig, SqsQueueConfig } from '../namespaces/types';
import { backoffDelay } from '../delayed-queue/backoff';
import { Dispatcher } from '../delayed-queue/dispatcher';
import { deadLetters, delivered, dlqDisabled, fireLateness, intakeDuplicates, retries } from '../delayed-queue/metrics';
import type { Logger } from '../observability/logger';
import { dlqDepthRecords } from '../observability/metrics';
import type { Delivery, DeliveryResult, Target } from '../targets';
import { deadLetterHeaders, type DeadLetterKind } from '../wire/dlq';
import { DLQ_HEADERS, SQS_ATTRIBUTES } from '../wire/headers';
import { dueTime, type WriteToLogRequest } from '../wire/intake';
import { decodeSqsBody } from '../wire/sqs-envelope';
import { createSqsClient, describeSqsError, queueNameOf, queueUrlResolver } from './client';
import { delaySecondsUntil } from './intake';
import { sqsQueueMessages, sqsResends } from './metrics';
import { DeliveredIds } from './delivered-ids';

/** Batches one receiver delivers at once (its next ReceiveMessage overlaps the previous delivery). */
const BATCHES_IN_FLIGHT = 2;

/** SQS's longest visibility timeout (12 h): the cap of a retry's backoff. */
const MAX_VISIBILITY_S = 43_200;

export interface SqsRunnerOptions {
  readonly namespace: NamespaceConfig;
  readonly clusters: Record<string, ClusterConfig>;
  readonly logger: Logger;
  readonly client?: SQSClient;
  readonly now?: () => number;
  readonly random?: () => number;
  readonly targetFactory?: (name: string) => Target;
  /** How often the queue depth gauge is refreshed (default 15 s; 0 = never). */
  readonly depthIntervalMs?: number;
}

interface Received {
  readonly message: Message;
  readonly request: WriteToLogRequest;
  readonly dueAt: number;
  /** Delivery attempts before this one (SQS's ApproximateReceiveCount − 1). */
  readonly attempts: number;
}

/**
 * The delivery loop of an SQS namespace (the SQS half of the queue-backend seam; the Kafka half is
 * the engine's delay processor): long-polling receivers hand due requests to the delayed queue's
 * Dispatcher, retry with its backoff through ChangeMessageVisibility and dead-letter in the one DLQ
 * vocabulary, on the namespace's SQS DLQ. A message leaves the main queue only once it was
 * delivered, re-sent or dead-lettered: a crash at any point leaves it to surface again (at least once).
 */
export class SqsRunner {
  private readonly queue: SqsQueueConfig;
  private readonly client: SQSClient;
  private readonly ownsClient: boolean;
  private readonly now: () => number;
  private readonly random: () => number;
  private readonly logger: Logger;
  private readonly dispatcher: Dispatcher;
  private readonly seen: DeliveredIds;
  private readonly mainUrl: (signal?: AbortSignal) => Promise<string>;
  private readonly dlqUrl?: (signal?: AbortSignal) => Promise<string>;
  private state: NamespaceStatus['state'] = 'created';
  private paused = false;
  private loops: Promise<void>[] = [];
  private abort = new AbortController();
  private depthTimer?: NodeJS.Timeout;

  constructor(private readonly options: SqsRunnerOptions) {
    const { namespace } = options;
    if (namespace.queue?.type !== 'sqs') throw new Error(`namespace ${namespace.name} is not on an SQS queue`);
    this.queue = namespace.queue;
    this.ownsClient = options.client === undefined;
    // A long poll waits up to waitTimeSeconds: the request timeout must outlast it.
    this.client = options.client ?? createSqsClient(this.queue, { requestTimeoutMs: (this.queue.waitTimeSeconds + 10) * 1000 });
    this.now = options.now ?? Date.now;
    this.random = options.random ?? Math.random;
    this.logger = options.logger.child({ component: 'sqs-receiver', queue: queueNameOf(this.queue) });
    this.dispatcher = new Dispatcher(namespace, options.clusters, options.targetFactory);
    this.seen = new DeliveredIds(namespace.idempotency.windowMs);
    this.mainUrl = queueUrlResolver(this.client, this.queue.queueUrl, this.queue.queueName);
    if (this.queue.dlqQueueUrl !== undefined || this.queue.dlqQueueName !== undefined) {
      this.dlqUrl = queueUrlResolver(this.client, this.queue.dlqQueueUrl, this.queue.dlqQueueName);
    }
  }

  private get ns(): NamespaceConfig {
    return this.options.namespace;
  }

  async start(): Promise<void> {
    this.state = 'starting';
    // Fails the start when the queues are not there, instead of logging forever.
    await this.mainUrl();
    await this.dlqUrl?.();
    this.abort = new AbortController();
    // Every receiver's long poll (and its pause) listens on this one signal: many receivers are no leak.
    setMaxListeners(Math.max(10, 2 * this.queue.receivers + 4), this.abort.signal);
    this.state = 'running';
    this.loops = Array.from({ length: this.queue.receivers }, (_, i) => this.receiveLoop(i));
    const interval = this.options.depthIntervalMs ?? 15_000;
    if (interval > 0) {
      void this.reportDepth();
      this.depthTimer = setInterval(() => void this.reportDepth(), interval);
      this.depthTimer.unref();
    }
    this.logger.info({ receivers: this.queue.receivers, visibilityTimeoutMs: this.queue.visibilityTimeoutMs }, 'SQS receivers started');
  }

  async stop(): Promise<void> {
    if (this.state === 'stopped') return;
    this.state = 'stopping';
    clearInterval(this.depthTimer);
    // Ends the long polls now; a batch being delivered finishes (its messages are deleted or retried).
    this.abort.abort();
    await Promise.allSettled(this.loops);
    this.loops = [];
    await this.dispatcher.close();
    if (this.ownsClient) this.client.destroy();
    this.state = 'stopped';
  }

  async pause(): Promise<void> {
    this.paused = true;
  }

  async resume(): Promise<void> {
    this.paused = false;
  }

  async status(): Promise<NamespaceStatus> {
    return {
      namespace: this.ns.name,
      groupId: `sqs:${queueNameOf(this.queue)}`,
      guarantee: 'at-least-once',
      state: this.state,
      joined: this.state === 'running',
      paused: this.paused,
      assigned: [],
      tasks: [],
    };
  }

  private get running(): boolean {
    return this.state === 'running' || this.state === 'starting';
  }

  private async receiveLoop(index: number): Promise<void> {
    const signal = this.abort.signal;
    const inFlight = new Set<Promise<void>>();
    while (this.running && !signal.aborted) {
      if (this.paused) {
        await sleep(200, signal);
        continue;
      }
      let messages: Message[];
      try {
        const out = await this.client.send(
          new ReceiveMessageCommand({
            QueueUrl: await this.mainUrl(signal),
            MaxNumberOfMessages: 10,
            WaitTimeSeconds: this.queue.waitTimeSeconds,
            VisibilityTimeout: Math.ceil(this.queue.visibilityTimeoutMs / 1000),
            MessageAttributeNames: ['All'],
            MessageSystemAttributeNames: ['ApproximateReceiveCount', 'ApproximateFirstReceiveTimestamp'],
          }),
          { abortSignal: signal },
        );
        messages = out.Messages ?? [];
      } catch (error) {
        if (signal.aborted) break;
        this.logger.warn({ receiver: index, err: describeSqsError(error) }, 'ReceiveMessage failed; trying again in 1 s');
        await sleep(1000, signal);
        continue;
      }
      if (messages.length === 0) continue;
      // The next receive overlaps this batch's delivery and deletes: two batches per receiver at most.
      const handling = this.handle(messages)
        .catch((error: unknown) => {
          // Whatever was not acknowledged surfaces again after its visibility timeout.
          this.logger.error({ receiver: index, err: describeSqsError(error) }, 'handling a batch failed; its messages surface again after the visibility timeout');
        })
        .finally(() => inFlight.delete(handling));
      inFlight.add(handling);
      if (inFlight.size >= BATCHES_IN_FLIGHT) await Promise.race(inFlight);
    }
    await Promise.allSettled([...inFlight]);
  }

  private async handle(messages: Message[]): Promise<void> {
    const now = this.now();
    const due: Received[] = [];
    for (const message of messages) {
      const attempts = Math.max(0, Number(message.Attributes?.ApproximateReceiveCount ?? '1') - 1);
      let request: WriteToLogRequest;
      try {
        request = decodeSqsBody(message.Body, this.ns);
      } catch (error) {
        await this.deadLetter(message, undefined, 'poison', describe(error), attempts);
        continue;
      }
      const stored = Number(message.MessageAttributes?.[SQS_ATTRIBUTES.dueAt]?.StringValue);
      const dueAt = Number.isFinite(stored) && stored > 0 ? stored : dueTime(request, this.ns);
      if (dueAt > now) {
        await this.resend(message, dueAt, now);
        continue;
      }
      if (this.seen.has(request.id, now)) {
        intakeDuplicates.inc({ namespace: this.ns.name, backend: 'sqs' });
        await this.deleteAll([message]);
        continue;
      }
      if (request.mutations.length > 0) {
        await this.deadLetter(message, request, 'permanent', `request carries ${request.mutations.length} mutations but namespace "${this.ns.name}" runs on an SQS queue, which has no fan-out (use queue.type kafka)`, attempts);
        continue;
      }
      due.push({ message, request, dueAt, attempts });
    }

    const byTarget = new Map<string, Received[]>();
    for (const item of due) {
      // `wal dlq replay --to-target` sets the override attribute: it wins over the request's own choice.
      const override = item.message.MessageAttributes?.[SQS_ATTRIBUTES.toTarget]?.StringValue;
      const target = this.dispatcher.targetFor(override ?? item.request.target);
      if (!target) {
        await this.deadLetter(item.message, item.request, 'permanent', `request names no target and namespace "${this.ns.name}" has no defaultTarget`, item.attempts);
        continue;
      }
      byTarget.set(target, [...(byTarget.get(target) ?? []), item]);
    }
    await Promise.all(
      [...byTarget].map(async ([target, items]) => {
        const results = await this.dispatcher.deliver(target, items.map(toDelivery));
        const done: Message[] = [];
        const at = this.now();
        for (let i = 0; i < items.length; i += 1) {
          const item = items[i];
          const result: DeliveryResult = results[i] ?? { ok: false, retriable: true, reason: 'target gave no result' };
          if (result.ok) {
            done.push(item.message);
            this.seen.remember(item.request.id, at);
            delivered.inc({ namespace: this.ns.name, target, backend: 'sqs' });
            fireLateness.observe({ namespace: this.ns.name, backend: 'sqs' }, Math.max(0, at - item.dueAt) / 1000);
          } else {
            await this.fail(item, target, result);
          }
        }
        await this.deleteAll(done);
      }),
    );
  }

  /** A failed try: hidden for the backoff while retries remain and it may help, else dead-lettered. */
  private async fail(item: Received, target: string, result: Extract<DeliveryResult, { ok: false }>): Promise<void> {
    const attempts = item.attempts + 1;
    if (result.retriable && attempts <= this.ns.maxRetries) {
      const delayMs = backoffDelay(attempts, this.ns.backoff, this.random);
      await this.hide(item.message, delayMs);
      retries.inc({ namespace: this.ns.name, target, backend: 'sqs' });
      return;
    }
    await this.deadLetter(item.message, item.request, result.retriable ? 'exhausted' : 'permanent', result.reason, attempts, target);
  }

  /**
   * Sends the message to the namespace's SQS DLQ, body unchanged, the reason/kind/attempts in the DLQ
   * attribute names; deleted from the main queue only after SQS took the dead letter.
   */
  private async deadLetter(message: Message, request: WriteToLogRequest | undefined, kind: DeadLetterKind, reason: string, attempts: number, target?: string): Promise<void> {
    const ns = this.ns;
    const now = this.now();
    if (!ns.dlq.enabled || !this.dlqUrl) {
      if (ns.dlq.onDisabled === 'drop') {
        dlqDisabled.inc({ namespace: ns.name, action: 'dropped', backend: 'sqs' });
        this.logger.warn({ id: request?.id, kind, reason }, 'no DLQ (onDisabled: drop): message dropped');
        await this.deleteAll([message]);
        return;
      }
      // Never a silent loss: it stays in the queue, tried again at the longest backoff.
      dlqDisabled.inc({ namespace: ns.name, action: 'retained', backend: 'sqs' });
      await this.hide(message, ns.backoff.maxMs);
      return;
    }
    const firstSeen = Number(message.Attributes?.ApproximateFirstReceiveTimestamp);
    const headers = deadLetterHeaders(
      {
        reason,
        kind,
        attempts,
        firstFailureAt: Number.isFinite(firstSeen) && firstSeen > 0 ? firstSeen : now,
        lastFailureAt: now,
        // An SQS message has no partition; its MessageId stands where a Kafka dead letter has an offset.
        source: { topic: queueNameOf(this.queue), partition: 0, offset: message.MessageId ?? '' },
        target,
        id: request?.id ?? message.MessageAttributes?.[SQS_ATTRIBUTES.id]?.StringValue,
      },
      { [SQS_ATTRIBUTES.namespace]: ns.name },
    );
    delete headers[DLQ_HEADERS.sourcePartition]; // SQS allows 10 attributes: this one says nothing here
    try {
      await this.client.send(
        new SendMessageCommand({
          QueueUrl: await this.dlqUrl(),
          MessageBody: message.Body ?? '',
          MessageAttributes: Object.fromEntries(Object.entries(headers).map(([name, value]) => [name, { DataType: 'String', StringValue: value || '-' }])),
        }),
      );
    } catch (error) {
      this.logger.warn({ id: request?.id, err: describeSqsError(error) }, 'sending to the SQS DLQ failed; the message stays in the queue and surfaces again');
      return;
    }
    deadLetters.inc({ namespace: ns.name, kind, backend: 'sqs' });
    await this.deleteAll([message]);
  }

  /**
   * A message that surfaced before it is due (its delay was beyond maxSqsDelaySeconds): sent again
   * with the remaining delay, then deleted. If the send fails it stays, hidden, and surfaces again.
   */
  private async resend(message: Message, dueAt: number, now: number): Promise<void> {
    try {
      await this.client.send(
        new SendMessageCommand({
          QueueUrl: await this.mainUrl(),
          MessageBody: message.Body ?? '',
          DelaySeconds: delaySecondsUntil(dueAt, now, this.queue.maxSqsDelaySeconds),
          MessageAttributes: copyAttributes(message.MessageAttributes),
        }),
      );
    } catch (error) {
      this.logger.warn({ err: describeSqsError(error) }, 're-sending an early message failed; it surfaces again after the visibility timeout');
      return;
    }
    sqsResends.inc({ namespace: this.ns.name, backend: 'sqs' });
    await this.deleteAll([message]);
  }

  private async hide(message: Message, delayMs: number): Promise<void> {
    try {
      await this.client.send(
        new ChangeMessageVisibilityCommand({
          QueueUrl: await this.mainUrl(),
          ReceiptHandle: message.ReceiptHandle,
          VisibilityTimeout: Math.min(MAX_VISIBILITY_S, Math.max(0, Math.ceil(delayMs / 1000))),
        }),
      );
    } catch (error) {
      this.logger.warn({ err: describeSqsError(error) }, 'ChangeMessageVisibility failed; the message surfaces again after the visibility timeout');
    }
  }

  private async deleteAll(messages: Message[]): Promise<void> {
    for (let i = 0; i < messages.length; i += 10) {
      const batch = messages.slice(i, i + 10);
      try {
        const out = await this.client.send(
          new DeleteMessageBatchCommand({
            QueueUrl: await this.mainUrl(),
            Entries: batch.map((m, j) => ({ Id: String(j), ReceiptHandle: m.ReceiptHandle })),
          }),
        );
        if (out.Failed && out.Failed.length > 0) this.logger.warn({ failed: out.Failed.length }, 'some deletes failed; those messages surface again (their ids are deduplicated)');
      } catch (error) {
        this.logger.warn({ err: describeSqsError(error) }, 'DeleteMessageBatch failed; those messages surface again (their ids are deduplicated)');
      }
    }
  }

  private async reportDepth(): Promise<void> {
    const queues: [string, ((signal?: AbortSignal) => Promise<string>) | undefined][] = [
      ['main', this.mainUrl],
      ['dlq', this.dlqUrl],
    ];
    for (const [label, url] of queues) {
      if (!url) continue;
      try {
        const out = await this.client.send(
          new GetQueueAttributesCommand({
            QueueUrl: await url(),
            AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible', 'ApproximateNumberOfMessagesDelayed'],
          }),
        );
        const a = out.Attributes ?? {};
        const set = (state: string, value: string | undefined) => sqsQueueMessages.set({ namespace: this.ns.name, queue: label, state, backend: 'sqs' }, Number(value ?? 0));
        set('visible', a.ApproximateNumberOfMessages);
        set('in_flight', a.ApproximateNumberOfMessagesNotVisible);
        set('delayed', a.ApproximateNumberOfMessagesDelayed);
        if (label === 'dlq') dlqDepthRecords.set({ namespace: this.ns.name, backend: 'sqs' }, Number(a.ApproximateNumberOfMessages ?? 0) + Number(a.ApproximateNumberOfMessagesNotVisible ?? 0));
      } catch (error) {
        this.logger.debug({ queue: label, err: describeSqsError(error) }, 'GetQueueAttributes failed');
      }
    }
  }
}

function copyAttributes(attributes: Record<string, MessageAttributeValue> | undefined): Record<string, MessageAttributeValue> {
  return Object.fromEntries(Object.entries(attributes ?? {}).map(([name, v]) => [name, { DataType: v.DataType, StringValue: v.StringValue, BinaryValue: v.BinaryValue }]));
}

function toDelivery(item: Received): Delivery {
  const { request } = item;
  return { id: request.id, key: Buffer.from(request.id), payload: request.payload, headers: request.headers, contentType: request.contentType, attempt: item.attempts + 1 };
}

function describe(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
