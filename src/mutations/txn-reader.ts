import type { Kafka } from 'kafkajs';
import type { NamespaceConfig } from '../namespaces/types';
import { partitionBounds, readPartitionRange } from '../kafka/partition-reader';
import { txnStatusTopic } from './names';
import { keyPartition } from './partitioner';
import type { TxnStatus } from './txn-status';
import { txnStatusKey } from './txn-tracker';

export class TxnStatusUnavailableError extends Error {
  constructor(
    message: string,
    readonly retriable: boolean,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'TxnStatusUnavailableError';
  }
}

export interface ReadTxnStatusOptions {
  /** Fail when the read makes no progress for this long (default 15 s). */
  readonly stallTimeoutMs?: number;
}

/**
 * A transaction's latest status as the tracker last committed it, read from the compacted
 * txn-status topic (the partition its id hashes to), without asking any running instance.
 * Undefined when the tracker has not seen the transaction (yet), or expired it.
 */
export async function readTxnStatus(kafka: Kafka, namespace: NamespaceConfig, txnId: string, options: ReadTxnStatusOptions = {}): Promise<TxnStatus | undefined> {
  const topic = txnStatusTopic(namespace);
  const partition = keyPartition(txnId, namespace.partitions);
  let bounds: { low: string; end: string };
  try {
    bounds = await partitionBounds(kafka, topic, partition);
  } catch (error) {
    const message = (error as Error)?.message ?? String(error);
    const missing = /does not host this topic-partition|has no partition|UNKNOWN_TOPIC/i.test(message);
    throw new TxnStatusUnavailableError(
      missing
        ? `topic ${topic} partition ${partition} does not exist: the namespace's mutation topology has not run yet`
        : `cannot read ${topic}: ${message}`,
      !missing,
      { cause: error },
    );
  }
  const wanted = txnStatusKey(txnId);
  let latest: Buffer | null | undefined;
  const stallTimeoutMs = options.stallTimeoutMs ?? 15_000;
  await readPartitionRange(kafka, {
    topic,
    partition,
    from: bounds.low,
    until: bounds.end,
    stallTimeoutMs,
    onStall: (position) => new TxnStatusUnavailableError(`reading ${topic}[${partition}] made no progress for ${stallTimeoutMs} ms at offset ${position}`, true),
    onRecords: async (messages) => {
      for (const m of messages) if (m.key && wanted.equals(m.key)) latest = m.value;
    },
  });
  return latest ? (JSON.parse(latest.toString('utf8')) as TxnStatus) : undefined;
}
