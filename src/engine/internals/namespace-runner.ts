import type { Admin, Consumer, EachBatchPayload, Kafka, Producer } from 'kafkajs';
import { createLogger, type Logger } from '../../observability/logger';
import { engineRestarts, recordsProcessed, tasksAssigned } from '../../observability/metrics';
import { ensureChangelogTopics } from '../../state';
import { systemClock, type Clock, type EngineOptions, type ProcessingGuarantee } from '../api';
import { RuntimeError, TaskFailedError, TaskMigratedError, TopicLayoutError } from '../errors';
import type { Topology } from '../topology';
import { coPartitionedAssigner } from './assignor';
import { committedOffsets, isRebalancing, rewindTarget, withHeartbeat } from '../../kafka/consumer-helpers';
import { toWalRecord } from './wal-record';
import { Mutex, Semaphore } from 'async-mutex';
import { taskStatus, type NamespaceStatus } from './runner-status';

export type { NamespaceStatus, TaskStatus } from './runner-status';
import { Task } from './task';
import { DEFAULT_RESTORE_CONCURRENCY } from './task-stores';
import { atLeastOnceOutput, exactlyOnceOutput, type TaskOutput } from './task-output';

export interface RunnerTuning {
  readonly sessionTimeoutMs?: number;
  readonly heartbeatIntervalMs?: number;
  readonly rebalanceTimeoutMs?: number;
  readonly partitionsConsumedConcurrently?: number;
  readonly maxBytesPerPartition?: number;
  /** Longest fetch long-poll; also bounds how long leaving the group waits for an idle fetch. */
  readonly maxWaitTimeMs?: number;
  readonly restoreStallTimeoutMs?: number;
  /** Changelog restores running at once over this runner's tasks (default DEFAULT_RESTORE_CONCURRENCY). */
  readonly restoreConcurrency?: number;
  /** Backoff before re-creating a consumer that kafkajs gave up on. */
  readonly restartBackoffMs?: { readonly initial: number; readonly max: number };
}

export interface NamespaceRunnerOptions {
  readonly kafka: Kafka;
  readonly engine: EngineOptions;
  readonly topology: Topology;
  readonly stateDir: string;
  readonly instanceId: string;
  readonly clock?: Clock;
  readonly logger?: Logger;
  readonly tuning?: RunnerTuning;
}

/**
 * Runs one namespace's topology in this instance (Kafka Streams' StreamThread): one consumer in
 * group `wal.<ns>`, a task per assigned partition, a commit loop, and recovery from engine failures.
 */
export class NamespaceRunner {
  readonly groupId: string;
  private readonly logger: Logger;
  private readonly clock: Clock;
  private readonly tuning: RunnerTuning;
  private readonly tasks = new Map<number, Task>();
  private readonly lifecycles = new Map<number, Mutex>();
  private assigned = new Set<number>();
  private readonly migrated = new Set<number>();
  private admin?: Admin;
  private producer?: Producer;
  private consumer?: Consumer;
  private consumerLive = false;
  /** Between kafkajs noticing a rebalance and the next assignment: ownership is unknown. */
  private rebalancing = false;
  /** A GROUP_JOIN of the current consumer and no rebalance, crash or stop since (status().joined). */
  private joined = false;
  /** Held by pause() until resume(): no fetch of a source topic, no punctuation. */
  private paused = false;
  private state: NamespaceStatus['state'] = 'created';
  private commitTimer?: NodeJS.Timeout;
  private restartTimer?: NodeJS.Timeout;
  private restartDelayMs: number;
  /** Shared by the tasks' restores: newly assigned partitions restore at once, a bounded number at a time. */
  private readonly restoreSlots: Semaphore;

