import type { Kafka } from 'kafkajs';
import type { NamespaceState } from '../namespaces/namespace-state';
import { NamespaceStateReader, NamespaceStateUnavailableError } from '../namespaces/namespace-state-topic';
import type { Logger } from '../observability/logger';
import type { InstanceFollower, InstanceRunner } from './instance';

export const DEFAULT_STATE_FOLLOW_INTERVAL_MS = 2000;
export const DEFAULT_STATE_LOAD_TIMEOUT_MS = 30_000;

/** A runner of this instance and where its namespace's state lives. */
export interface FollowedNamespace {
  readonly namespace: string;
  /** Cluster alias holding the namespace's state topic (the namespace's own cluster). */
  readonly cluster: string;
  readonly runner: Pick<InstanceRunner, 'pause' | 'resume'>;
}

export interface NamespaceStateFollowerOptions {
  readonly namespaces: readonly FollowedNamespace[];
  readonly kafka: (alias: string) => Kafka;
  /** How often the state topics are read again (default 2 s). */
  readonly intervalMs?: number;
  /** How long the first full read may take before the instance refuses to start (default 30 s). */
  readonly loadTimeoutMs?: number;
  /** Bound on one read of one cluster's state topic (default min(10 s, loadTimeoutMs)). */
  readonly readTimeoutMs?: number;
  readonly logger: Logger;
}

/** What to do so that the runners match `wanted` (namespace → paused), given what was applied so far. */
export function stateTransitions(applied: ReadonlyMap<string, boolean>, wanted: ReadonlyMap<string, boolean>): { pause: string[]; resume: string[] } {
  const pause: string[] = [];
  const resume: string[] = [];
  for (const [namespace, paused] of wanted) {
    const current = applied.get(namespace) ?? false;
    if (paused && !current) pause.push(namespace);
    else if (!paused && current) resume.push(namespace);
  }
  return { pause, resume };
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());

/**
 * Makes this instance's runners follow `wal namespace pause|resume`: reads every state topic its
 * namespaces live on fully before a runner starts (a paused namespace starts paused), then again every
 * `intervalMs`, pausing and resuming runners as their namespace's record says. After the first read a
 * broker that does not answer only delays the next change (logged at warn); the runners keep their
 * last applied state.
 */
export class NamespaceStateFollower implements InstanceFollower {
  private readonly readers = new Map<string, NamespaceStateReader>();
  /** namespace → paused, as applied to its runner. */
  private readonly applied = new Map<string, boolean>();
  private readonly intervalMs: number;
  private timer?: NodeJS.Timeout;
  private tick?: Promise<void>;
  private stopped = false;
  private readonly failing = new Set<string>();
  /** The files' namespaces, and those the registry adds and removes while the instance runs. */
  private readonly namespaces: FollowedNamespace[];
  private readonly readTimeoutMs: number;

  constructor(private readonly options: NamespaceStateFollowerOptions) {
    this.intervalMs = options.intervalMs ?? DEFAULT_STATE_FOLLOW_INTERVAL_MS;
    const loadTimeoutMs = options.loadTimeoutMs ?? DEFAULT_STATE_LOAD_TIMEOUT_MS;
    this.readTimeoutMs = options.readTimeoutMs ?? Math.min(10_000, loadTimeoutMs);
    this.namespaces = [...options.namespaces];
    for (const alias of new Set(options.namespaces.map((n) => n.cluster))) this.readerFor(alias);
  }

  private readerFor(alias: string): NamespaceStateReader {
    let reader = this.readers.get(alias);
    if (!reader) this.readers.set(alias, (reader = new NamespaceStateReader({ kafka: this.options.kafka(alias), timeoutMs: this.readTimeoutMs, logger: this.options.logger })));
    return reader;
  }

  /**
   * Follows one more namespace (one the registry is about to start): reads its cluster's state topic
   * and applies the namespace's state to its runner before the runner starts. Rejects when the state
   * cannot be read, so that a paused namespace is not started unpaused.
   */
  async add(followed: FollowedNamespace): Promise<void> {
    this.remove(followed.namespace);
    await this.readerFor(followed.cluster).refresh();
    this.namespaces.push(followed);
    await this.apply();
  }

  /** Stops following a namespace (its runner is being stopped). */
  remove(namespace: string): void {
    const at = this.namespaces.findIndex((n) => n.namespace === namespace);
    if (at >= 0) this.namespaces.splice(at, 1);
    this.applied.delete(namespace);
  }

  /** Reads every state topic fully and applies it; rejects when one cannot be read within loadTimeoutMs. */
  async load(): Promise<void> {
    const deadline = Date.now() + (this.options.loadTimeoutMs ?? DEFAULT_STATE_LOAD_TIMEOUT_MS);
    for (const [alias, reader] of this.readers) {
      for (;;) {
        try {
          await reader.refresh();
          break;
        } catch (error) {
          if (Date.now() >= deadline) {
            throw new NamespaceStateUnavailableError(
              `cannot read the namespace state topic on cluster ${alias} (${(error as Error).message}): not starting, since a namespace there may be paused`,
              { cause: error },
            );
          }
          this.options.logger.warn({ cluster: alias, err: error }, 'namespace state not readable yet; retrying');
          await sleep(Math.min(1000, Math.max(0, deadline - Date.now())));
        }
      }
    }
    await this.apply();
  }

  start(): void {
    if (this.stopped || this.timer) return;
    const next = () => {
      if (this.stopped) return;
      this.timer = setTimeout(() => {
        this.tick = this.follow().finally(next);
      }, this.intervalMs);
      this.timer.unref();
    };
    next();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.tick?.catch(() => undefined);
    await Promise.all([...this.readers.values()].map((r) => r.close()));
  }

  /** The state each followed namespace is in, as last read. */
  stateOf(namespace: string): NamespaceState | undefined {
    const followed = this.namespaces.find((n) => n.namespace === namespace);
    return followed ? this.readers.get(followed.cluster)?.get(namespace) : undefined;
  }

  private async follow(): Promise<void> {
    for (const [alias, reader] of this.readers) {
      try {
        await reader.refresh();
        if (this.failing.delete(alias)) this.options.logger.info({ cluster: alias }, 'namespace state readable again');
      } catch (error) {
        // Warn once per outage, not every interval.
        if (!this.failing.has(alias)) this.options.logger.warn({ cluster: alias, err: error }, 'cannot read the namespace state topic; runners keep their current state');
        this.failing.add(alias);
      }
    }
    // Every round, not only on a change: a pause that failed is tried again.
    await this.apply();
  }

  private async apply(): Promise<void> {
    const wanted = new Map(this.namespaces.map((n) => [n.namespace, this.readers.get(n.cluster)!.get(n.namespace).paused]));
    const { pause, resume } = stateTransitions(this.applied, wanted);
    for (const namespace of [...pause, ...resume]) {
      const followed = this.namespaces.find((n) => n.namespace === namespace);
      if (!followed) continue;
      const state = this.stateOf(namespace);
      const paused = pause.includes(namespace);
      try {
        await (paused ? followed.runner.pause() : followed.runner.resume());
        this.applied.set(namespace, paused);
        this.options.logger.info({ namespace, by: state?.by, updatedAt: state?.updatedAt }, paused ? 'namespace paused (wal namespace pause)' : 'namespace resumed (wal namespace resume)');
      } catch (error) {
        this.options.logger.warn({ namespace, err: error }, `could not ${paused ? 'pause' : 'resume'} the namespace runner; retrying at the next interval`);
      }
    }
  }
}
