import path from 'node:path';
import { Semaphore } from 'async-mutex';
import type { Kafka } from 'kafkajs';
import type { Logger } from '../../observability/logger';
import { ChangeloggedStore, ChangelogWriter, Checkpoint, CheckpointOffsets, InMemoryStore, LevelStore, RecoveryPartition, type KeyValueStore } from '../../state';
import { partitionBounds } from '../../kafka/partition-reader';
import type { Topology } from '../topology';
import type { RecordCollector } from './record-collector';

export interface TaskStoresOptions {
  readonly kafka: Kafka;
  readonly namespace: string;
  readonly applicationId: string;
  readonly partition: number;
  readonly topology: Topology;
  readonly stateDir: string;
  readonly collector: RecordCollector;
  readonly logger: Logger;
  readonly restoreStallTimeoutMs: number;
  readonly keepAlive?: () => Promise<void>;
  /** Bounds the changelog restores running at once (shared by a runner's tasks); default: per task. */
  readonly restoreSlots?: Semaphore;
}

/**
 * Changelog restores at once, by default. Each is its own consumer (group join, connections, fetch
 * buffers): together they overlap joins, fetches and LevelDB writes (libuv's 4 threads) while their
 * decoding shares the one JS thread; 4 partitions at once ran 1.15–1.23× one by one (bench/restore.ts).
 */
export const DEFAULT_RESTORE_CONCURRENCY = 4;

/** What a task needs from its stores, whatever holds them (LevelDB + changelogs, or memory in the test driver). */
export interface TaskStateStores {
  readonly stores: ReadonlyMap<string, KeyValueStore>;
  /** Writes not yet on disk, over all stores. */
  pendingWrites(): number;
  /** After the changelog records are durable (and input offsets committed). */
  commit(): Promise<void>;
  /** Forgets writes whose changelog records were not committed. */
  discard(): void;
  /** After a final transactional commit (exactly-once). */
  checkpointAtChangelogEnd(): Promise<void>;
  sizes(): Promise<Record<string, number>>;
  close(): Promise<void>;
}

/** Opens a task's stores; changelog records go to the task's collector. */
export type OpenTaskStores = (collector: RecordCollector) => Promise<{ stores: TaskStateStores; restored: number }>;

/** The stores of one task: opened, restored from their changelogs, checkpointed, closed. */
export class TaskStores implements TaskStateStores {
  private constructor(
    readonly stores: ReadonlyMap<string, ChangeloggedStore>,
    private readonly checkpoint: Checkpoint,
    private readonly kafka: Kafka,
  ) {}

  /** Where a task's store lives: `<stateDir>/<namespace>/<store>/<partition>`. */
  static location(stateDir: string, namespace: string, store: string, partition: number): string {
    return path.join(stateDir, namespace, store, String(partition));
  }

  static checkpointFile(stateDir: string, namespace: string, partition: number): string {
    return path.join(stateDir, namespace, '.checkpoints', `${partition}.json`);
  }

