import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { createLogger, type Logger } from '../observability/logger';
import { ShutdownTimeoutError } from '../engine/errors';
import type { NamespaceStatus } from '../engine/internals/runner-status';

/**
 * What an instance runs per namespace: the stream engine's NamespaceRunner, or a runner of its own
 * kind (the cross-cluster mirror) with the same lifecycle and status.
 */
export interface InstanceRunner {
  start(): Promise<void>;
  stop(): Promise<void>;
  status(): Promise<NamespaceStatus>;
  /** Holds all processing (fetching, timers, applying, mirroring) until resume(); records stay in Kafka. Callable before start(). */
  pause(): Promise<void>;
  resume(): Promise<void>;
}

/**
 * Something that follows state outside the instance and applies it to its runners (the namespace
 * state follower): `load` runs before any runner starts, `start` after they all did, `stop` first.
 */
export interface InstanceFollower {
  load(): Promise<void>;
  start(): void;
  stop(): Promise<void>;
}

export interface InstanceStatus {
  readonly instanceId: string;
  readonly pid: number;
  readonly startedAt: string;
  readonly updatedAt: string;
  readonly stateDir: string;
  readonly namespaces: NamespaceStatus[];
}

/** `<stateDir>/.status/<instanceId>.json`: what `wal status` reads. */
export function statusFile(stateDir: string, instanceId: string): string {
  return path.join(stateDir, '.status', `${instanceId}.json`);
}

/** Status files of the instances that used `stateDir` (running or not: check `pid`/`updatedAt`). */
export async function readInstanceStatuses(stateDir: string): Promise<InstanceStatus[]> {
  const dir = path.join(stateDir, '.status');
  const names = await readdir(dir).catch(() => [] as string[]);
  const out: InstanceStatus[] = [];
  for (const name of names.filter((n) => n.endsWith('.json'))) {
    try {
      out.push(JSON.parse(await readFile(path.join(dir, name), 'utf8')) as InstanceStatus);
    } catch {
      // A file being replaced or foreign: skip it.
    }
  }
  return out;
}

/**
 * One wal process: a runner per namespace, a status file refreshed every few seconds, and a bounded
 * stop. Signal handling belongs to the caller (`wal start`).
 */
export class WalInstance {
  private readonly startedAt = new Date().toISOString();
  private statusTimer?: NodeJS.Timeout;
  private stopping?: Promise<void>;
  private readonly logger: Logger;

  private readonly current: InstanceRunner[];

  constructor(
    readonly instanceId: string,
    readonly stateDir: string,
    runners: readonly InstanceRunner[],
    logger?: Logger,
    private readonly follower?: InstanceFollower,
  ) {
    this.current = [...runners];
    this.logger = logger ?? createLogger({ instance: instanceId });
  }

  /** The runners this instance runs now (namespaces from the registry come and go). */
  get runners(): readonly InstanceRunner[] {
    return this.current;
  }

  async start(): Promise<void> {
    // Before any runner starts, so that a paused namespace never processes a record.
    await this.follower?.load();
    try {
      for (const runner of this.current) await runner.start();
      this.follower?.start();
    } catch (error) {
      await this.follower?.stop().catch(() => undefined);
      await Promise.allSettled(this.current.map((r) => r.stop()));
      throw error;
    }
    await this.writeStatus();
    this.statusTimer = setInterval(() => void this.writeStatus().catch(() => undefined), 2000);
    this.statusTimer.unref();
  }

  /** Stops every runner (commit, close stores, leave groups); rejects with ShutdownTimeoutError after `timeoutMs`. */
  /** Starts a runner and adds it (a namespace that appeared while the instance runs); rejects, not adding it, when it cannot start. */
  async add(runner: InstanceRunner): Promise<void> {
    if (this.stopping) throw new Error('the instance is stopping');
    try {
      await runner.start();
    } catch (error) {
      await runner.stop().catch(() => undefined);
      throw error;
    }
    this.current.push(runner);
  }

  /** Stops a runner (commit, close stores, leave its group) and forgets it; the others are not touched. */
  async remove(runner: InstanceRunner): Promise<void> {
    const at = this.current.indexOf(runner);
    if (at >= 0) this.current.splice(at, 1);
    await runner.stop();
  }

  stop(timeoutMs = 30000): Promise<void> {
    this.stopping ??= (async () => {
      clearInterval(this.statusTimer);
      await this.follower?.stop().catch((err: unknown) => this.logger.warn({ err }, 'stopping the namespace state follower failed'));
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new ShutdownTimeoutError(timeoutMs)), timeoutMs);
      });
      try {
        await Promise.race([Promise.all(this.current.map((r) => r.stop())), deadline]);
      } finally {
        clearTimeout(timer);
        await rm(statusFile(this.stateDir, this.instanceId), { force: true }).catch(() => undefined);
      }
      this.logger.info('instance stopped');
    })();
    return this.stopping;
  }

  async status(): Promise<InstanceStatus> {
    return {
      instanceId: this.instanceId,
      pid: process.pid,
      startedAt: this.startedAt,
      updatedAt: new Date().toISOString(),
      stateDir: path.resolve(this.stateDir),
      namespaces: await Promise.all(this.current.map((r) => r.status())),
    };
  }

  private async writeStatus(): Promise<void> {
    const file = statusFile(this.stateDir, this.instanceId);
    await mkdir(path.dirname(file), { recursive: true });
    const tmp = `${file}.tmp`;
    await writeFile(tmp, JSON.stringify(await this.status(), null, 2));
    await rename(tmp, file);
  }
}