  constructor(private readonly options: NamespaceRunnerOptions) {
    this.groupId = `wal.${options.engine.name}`;
    this.logger = options.logger ?? createLogger({ namespace: options.engine.name, instance: options.instanceId });
    this.clock = options.clock ?? systemClock;
    this.tuning = options.tuning ?? {};
    this.restartDelayMs = this.tuning.restartBackoffMs?.initial ?? 1000;
    this.restoreSlots = new Semaphore(this.tuning.restoreConcurrency ?? DEFAULT_RESTORE_CONCURRENCY);
  }

  get guarantee(): ProcessingGuarantee {
    return this.options.engine.processingGuarantee;
  }

  /** Checks topics, creates changelog topics, joins the group. Rejects when the layout is wrong or the cluster unreachable. */
  async start(): Promise<void> {
    this.state = 'starting';
    const { kafka, topology, engine } = this.options;
    this.admin = kafka.admin();
    await this.admin.connect();
    const partitions = await this.checkSourceTopics();
    const changelogs = [...topology.stores.keys()]
      .map((store) => topology.changelogTopic(store, this.groupId))
      .filter((t): t is string => t !== null)
      .map((topic) => ({ topic, partitions, replicationFactor: engine.replicationFactor }));
    await ensureChangelogTopics(this.admin, changelogs, this.logger);
    if (this.guarantee === 'at-least-once') {
      this.producer = kafka.producer({ idempotent: true });
      await this.producer.connect();
    }
    await this.startConsumer();
    const interval = Math.max(50, Math.min(engine.commitIntervalMs, 1000));
    this.commitTimer = setInterval(() => this.commitDue(), interval);
    this.commitTimer.unref();
    this.state = 'running';
    this.logger.info({ groupId: this.groupId, guarantee: this.guarantee, partitions }, 'namespace runner started');
  }

  /** Stop fetching, let in-flight batches end, commit and close every task, leave the group. */
  async stop(): Promise<void> {
    if (this.state === 'stopped' || this.state === 'stopping') return;
    this.state = 'stopping';
    this.joined = false;
    clearInterval(this.commitTimer);
    clearTimeout(this.restartTimer);
    try {
      this.consumer?.pause(this.options.topology.sourceTopics.map((topic) => ({ topic })));
    } catch {
      // A crashed consumer has nothing to pause.
    }
    // Every partition with a lifecycle, so that a task still restoring is closed once it opened.
    const results = await Promise.allSettled([...this.lifecycles.keys()].map((p) => this.closeTask(p, true)));
    for (const r of results) if (r.status === 'rejected') this.logger.error({ err: r.reason }, 'final commit of a task failed');
    this.consumerLive = false;
    await this.consumer?.disconnect().catch((err: unknown) => this.logger.warn({ err }, 'consumer disconnect failed'));
    await this.producer?.disconnect().catch(() => undefined);
    await this.admin?.disconnect().catch(() => undefined);
    this.state = 'stopped';
    this.logger.info({ groupId: this.groupId }, 'namespace runner stopped');
  }

  /**
   * Stops fetching the source topics and skips every punctuation until resume(); records stay in
   * Kafka. The runner stays in its group (its tasks stay open and committed), so a resume continues
   * where it stopped without a rebalance. May be called before start(): it then starts paused.
   */
  pause(): Promise<void> {
    if (this.paused) return Promise.resolve();
    this.paused = true;
    this.holdFetches();
    this.logger.info({ groupId: this.groupId }, 'namespace runner paused: no source record fetched, no punctuation run');
    return Promise.resolve();
  }

  /** Fetches and punctuates again, from where pause() stopped. */
  resume(): Promise<void> {
    if (!this.paused) return Promise.resolve();
    this.paused = false;
    const consumer = this.consumer;
    if (consumer) {
      const topics = this.options.topology.sourceTopics;
      try {
        consumer.resume(topics.map((topic) => ({ topic })));
        // A topic-wide resume also lifts the partition pauses of fenced tasks: keep those.
        if (this.migrated.size > 0) consumer.pause(topics.map((topic) => ({ topic, partitions: [...this.migrated] })));
      } catch {
        // Not running yet (or crashed): the next join starts unpaused.
      }
    }
    this.logger.info({ groupId: this.groupId }, 'namespace runner resumed');
    return Promise.resolve();
  }

