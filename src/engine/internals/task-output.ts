import type { Kafka, Producer, RecordMetadata, TopicMessages, TopicPartitionOffset, Transaction } from 'kafkajs';
import type { ProcessingGuarantee } from '../api';
import { TaskFailedError, TaskMigratedError } from '../errors';

/** How a task makes its output and input progress durable; one implementation per processing guarantee. */
export interface TaskOutput {
  readonly guarantee: ProcessingGuarantee;
  /** Before restore. Exactly-once: claims the task's transactional id, fencing (and aborting) any previous owner. */
  open(): Promise<void>;
  send(batch: TopicMessages[]): Promise<RecordMetadata[]>;
  /** Commits input offsets; exactly-once: together with everything sent since the last commit, atomically. */
  commit(offsets: TopicPartitionOffset[]): Promise<void>;
  /** Exactly-once: aborts what was sent since the last commit. At-least-once: nothing to undo. */
  abort(): Promise<void>;
  close(): Promise<void>;
}

/** Shared idempotent producer (acks=all); offsets committed through the group's consumer. */
export function atLeastOnceOutput(producer: Producer, commitOffsets: (offsets: TopicPartitionOffset[]) => Promise<void>): TaskOutput {
  return {
    guarantee: 'at-least-once',
    open: async () => undefined,
    send: async (topicMessages) => {
      try {
        return await producer.sendBatch({ topicMessages, acks: -1 });
      } catch (cause) {
        throw new TaskFailedError(`sending output failed: ${(cause as Error).message}`, { cause });
      }
    },
    commit: async (offsets) => {
      if (offsets.length === 0) return;
      try {
        await commitOffsets(offsets);
      } catch (cause) {
        throw new TaskFailedError(`committing offsets failed: ${(cause as Error).message}`, { cause });
      }
    },
    abort: async () => undefined,
    close: async () => undefined,
  };
}

/** Error types a broker returns to a producer whose transactional id has a newer owner. */
const FENCED = new Set(['INVALID_PRODUCER_EPOCH', 'PRODUCER_FENCED', 'INVALID_PRODUCER_ID_MAPPING', 'TRANSACTIONAL_ID_AUTHORIZATION_FAILED']);

function isFenced(error: unknown): boolean {
  for (let e: unknown = error; e; e = (e as { cause?: unknown; originalError?: unknown }).cause ?? (e as { originalError?: unknown }).originalError) {
    if (FENCED.has((e as { type?: string }).type ?? '')) return true;
    if (/fenced|producer epoch/i.test((e as Error).message ?? '')) return true;
  }
  return false;
}

function wrap(what: string, cause: unknown): Error {
  const message = `${what}: ${(cause as Error).message}`;
  return isFenced(cause) ? new TaskMigratedError(message, { cause }) : new TaskFailedError(message, { cause });
}

/**
 * One transactional producer per task, transactional id `<applicationId>-<partition>`: when the task
 * moves, the new owner's InitProducerId bumps the epoch, so the old owner (a zombie) can no longer
 * commit (Kafka Streams' EOS "alpha"). kafkajs allows one open transaction per producer, which a
 * per-task producer satisfies naturally.
 */
export function exactlyOnceOutput(kafka: Kafka, transactionalId: string, groupId: string, transactionTimeoutMs = 60000): TaskOutput {
  const producer = kafka.producer({ transactionalId, idempotent: true, maxInFlightRequests: 1, transactionTimeout: transactionTimeoutMs });
  let connected = false;
  let txn: Transaction | null = null;
  const current = async (): Promise<Transaction> => (txn ??= await producer.transaction());
  return {
    guarantee: 'exactly-once',
    open: async () => {
      try {
        await producer.connect();
        connected = true;
        await current();
      } catch (cause) {
        throw wrap(`claiming transactional id ${transactionalId} failed`, cause);
      }
    },
    send: async (topicMessages) => {
      try {
        return await (await current()).sendBatch({ topicMessages, acks: -1 });
      } catch (cause) {
        throw wrap('sending output in transaction failed', cause);
      }
    },
    commit: async (offsets) => {
      try {
        const t = await current();
        if (offsets.length > 0) {
          const byTopic = new Map<string, { partition: number; offset: string }[]>();
          for (const o of offsets) {
            const list = byTopic.get(o.topic) ?? [];
            list.push({ partition: o.partition, offset: o.offset });
            byTopic.set(o.topic, list);
          }
          await t.sendOffsets({ consumerGroupId: groupId, topics: [...byTopic].map(([topic, partitions]) => ({ topic, partitions })) });
        }
        await t.commit();
        txn = null;
      } catch (cause) {
        throw wrap('committing transaction failed', cause);
      }
    },
    abort: async () => {
      const t = txn;
      txn = null;
      if (t?.isActive()) await t.abort().catch(() => undefined);
    },
    close: async () => {
      if (connected) await producer.disconnect().catch(() => undefined);
      connected = false;
    },
  };
}
