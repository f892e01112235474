import type { Kafka } from 'kafkajs';
import type { ClusterConfig } from '../namespaces/types';
import type { NamespaceState } from '../namespaces/namespace-state';
import { NamespaceStateReader } from '../namespaces/namespace-state-topic';
import type { Logger } from '../observability/logger';

export const DEFAULT_STATE_REFRESH_MS = 2000;

export interface BypassFollowerOptions {
  /** A client for a cluster's state topic (the writer's client factory). */
  readonly kafka: (cluster: ClusterConfig) => Kafka;
  /** How often known clusters' state topics are read again (default 2 s). */
  readonly refreshMs?: number;
  /** Bound on one read of a state topic. */
  readonly timeoutMs: number;
  readonly logger: Pick<Logger, 'warn' | 'info'>;
}

interface Followed {
  readonly reader: NamespaceStateReader;
  /** The first read: writes to the cluster wait for it (bounded), later ones use what was read last. */
  readonly first: Promise<void>;
}

/**
 * The writer's view of `wal namespace bypass`: the state topic of every cluster it writes to, read at
 * connect (or before the first write to that cluster) and again every `refreshMs` in the background,
 * so a write never waits for it after the first. When the state cannot be read the write is taken
 * (the WAL is the safe default: a write it keeps can still be delivered; a refused one is the
 * caller's to redo).
 */
export class BypassFollower {
  private readonly clusters = new Map<string, Followed>();
  private readonly failing = new Set<string>();
  private timer?: NodeJS.Timeout;
  private closed = false;

  constructor(private readonly options: BypassFollowerOptions) {}

  /** Reads the state topic of each cluster now (bounded); never rejects. */
  async load(clusters: readonly ClusterConfig[]): Promise<void> {
    await Promise.all(clusters.map((c) => this.follow(c).first));
  }

  /**
   * The namespace's state, or undefined when its cluster's state topic has not been read (yet, or
   * ever): waits at most `waitMs` for a first read in progress.
   */
  async stateOf(namespace: string, cluster: ClusterConfig, waitMs: number): Promise<NamespaceState | undefined> {
    const followed = this.follow(cluster);
    if (!followed.reader.isLoaded) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([followed.first, new Promise<void>((resolve) => (timer = setTimeout(resolve, Math.max(0, waitMs))))]).finally(() => clearTimeout(timer));
    }
    return followed.reader.isLoaded ? followed.reader.get(namespace) : undefined;
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    await Promise.all([...this.clusters.values()].map((f) => f.reader.close()));
  }

  private follow(cluster: ClusterConfig): Followed {
    let followed = this.clusters.get(cluster.name);
    if (!followed) {
      const reader = new NamespaceStateReader({ kafka: this.options.kafka(cluster), timeoutMs: this.options.timeoutMs, logger: this.options.logger });
      followed = { reader, first: this.refresh(cluster.name, reader) };
      this.clusters.set(cluster.name, followed);
      this.startTimer();
    }
    return followed;
  }

  private async refresh(name: string, reader: NamespaceStateReader): Promise<void> {
    try {
      await reader.refresh();
      if (this.failing.delete(name)) this.options.logger.info({ cluster: name }, 'namespace state readable again');
    } catch (error) {
      if (!this.failing.has(name)) this.options.logger.warn({ cluster: name, err: error }, 'cannot read the namespace state topic: bypass flags are not known, writes are taken');
      this.failing.add(name);
    }
  }

  private startTimer(): void {
    if (this.timer || this.closed) return;
    let busy = false;
    this.timer = setInterval(() => {
      if (busy) return;
      busy = true;
      void Promise.all([...this.clusters].map(([name, f]) => this.refresh(name, f.reader))).finally(() => (busy = false));
    }, this.options.refreshMs ?? DEFAULT_STATE_REFRESH_MS);
    this.timer.unref();
  }
}