  get isPaused(): boolean {
    return this.paused;
  }

  async status(): Promise<NamespaceStatus> {
    const sorted = [...this.tasks].sort((a, b) => a[0] - b[0]);
    return {
      namespace: this.options.engine.name,
      groupId: this.groupId,
      guarantee: this.guarantee,
      state: this.state,
      joined: this.joined,
      paused: this.paused,
      assigned: [...this.assigned].sort((a, b) => a - b),
      tasks: await Promise.all(sorted.map(([p, task]) => taskStatus(p, task, this.options.topology.sourceTopics))),
    };
  }

  /** Pauses every source topic on the current consumer; kafkajs keeps a topic-wide pause across rebalances of that consumer. */
  private holdFetches(): void {
    try {
      this.consumer?.pause(this.options.topology.sourceTopics.map((topic) => ({ topic })));
    } catch {
      // Before run() (or after a crash) there is nothing to pause: the next GROUP_JOIN applies it.
    }
  }

  private async checkSourceTopics(): Promise<number> {
    const { topology } = this.options;
    const existing = new Set(await this.admin!.listTopics());
    const missing = topology.sourceTopics.filter((t) => !existing.has(t));
    if (missing.length > 0) throw new TopicLayoutError(`source topic(s) ${missing.join(', ')} do not exist (provision the namespace's topics first)`);
    const metadata = await this.admin!.fetchTopicMetadata({ topics: [...topology.sourceTopics] });
    const counts = new Set(metadata.topics.map((t) => t.partitions.length));
    if (counts.size > 1) {
      const layout = metadata.topics.map((t) => `${t.name}=${t.partitions.length}`).join(', ');
      throw new TopicLayoutError(`source topics must have the same partition count (a task owns partition p of each): ${layout}`);
    }
    const outputs = [...topology.nodes.values()].flatMap((n) => (n.kind === 'sink' && typeof n.topic === 'string' ? [n.topic] : []));
    if (topology.deadLetterTopic) outputs.push(topology.deadLetterTopic);
    const absent = [...new Set(outputs)].filter((t) => !existing.has(t));
    if (absent.length > 0) this.logger.warn({ topics: absent }, 'output topics do not exist yet: the first send relies on broker auto-creation');
    return [...counts][0];
  }

