import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageBatchCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  type Message,
  type MessageAttributeValue,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { NamespaceConfig, SqsQueueConfig } from '../namespaces/types';
import { createSqsClient, queueNameOf, queueUrlResolver } from '../sqs/client';
import { DLQ_HEADERS, SQS_ATTRIBUTES } from '../wire/headers';
import { selected, type DeadLetter } from './dead-letters';
import { DlqRequestError, type DlqFilters } from './filters';

/**
 * The DLQ operations on a namespace whose DLQ is an SQS queue. There is no marks ledger on SQS: a
 * replayed or purged dead letter is deleted from the queue. Dead letters come back in the Kafka
 * shape, so the callers print and serialize one kind: partition 0, offset = the DLQ MessageId,
 * key = the request id, value = the body (the original request envelope), headers = the attributes.
 */

/** How long a read hides the DLQ's messages from other readers; the ones left are made visible again at the end. */
const READ_VISIBILITY_S = 30;

interface Read {
  readonly letter: DeadLetter;
  readonly message: Message;
}

type SqsDlq = SqsQueueConfig & { readonly name: string };

function dlqOf(namespace: NamespaceConfig): SqsDlq {
  const queue = namespace.queue;
  if (queue?.type !== 'sqs') throw new Error(`namespace ${namespace.name} is not on an SQS queue`);
  if (queue.dlqQueueUrl === undefined && queue.dlqQueueName === undefined) {
    throw new DlqRequestError(`namespace "${namespace.name}" names no SQS DLQ (queue.dlqQueueUrl or queue.dlqQueueName): there is nothing to list, replay or purge`);
  }
  return { ...queue, name: queueNameOf({ queueUrl: queue.dlqQueueUrl, queueName: queue.dlqQueueName }) };
}

/** "SQS queue <name>": where an SQS namespace's dead letters are, for messages and answers. */
export function sqsDlqName(namespace: NamespaceConfig): string {
  return `SQS queue ${dlqOf(namespace).name}`;
}

async function withDlq<T>(namespace: NamespaceConfig, work: (client: SQSClient, dlq: SqsDlq, url: string) => Promise<T>): Promise<T> {
  const dlq = dlqOf(namespace);
  const client = createSqsClient(dlq);
  try {
    return await work(client, dlq, await queueUrlResolver(client, dlq.dlqQueueUrl, dlq.dlqQueueName)());
  } finally {
    client.destroy();
  }
}

function asDeadLetter(message: Message): DeadLetter {
  const headers = Object.fromEntries(Object.entries(message.MessageAttributes ?? {}).map(([k, v]) => [k, v.StringValue ?? '']));
  const id = headers[DLQ_HEADERS.id];
  return {
    partition: 0,
    offset: message.MessageId ?? '',
    timestamp: Number(message.Attributes?.SentTimestamp ?? 0),
    key: id ? Buffer.from(id) : null,
    value: Buffer.from(message.Body ?? ''),
    headers,
  };
}

/**
 * Reads every message of the DLQ once (receives until one comes back empty, each hidden meanwhile so
 * it is not read twice), hands the ones matching `filters` to `use`, oldest first, then makes every
 * message `use` did not consume (delete) visible again.
 */
async function readSelected(client: SQSClient, url: string, filters: DlqFilters, use: (selection: Read[]) => Promise<Set<string>>): Promise<void> {
  const read: Read[] = [];
  const seen = new Set<string>();
  for (;;) {
    const out = await client.send(
      new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10, WaitTimeSeconds: 1, VisibilityTimeout: READ_VISIBILITY_S, MessageAttributeNames: ['All'], MessageSystemAttributeNames: ['SentTimestamp'] }),
    );
    const fresh = (out.Messages ?? []).filter((m) => !seen.has(m.MessageId ?? ''));
    if (fresh.length === 0) break;
    for (const message of fresh) {
      seen.add(message.MessageId ?? '');
      read.push({ message, letter: asDeadLetter(message) });
    }
  }
  let consumed = new Set<string>();
  try {
    consumed = await use(read.filter((r) => selected(r.letter, filters)).sort((a, b) => a.letter.timestamp - b.letter.timestamp));
  } finally {
    const back = read.filter((r) => !consumed.has(r.letter.offset));
    for (let i = 0; i < back.length; i += 10) {
      const batch = back.slice(i, i + 10);
      await client
        .send(new ChangeMessageVisibilityBatchCommand({ QueueUrl: url, Entries: batch.map((r, j) => ({ Id: String(j), ReceiptHandle: r.message.ReceiptHandle, VisibilityTimeout: 0 })) }))
        .catch(() => undefined);
    }
  }
}

