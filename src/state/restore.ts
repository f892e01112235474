import type { Kafka } from 'kafkajs';
import type { Logger } from '../observability/logger';
import { restoreRecords, restoreRemaining } from '../observability/metrics';
import { RestoreTimeoutError } from './errors';
import { LevelStore, StoreWrite } from './level-store';
import type { LocalIndex } from './store';
import { partitionBounds, readPartitionRange } from '../kafka/partition-reader';

export interface RecoveryOptions {
  readonly kafka: Kafka;
  readonly namespace: string;
  readonly topic: string;
  readonly partition: number;
  /** Next changelog offset the local store lacks (from the checkpoint); null = local state unknown. */
  readonly checkpointed: string | null;
  readonly logger: Logger;
  /** Fail when replay makes no progress for this long. */
  readonly stallTimeoutMs?: number;
  /** Log progress every this many records. */
  readonly logEvery?: number;
  /** Called about once a second during a replay (e.g. to heartbeat the main consumer). */
  readonly keepAlive?: () => Promise<void>;
  /** The store's local index, derived again from each restored entry. */
  readonly localIndex?: LocalIndex;
}

export interface RecoveryResult {
  readonly restored: number;
  /** The changelog offset the store is now consistent with: the checkpoint offset from here on. */
  readonly end: string;
  /** True when the local store was discarded and rebuilt from the start of the changelog. */
  readonly rebuilt: boolean;
  readonly durationMs: number;
}

/**
 * Brings one store partition up to date with its changelog partition before the task processes:
 * replays from the checkpointed offset to the changelog's last stable offset (read_committed).
 * Without a usable checkpoint, the local files are discarded and the store is rebuilt from the start.
 */
export class RecoveryPartition {
  constructor(private readonly options: RecoveryOptions) {}

  /** Returns the store to use afterwards (a fresh one when the local files had to be discarded). */
  async recover(store: LevelStore): Promise<{ store: LevelStore; result: RecoveryResult }> {
    const { kafka, namespace, topic, partition, logger } = this.options;
    const started = Date.now();
    const { low, end } = await partitionBounds(kafka, topic, partition);
    let from = this.options.checkpointed;
    if (from !== null && (BigInt(from) > BigInt(end) || BigInt(from) < BigInt(low))) {
      logger.warn({ store: store.name, checkpointed: from, low, end }, 'checkpoint is outside the changelog (topic recreated or truncated): rebuilding the store');
      from = null;
    }
    let rebuilt = false;
    if (from === null) {
      rebuilt = true;
      const { name, location } = store;
      await store.close();
      await LevelStore.wipe(location);
      store = await LevelStore.open(name, location);
      from = low;
    }
    const total = BigInt(end) - BigInt(from);
    const gauge = restoreRemaining.labels(namespace, store.name, String(partition));
    gauge.set(Number(total));
    if (total <= 0n) {
      return { store, result: { restored: 0, end, rebuilt, durationMs: Date.now() - started } };
    }
    logger.info({ store: store.name, changelog: topic, from, end, records: Number(total) }, 'restoring store from changelog');
    const logEvery = this.options.logEvery ?? 50_000;
    let restored = 0;
    let nextLog = logEvery;
    const target = store;
    await readPartitionRange(kafka, {
      topic,
      partition,
      from,
      until: end,
      stallTimeoutMs: this.options.stallTimeoutMs ?? 60_000,
      onStall: (position) => new RestoreTimeoutError(topic, partition, position, end, this.options.stallTimeoutMs ?? 60_000),
      onTick: () => this.options.keepAlive?.(),
      onRecords: async (messages) => {
        const writes: StoreWrite[] = [];
        const index = this.options.localIndex;
        for (const m of messages) {
          if (!m.key || index?.isIndexKey(m.key)) continue;
          writes.push({ key: m.key, value: m.value ?? null });
          const derived = index?.derive(m.key, m.value ?? null);
          if (derived) writes.push(derived);
        }
        await target.write(writes);
        restored += messages.length;
        restoreRecords.labels(namespace, store.name).inc(messages.length);
        gauge.set(Math.max(0, Number(BigInt(end) - BigInt(messages[messages.length - 1].offset) - 1n)));
        if (restored >= nextLog) {
          nextLog += logEvery;
          logger.info({ store: store.name, restored, remaining: Number(total) - restored }, 'restore progress');
        }
      },
    });
    gauge.set(0);
    const durationMs = Date.now() - started;
    logger.info({ store: store.name, restored, end, durationMs, rebuilt }, 'store restored');
    return { store, result: { restored, end, rebuilt, durationMs } };
  }
}