  private async startConsumer(): Promise<void> {
    const { kafka, topology } = this.options;
    const t = this.tuning;
    const consumer = kafka.consumer({
      groupId: this.groupId,
      partitionAssigners: [coPartitionedAssigner],
      sessionTimeout: t.sessionTimeoutMs ?? 30000,
      heartbeatInterval: t.heartbeatIntervalMs ?? 3000,
      rebalanceTimeout: t.rebalanceTimeoutMs ?? 60000,
      maxBytesPerPartition: t.maxBytesPerPartition ?? 1024 * 1024,
      maxWaitTimeInMs: t.maxWaitTimeMs ?? 1000,
      readUncommitted: false,
      retry: { initialRetryTime: 300, retries: 5 },
    });
    this.consumer = consumer;
    consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
      if (this.consumer !== consumer) return;
      this.consumerLive = true;
      this.rebalancing = false;
      this.joined = this.state !== 'stopping' && this.state !== 'stopped';
      this.restartDelayMs = this.tuning.restartBackoffMs?.initial ?? 1000;
      // A consumer kafkajs restarted internally has a fresh pause state: paused it stays.
      if (this.paused) this.holdFetches();
      const assigned = new Set<number>();
      for (const topic of topology.sourceTopics) for (const p of payload.memberAssignment[topic] ?? []) assigned.add(p);
      void this.reconcile(assigned);
    });
    consumer.on(consumer.events.REBALANCING, () => {
      if (this.consumer !== consumer) return;
      this.rebalancing = true;
      this.joined = false;
    });
    consumer.on(consumer.events.CRASH, ({ payload }) => {
      if (this.consumer !== consumer) return;
      this.consumerLive = false;
      this.joined = false;
      engineRestarts.labels(this.options.engine.name).inc();
      const restart = payload.restart && this.state !== 'stopping';
      this.logger.error(
        { err: payload.error, restart },
        restart ? 'engine error: consumer crashed, kafkajs re-joins after a backoff' : 'engine error: consumer stopped, re-creating it after a backoff',
      );
      void this.closeAll(false).then(() => {
        if (!payload.restart && this.state !== 'stopping' && this.state !== 'stopped') this.scheduleRestart();
      });
    });
    await consumer.connect();
    for (const topic of topology.sourceTopics) await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: t.partitionsConsumedConcurrently ?? this.options.engine.partitionConcurrency,
      eachBatch: (payload) => this.onBatch(payload),
    });
    if (this.paused) this.holdFetches();
  }

  private scheduleRestart(): void {
    const delay = this.restartDelayMs;
    this.restartDelayMs = Math.min(delay * 2, this.tuning.restartBackoffMs?.max ?? 30000);
    this.state = 'restarting';
    this.logger.warn({ delayMs: delay }, 'engine: reconnecting to the cluster');
    this.restartTimer = setTimeout(() => {
      void this.startConsumer()
        .then(() => {
          this.state = 'running';
          this.logger.info('engine: consumer re-created and joined the group');
        })
        .catch((err: unknown) => {
          this.logger.error({ err }, 'engine: reconnect failed');
          if (this.state === 'restarting') this.scheduleRestart();
        });
    }, delay);
    this.restartTimer.unref();
  }

  private async reconcile(assigned: Set<number>): Promise<void> {
    if (this.state === 'stopping' || this.state === 'stopped') return;
    const previous = this.assigned;
    this.assigned = assigned;
    this.resumeMigrated();
    const revoked = [...this.tasks.keys()].filter((p) => !assigned.has(p));
    this.logger.info({ assigned: [...assigned].sort((a, b) => a - b), revoked }, 'partitions assigned');
    await Promise.all(
      revoked.map((p) => this.closeTask(p, true).catch((err: unknown) => this.logger.warn({ err, partition: p }, 'closing a revoked task failed'))),
    );
    for (const p of assigned) {
      if (!previous.has(p) || !this.tasks.has(p)) {
        this.openAssigned(p);
      }
    }
  }

  private async onBatch({ batch, resolveOffset, heartbeat, isRunning, isStale }: EachBatchPayload): Promise<void> {
    const p = batch.partition;
    const commitIntervalMs = this.options.engine.commitIntervalMs;
    // Not resolved, so a paused partition is fetched again from here once resumed.
    if (this.state === 'stopping' || this.paused || this.migrated.has(p) || !this.assigned.has(p)) return;
    const task = await withHeartbeat(this.ensureTask(p, heartbeat), heartbeat);
    let rebalance: unknown;
    let processed = 0;
    try {
      await task.lock.runExclusive(async () => {
        if (task.isClosed) return;
        task.highWatermarks.set(batch.topic, BigInt(batch.highWatermark));
        let lastDone: string | null = null;
        let lastBeat = Date.now();
        for (const message of batch.messages) {
          if (this.state === 'stopping' || this.paused || !isRunning() || isStale()) break;
          if (!task.alreadyProcessed(batch.topic, message.offset)) {
            await task.process(toWalRecord(batch.topic, p, message));
            processed += 1;
          }
          lastDone = message.offset;
          if (task.needsCommit(commitIntervalMs)) {
            await task.commit();
            resolveOffset(lastDone);
          } else if (task.needsFlush()) {
            await task.flush();
            resolveOffset(lastDone);
          }
          if (Date.now() - lastBeat >= 1000) {
            lastBeat = Date.now();
            try {
              await heartbeat();
            } catch (error) {
              rebalance = error;
              break;
            }
          }
        }
        await task.flush();
        if (lastDone !== null) resolveOffset(lastDone);
        if (rebalance !== undefined && isRebalancing(rebalance)) {
          this.logger.info({ partition: p }, 'group is rebalancing: committing before re-joining');
          await task.commit();
        } else if (task.needsCommit(commitIntervalMs)) {
          await task.commit();
        }
      });
    } catch (error) {
      await this.onTaskError(p, task, error);
      if (!(error instanceof TaskMigratedError)) {
        throw error instanceof TaskFailedError ? error : new TaskFailedError(`task ${p} failed: ${(error as Error)?.message}`, { cause: error });
      }
    } finally {
      recordsProcessed.labels(this.options.engine.name).inc(processed);
    }
    // eslint-disable-next-line @typescript-eslint/only-throw-error -- rethrows what a catch or a heartbeat caught, as it was
    if (rebalance !== undefined) throw rebalance;
  }

  private lifecycle(p: number): Mutex {
    let m = this.lifecycles.get(p);
    if (!m) this.lifecycles.set(p, (m = new Mutex()));
    return m;
  }

  /**
   * Opens (and restores) an assigned partition's task before its records arrive, so `/ready` turns
   * true on an idle partition too. A failure (a leader not elected yet on a new cluster) is retried
   * with backoff while the partition stays assigned, not only when its next batch comes.
   */
  private openAssigned(p: number, attempt = 0): void {
    this.ensureTask(p).catch((err: unknown) => {
      if (this.state === 'stopping' || this.state === 'stopped' || !this.assigned.has(p) || this.tasks.has(p)) return;
      const retryInMs = Math.min(30_000, 500 * 2 ** attempt);
      this.logger.warn({ err, partition: p, retryInMs }, 'opening task failed; retrying');
      setTimeout(() => {
        if (this.state === 'running' && this.assigned.has(p) && !this.tasks.has(p)) this.openAssigned(p, attempt + 1);
      }, retryInMs).unref();
    });
  }

  private ensureTask(p: number, keepAlive?: () => Promise<void>): Promise<Task> {
    return this.lifecycle(p).runExclusive(async () => {
      const existing = this.tasks.get(p);
      if (existing && !existing.isClosed) return existing;
      if (this.state === 'stopping' || this.state === 'stopped') throw new RuntimeError(`not opening task ${p}: the runner is stopping`, true);
      const { kafka, engine, topology, stateDir } = this.options;
      const logger = this.logger.child({ partition: p });
      const started = Date.now();
      const task = await Task.open({
        kafka,
        namespace: engine.name,
        applicationId: this.groupId,
        partition: p,
        topology,
        stateDir,
        logger,
        clock: this.clock,
        output: this.createOutput(p),
        loadCommitted: () => this.withAdmin((admin) => committedOffsets(admin, this.groupId, topology.sourceTopics, p)),
        restoreStallTimeoutMs: this.tuning.restoreStallTimeoutMs ?? 60000,
        restoreSlots: this.restoreSlots,
        keepAlive,
        isPaused: () => this.paused,
        onFailure: (error) => void this.onTaskError(p, task, error),
      });
      this.tasks.set(p, task);
      tasksAssigned.labels(engine.name).set(this.tasks.size);
      logger.info({ openMs: Date.now() - started }, 'task opened');
      return task;
    });
  }

  /** Admin calls on a long-lived client; after a failure the client is replaced (its connections may be dead). */
  private async withAdmin<T>(fn: (admin: Admin) => Promise<T>): Promise<T> {
    const admin = this.admin ?? (this.admin = this.options.kafka.admin());
    try {
      await admin.connect();
      return await fn(admin);
    } catch (error) {
      if (this.admin === admin) this.admin = undefined;
      void admin.disconnect().catch(() => undefined);
      throw error;
    }
  }

  private createOutput(p: number): TaskOutput {
    if (this.guarantee === 'exactly-once') return exactlyOnceOutput(this.options.kafka, `${this.groupId}-${p}`, this.groupId);
    return atLeastOnceOutput(this.producer!, async (offsets) => {
      if (!this.consumer || !this.consumerLive) throw new TaskFailedError('consumer is not in the group: offsets not committed');
      await this.consumer.commitOffsets(offsets);
    });
  }

  private closeTask(p: number, clean: boolean): Promise<void> {
    return this.lifecycle(p).runExclusive(async () => {
      const task = this.tasks.get(p);
      if (!task) return;
      this.tasks.delete(p);
      tasksAssigned.labels(this.options.engine.name).set(this.tasks.size);
      await task.close(clean);
      this.logger.child({ partition: p }).info({ clean }, 'task closed');
    });
  }

  private async closeAll(clean: boolean): Promise<void> {
    await Promise.allSettled([...this.tasks.keys()].map((p) => this.closeTask(p, clean)));
  }

  /**
   * A task could not make its work durable. Its uncommitted output and writes are dropped (disk and
   * checkpoint stay at the last commit); exactly-once also rewinds the input to the committed offset.
   * The task re-opens after a pause, unless the group is rebalancing (the next assignment decides).
   * A fenced task may belong to another instance now: its partition stays paused a few heartbeats,
   * long enough for a revoked member to learn it, then a still-assigned owner takes it back.
   */
  private async onTaskError(p: number, task: Task, error: unknown): Promise<void> {
    const migrated = error instanceof TaskMigratedError;
    this.logger.child({ partition: p }).error({ err: error, migrated }, migrated ? 'task fenced: another instance claimed it' : 'task failed; re-opening from its last commit');
    if (this.tasks.get(p) === task) await this.closeTask(p, false).catch(() => undefined);
    const consumer = this.consumer;
    const topics = this.options.topology.sourceTopics;
    const heartbeatMs = this.tuning.heartbeatIntervalMs ?? 3000;
    if (migrated && consumer) {
      this.migrated.add(p);
      consumer.pause(topics.map((topic) => ({ topic, partitions: [p] })));
    } else if (this.guarantee === 'exactly-once' && consumer) {
      for (const topic of topics) {
        const offset = await this.withAdmin((admin) => rewindTarget(admin, this.groupId, topic, p)).catch(() => null);
        // A consumer restarting after a crash has no group to seek in; its re-join starts from the
        // committed offset, which is the same rewind.
        if (offset !== null) {
          try {
            consumer.seek({ topic, partition: p, offset });
          } catch (err) {
            this.logger.warn({ err, partition: p }, 'rewind skipped: consumer is re-joining from the committed offset');
          }
        }
      }
    }
    const delay = migrated ? 3 * heartbeatMs + 1000 : this.guarantee === 'exactly-once' ? 2 * heartbeatMs : 1000;
    setTimeout(() => {
      if (!this.assigned.has(p) || this.state !== 'running' || this.rebalancing || this.tasks.has(p)) return;
      // While paused, the topic-wide pause holds the partition; resume() lifts it.
      if (this.migrated.delete(p) && !this.paused) consumer?.resume(topics.map((topic) => ({ topic, partitions: [p] })));
      this.openAssigned(p);
    }, delay).unref();
  }

  private resumeMigrated(): void {
    if (this.migrated.size === 0 || !this.consumer) return;
    const partitions = [...this.migrated];
    this.migrated.clear();
    if (this.paused) return;
    this.consumer.resume(this.options.topology.sourceTopics.map((topic) => ({ topic, partitions })));
  }

  /** Commits tasks whose interval elapsed (idle ones included: punctuation output must be committed too). */
  private commitDue(): void {
    if (!this.consumerLive || this.state !== 'running') return;
    const interval = this.options.engine.commitIntervalMs;
    for (const [p, task] of this.tasks) {
      void task.lock
        .runExclusive(async () => {
          if (!task.isClosed && task.needsCommit(interval)) await task.commit();
        })
        .catch((error: unknown) => this.onTaskError(p, task, error));
    }
  }
}