/** `wal dlq list` of an SQS namespace: its DLQ's messages that match, oldest first. */
export async function listSqsDeadLetters(namespace: NamespaceConfig, filters: DlqFilters, options: { limit?: number } = {}): Promise<DeadLetter[]> {
  return withDlq(namespace, async (client, _dlq, url) => {
    let letters: DeadLetter[] = [];
    await readSelected(client, url, filters, async (selection) => {
      letters = selection.map((r) => r.letter);
      return new Set();
    });
    return options.limit === undefined ? letters : letters.slice(0, options.limit);
  });
}

/**
 * `wal dlq replay` of an SQS namespace: each matching dead letter is sent back to the main queue
 * (body unchanged, due now, a fresh receive count so a fresh attempt count, `toTarget` as the
 * override attribute the receivers honour) and deleted from the DLQ only after that send succeeded.
 */
export async function replaySqsDeadLetters(
  namespace: NamespaceConfig,
  filters: DlqFilters,
  options: { toTarget?: string; dryRun?: boolean; now?: () => number; check?: (records: DeadLetter[]) => void; onSent?: (sent: number, total: number) => void } = {},
): Promise<{ records: DeadLetter[]; replayed: number; queue: string }> {
  const now = options.now ?? Date.now;
  return withDlq(namespace, async (client, dlq, dlqUrl) => {
    const mainUrl = await queueUrlResolver(client, dlq.queueUrl, dlq.queueName)();
    let records: DeadLetter[] = [];
    let replayed = 0;
    await readSelected(client, dlqUrl, filters, async (selection) => {
      records = selection.map((r) => r.letter);
      options.check?.(records);
      const done = new Set<string>();
      if (options.dryRun) return done;
      for (const { letter, message } of selection) {
        const attributes: Record<string, MessageAttributeValue> = {
          [SQS_ATTRIBUTES.id]: { DataType: 'String', StringValue: letter.headers[DLQ_HEADERS.id] || '-' },
          [SQS_ATTRIBUTES.namespace]: { DataType: 'String', StringValue: namespace.name },
          [SQS_ATTRIBUTES.dueAt]: { DataType: 'Number', StringValue: String(now()) },
        };
        if (options.toTarget !== undefined) attributes[SQS_ATTRIBUTES.toTarget] = { DataType: 'String', StringValue: options.toTarget };
        await client.send(new SendMessageCommand({ QueueUrl: mainUrl, MessageBody: message.Body ?? '', MessageAttributes: attributes }));
        await client.send(new DeleteMessageCommand({ QueueUrl: dlqUrl, ReceiptHandle: message.ReceiptHandle }));
        done.add(letter.offset);
        replayed += 1;
        options.onSent?.(replayed, selection.length);
      }
      return done;
    });
    return { records, replayed, queue: queueNameOf(dlq) };
  });
}

/** `wal dlq purge` of an SQS namespace: deletes the matching dead letters (DeleteMessageBatch); the rest stay. */
export async function purgeSqsDeadLetters(
  namespace: NamespaceConfig,
  filters: DlqFilters,
  options: { dryRun?: boolean; onDeleted?: (deleted: number, total: number) => void } = {},
): Promise<{ records: DeadLetter[]; purged: number }> {
  return withDlq(namespace, async (client, _dlq, url) => {
    let records: DeadLetter[] = [];
    let purged = 0;
    await readSelected(client, url, filters, async (selection) => {
      records = selection.map((r) => r.letter);
      const done = new Set<string>();
      if (options.dryRun) return done;
      for (let i = 0; i < selection.length; i += 10) {
        const batch = selection.slice(i, i + 10);
        const out = await client.send(new DeleteMessageBatchCommand({ QueueUrl: url, Entries: batch.map((r, j) => ({ Id: String(j), ReceiptHandle: r.message.ReceiptHandle })) }));
        // A failed delete leaves the message where it was: it is made visible again like the unselected ones.
        for (const ok of out.Successful ?? []) done.add(batch[Number(ok.Id)].letter.offset);
        purged = done.size;
        options.onDeleted?.(purged, selection.length);
      }
      return done;
    });
    return { records, purged };
  });
}

/** The SQS DLQ's approximate depth (GetQueueAttributes): messages waiting, and those a reader holds now. */
export async function sqsDlqDepth(namespace: NamespaceConfig): Promise<{ queue: string; visible: number; inFlight: number }> {
  return withDlq(namespace, async (client, dlq, url) => {
    const out = await client.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }));
    const a = out.Attributes ?? {};
    return { queue: dlq.name, visible: Number(a.ApproximateNumberOfMessages ?? 0), inFlight: Number(a.ApproximateNumberOfMessagesNotVisible ?? 0) };
  });
}