  static async open(options: TaskStoresOptions): Promise<{ stores: TaskStores; restored: number }> {
    const { kafka, namespace, applicationId, partition, topology, stateDir, collector, logger } = options;
    const checkpoint = new Checkpoint(TaskStores.checkpointFile(stateDir, namespace, partition));
    const offsets = await checkpoint.read((error) => logger.warn({ err: error }, 'ignoring unreadable checkpoint'));
    const slots = options.restoreSlots ?? new Semaphore(DEFAULT_RESTORE_CONCURRENCY);
    // The stores restore at once, within the runner's slots: a delayed queue's timer and id stores
    // are both as large as its backlog.
    const opened = await Promise.allSettled(
      [...topology.stores.values()].map(async (spec) => {
        const local = await LevelStore.open(spec.name, TaskStores.location(stateDir, namespace, spec.name, partition));
        const topic = topology.changelogTopic(spec.name, applicationId);
        if (!topic) return { store: new ChangeloggedStore(local, null), restored: 0 };
        const entry = offsets?.[spec.name];
        const checkpointed = entry && entry.topic === topic && entry.partition === partition ? entry.offset : null;
        const recovery = new RecoveryPartition({
          kafka,
          namespace,
          topic,
          partition,
          checkpointed,
          logger,
          stallTimeoutMs: options.restoreStallTimeoutMs,
          keepAlive: options.keepAlive,
          localIndex: spec.localIndex,
        });
        const { store, result } = await slots.runExclusive(() => recovery.recover(local));
        const writer = new ChangelogWriter(topic, partition, collector, result.end);
        collector.onAcknowledged(topic, partition, (next) => writer.acknowledge(next));
        return { store: new ChangeloggedStore(store, writer, spec.localIndex), restored: result.restored };
      }),
    );
    const ready = opened.flatMap((o) => (o.status === 'fulfilled' ? [o.value] : []));
    const failure = opened.find((o): o is PromiseRejectedResult => o.status === 'rejected');
    if (failure) {
      await Promise.all(ready.map((r) => r.store.local.close().catch(() => undefined)));
      throw failure.reason;
    }
    const stores = new Map(ready.map((r) => [r.store.name, r.store]));
    const restored = ready.reduce((n, r) => n + r.restored, 0);
    return { stores: new TaskStores(stores, checkpoint, kafka), restored };
  }

  pendingWrites(): number {
    let n = 0;
    for (const store of this.stores.values()) n += store.pendingWrites;
    return n;
  }

  /** After the changelog records are durable (and input offsets committed): apply writes to disk, then checkpoint. */
  async commit(): Promise<void> {
    for (const store of this.stores.values()) await store.applyPending();
    await this.writeCheckpoint();
  }

  /** Forgets writes whose changelog records were not committed. Disk and checkpoint stay consistent. */
  discard(): void {
    for (const store of this.stores.values()) store.discardPending();
  }

  /** Records, per changelogged store, the changelog offset below which everything is durable and applied. */
  async writeCheckpoint(): Promise<void> {
    const offsets: Record<string, CheckpointOffsets[string]> = {};
    for (const store of this.stores.values()) {
      if (store.changelog) {
        offsets[store.name] = { topic: store.changelog.topic, partition: store.changelog.partition, offset: store.changelog.checkpointOffset() };
      }
    }
    await this.checkpoint.write(offsets);
  }

  /**
   * After a final transactional commit: the changelog ends with our commit marker, which the
   * acknowledged offsets do not cover. We are its only writer, so its end is our state.
   */
  async checkpointAtChangelogEnd(): Promise<void> {
    for (const store of this.stores.values()) {
      if (!store.changelog) continue;
      const { end } = await partitionBounds(this.kafka, store.changelog.topic, store.changelog.partition);
      store.changelog.acknowledge(end);
    }
    await this.writeCheckpoint();
  }

  async deleteCheckpoint(): Promise<void> {
    await this.checkpoint.delete();
  }

  async sizes(): Promise<Record<string, number>> {
    const out: Record<string, number> = {};
    for (const store of this.stores.values()) out[store.name] = await store.approximateSize().catch(() => -1);
    return out;
  }

  async close(): Promise<void> {
    await Promise.all([...this.stores.values()].map((s) => s.local.close()));
  }
}

/**
 * Stores in memory, no changelog, no checkpoint: writes count as applied at once. The topology test
 * driver runs a task on these, so a processor's state can be read back without LevelDB or a broker.
 */
export function inMemoryTaskStores(topology: Topology): TaskStateStores {
  const stores = new Map<string, InMemoryStore>([...topology.stores.keys()].map((name) => [name, new InMemoryStore(name)]));
  return {
    stores,
    pendingWrites: () => 0,
    commit: async () => undefined,
    discard: () => undefined,
    checkpointAtChangelogEnd: async () => undefined,
    sizes: async () => Object.fromEntries(await Promise.all([...stores].map(async ([name, s]) => [name, await s.approximateSize()] as const))),
    close: async () => undefined,
  };
}
