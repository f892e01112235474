import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  type Message,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { DlqFilters } from '../dlq/operations';
import type { NamespaceConfig, SqsQueueConfig } from '../namespaces/types';
import { DLQ_HEADERS, SQS_ATTRIBUTES } from '../wire/headers';
import { createSqsClient, queueNameOf, queueUrlResolver } from './client';

/** A dead letter on a namespace's SQS DLQ: its body (the original request) and the DLQ attributes. */
export interface SqsDeadLetter {
  readonly messageId: string;
  /** Epoch ms SQS took it (SentTimestamp). */
  readonly timestamp: number;
  readonly body: string;
  readonly headers: Record<string, string>;
}

/** How long a read hides the DLQ's messages from other readers; they are made visible again at the end. */
const READ_VISIBILITY_S = 30;

function matches(letter: SqsDeadLetter, filters: DlqFilters): boolean {
  const h = letter.headers;
  if (filters.since !== undefined && letter.timestamp < filters.since) return false;
  if (filters.until !== undefined && letter.timestamp >= filters.until) return false;
  if (filters.ids && !filters.ids.includes(h[DLQ_HEADERS.id] ?? '')) return false;
  if (filters.kinds && !filters.kinds.includes(h[DLQ_HEADERS.kind] ?? '')) return false;
  if (filters.targets && !filters.targets.includes(h[DLQ_HEADERS.target] ?? '')) return false;
  if (filters.reason && !filters.reason.test(h[DLQ_HEADERS.reason] ?? '')) return false;
  return true;
}

function dlqOf(namespace: NamespaceConfig): SqsQueueConfig & { name: string } {
  const queue = namespace.queue;
  if (queue?.type !== 'sqs') throw new Error(`namespace ${namespace.name} is not on an SQS queue`);
  if (queue.dlqQueueUrl === undefined && queue.dlqQueueName === undefined) throw new Error(`namespace ${namespace.name} names no SQS DLQ (queue.dlqQueueUrl or queue.dlqQueueName)`);
  return { ...queue, name: queueNameOf({ queueUrl: queue.dlqQueueUrl, queueName: queue.dlqQueueName }) };
}

/**
 * Reads every message of the DLQ once (receives until one comes back empty, each hidden meanwhile so
 * it is not read twice), hands them to `use`, then makes the ones `use` did not consume visible again.
 */
async function readAll(client: SQSClient, url: string, use: (letters: { letter: SqsDeadLetter; message: Message }[]) => Promise<Set<string>>): Promise<void> {
  const read: { letter: SqsDeadLetter; message: Message }[] = [];
  const seen = new Set<string>();
  for (;;) {
    const out = await client.send(new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10, WaitTimeSeconds: 1, VisibilityTimeout: READ_VISIBILITY_S, MessageAttributeNames: ['All'], MessageSystemAttributeNames: ['SentTimestamp'] }));
    const fresh = (out.Messages ?? []).filter((m) => !seen.has(m.MessageId ?? ''));
    if (fresh.length === 0) break;
    for (const message of fresh) {
      seen.add(message.MessageId ?? '');
      const headers = Object.fromEntries(Object.entries(message.MessageAttributes ?? {}).map(([k, v]) => [k, v.StringValue ?? '']));
      read.push({ message, letter: { messageId: message.MessageId ?? '', timestamp: Number(message.Attributes?.SentTimestamp ?? 0), body: message.Body ?? '', headers } });
    }
  }
  let consumed = new Set<string>();
  try {
    consumed = await use(read);
  } finally {
    const back = read.filter((r) => !consumed.has(r.letter.messageId));
    for (let i = 0; i < back.length; i += 10) {
      const batch = back.slice(i, i + 10);
      await client
        .send(new ChangeMessageVisibilityBatchCommand({ QueueUrl: url, Entries: batch.map((r, j) => ({ Id: String(j), ReceiptHandle: r.message.ReceiptHandle, VisibilityTimeout: 0 })) }))
        .catch(() => undefined);
    }
  }
}

/** `wal dlq list` of an SQS namespace: its DLQ's messages that match, oldest first. */
export async function listSqsDeadLetters(namespace: NamespaceConfig, filters: DlqFilters, options: { limit?: number; client?: SQSClient } = {}): Promise<{ queue: string; letters: SqsDeadLetter[] }> {
  const dlq = dlqOf(namespace);
  const client = options.client ?? createSqsClient(dlq);
  try {
    const url = await queueUrlResolver(client, dlq.dlqQueueUrl, dlq.dlqQueueName)();
    let letters: SqsDeadLetter[] = [];
    await readAll(client, url, async (read) => {
      letters = read.map((r) => r.letter).filter((l) => matches(l, filters)).sort((a, b) => a.timestamp - b.timestamp);
      return new Set();
    });
    return { queue: dlq.name, letters: options.limit === undefined ? letters : letters.slice(0, options.limit) };
  } finally {
    if (!options.client) client.destroy();
  }
}

/**
 * `wal dlq replay` of an SQS namespace: each matching dead letter is sent back to the main queue
 * (body unchanged, due now, a fresh receive count so a fresh attempt count) and deleted from the DLQ
 * only after that send succeeded; the rest are made visible again.
 */
export async function replaySqsDeadLetters(namespace: NamespaceConfig, filters: DlqFilters, options: { dryRun?: boolean; client?: SQSClient; now?: () => number } = {}): Promise<{ queue: string; letters: SqsDeadLetter[]; replayed: number }> {
  const dlq = dlqOf(namespace);
  const client = options.client ?? createSqsClient(dlq);
  const now = options.now ?? Date.now;
  let replayed = 0;
  let letters: SqsDeadLetter[] = [];
  try {
    const dlqUrl = await queueUrlResolver(client, dlq.dlqQueueUrl, dlq.dlqQueueName)();
    const mainUrl = await queueUrlResolver(client, dlq.queueUrl, dlq.queueName)();
    await readAll(client, dlqUrl, async (read) => {
      const selected = read.filter((r) => matches(r.letter, filters));
      letters = selected.map((r) => r.letter);
      const done = new Set<string>();
      if (options.dryRun) return done;
      for (const { letter, message } of selected) {
        await client.send(
          new SendMessageCommand({
            QueueUrl: mainUrl,
            MessageBody: letter.body,
            MessageAttributes: {
              [SQS_ATTRIBUTES.id]: { DataType: 'String', StringValue: letter.headers[DLQ_HEADERS.id] || '-' },
              [SQS_ATTRIBUTES.namespace]: { DataType: 'String', StringValue: namespace.name },
              [SQS_ATTRIBUTES.dueAt]: { DataType: 'Number', StringValue: String(now()) },
            },
          }),
        );
        await client.send(new DeleteMessageCommand({ QueueUrl: dlqUrl, ReceiptHandle: message.ReceiptHandle }));
        done.add(letter.messageId);
        replayed += 1;
      }
      return done;
    });
    return { queue: dlq.name, letters, replayed };
  } finally {
    if (!options.client) client.destroy();
  }
}
