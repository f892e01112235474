import { Mutex } from 'async-mutex';
import { DEFAULT_SHARD, type ConfigDocument, type NamespaceConfig, type WalConfig } from '../namespaces';
import type { Logger } from '../observability/logger';
import { resolveEntries, type NamespaceRegistry } from '../registry';
import type { InstanceRunner, WalInstance } from './instance';

export interface RegistryWatcherOptions {
  readonly registry: NamespaceRegistry;
  /** The cluster part of the instance's files: registry entries are resolved against it. */
  readonly clusters: readonly ConfigDocument[];
  readonly instance: WalInstance;
  /** This instance's shard: it runs exactly the registry namespaces of that shard. */
  readonly shard?: string;
  /** Namespaces the instance runs from its files: a registry entry of the same name is not run twice. */
  readonly fromFiles: ReadonlySet<string>;
  /** Creates the namespace's topics when missing (before its runner starts). */
  readonly provision: (namespace: NamespaceConfig, config: WalConfig) => Promise<void>;
  readonly runnerFor: (namespace: NamespaceConfig, config: WalConfig) => InstanceRunner;
  /** Makes the runner follow its namespace's state (paused or not) before it starts; rejects when unknown. */
  readonly follow?: (namespace: NamespaceConfig, runner: InstanceRunner) => Promise<void>;
  readonly unfollow?: (name: string) => void;
  readonly logger: Logger;
  /** How soon a namespace that failed to start is tried again (default 10 s). */
  readonly retryMs?: number;
}

interface Running {
  readonly runner: InstanceRunner;
  /** The resolved config it runs with: a change restarts it, anything else leaves it alone. */
  readonly fingerprint: string;
  readonly version: number;
}

/**
 * Keeps an instance's runners in line with the namespace registry, live: a namespace applied to
 * this shard is provisioned and started, a changed one is restarted with its new config (its state
 * directory kept, so only the changelog tail is restored), a deleted or moved one is stopped and
 * leaves its group. Each namespace is handled alone: one that fails to resolve or start is logged
 * and tried again later, and the others are not touched.
 */
export class RegistryWatcher {
  private readonly running = new Map<string, Running>();
  private readonly reported = new Map<string, string>();
  private readonly mutex = new Mutex();
  private unsubscribe?: () => void;
  private retryTimer?: NodeJS.Timeout;
  private stopped = false;

  constructor(private readonly options: RegistryWatcherOptions) {}

  /** Runs what the registry holds now, then follows it. */
  async start(): Promise<void> {
    await this.reconcile();
    this.unsubscribe = this.options.registry.onChange(() => this.schedule(100));
  }

  /** Stops following; the runners stay with the instance, which stops them. */
  stop(): void {
    this.stopped = true;
    this.unsubscribe?.();
    clearTimeout(this.retryTimer);
  }

  /** Namespaces started from the registry, with the version they run. */
  runningVersions(): Record<string, number> {
    return Object.fromEntries([...this.running].map(([name, r]) => [name, r.version]));
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => void this.reconcile().catch((error: unknown) => this.options.logger.error({ err: error }, 'registry: reconcile failed')), delayMs);
    this.retryTimer.unref();
  }

  /** One pass: stop what left, restart what changed, start what arrived. Passes never overlap. */
  reconcile(): Promise<void> {
    return this.mutex.runExclusive(async () => {
      if (this.stopped) return;
      const { registry, clusters, shard = DEFAULT_SHARD, fromFiles, logger } = this.options;
      const entries = registry.view.entries();
      const { config, problems } = resolveEntries(clusters, entries.values(), registry.topic);
      for (const problem of problems) this.reportOnce(problem.name, `v${problem.version}`, () => logger.error({ namespace: problem.name, version: problem.version, issues: problem.error.issues }, 'registry: namespace cannot be resolved here; not run'));
      const wanted = new Map(
        config.namespaces.filter((ns) => (ns.shard ?? DEFAULT_SHARD) === shard && !fromFiles.has(ns.name)).map((ns) => [ns.name, ns] as const),
      );
      for (const name of fromFiles) {
        if (entries.has(name)) this.reportOnce(name, 'files', () => logger.warn({ namespace: name }, 'registry: namespace is also in the files; the files win on this instance'));
      }

      let failed = false;
      for (const [name, run] of [...this.running]) {
        const ns = wanted.get(name);
        if (ns && fingerprint(ns, config) === run.fingerprint) continue;
        logger.info({ namespace: name, version: run.version, reason: ns ? 'changed' : 'deleted or moved to another shard' }, 'registry: stopping namespace');
        this.running.delete(name);
        this.options.unfollow?.(name);
        await this.options.instance.remove(run.runner).catch((error: unknown) => logger.error({ err: error, namespace: name }, 'registry: namespace did not stop cleanly'));
      }
      for (const [name, ns] of wanted) {
        if (this.running.has(name)) continue;
        const version = entries.get(name)?.version ?? 0;
        try {
          await this.options.provision(ns, config);
          const runner = this.options.runnerFor(ns, config);
          await this.options.follow?.(ns, runner);
          try {
            await this.options.instance.add(runner);
          } catch (error) {
            this.options.unfollow?.(name);
            throw error;
          }
          this.running.set(name, { runner, fingerprint: fingerprint(ns, config), version });
          this.reported.delete(name);
          logger.info({ namespace: name, version, shard }, 'registry: namespace started');
        } catch (error) {
          failed = true;
          logger.error({ err: error, namespace: name, version }, 'registry: namespace could not start; trying again');
        }
      }
      if (failed) this.schedule(this.options.retryMs ?? 10_000);
    });
  }

  private reportOnce(name: string, what: string, log: () => void): void {
    if (this.reported.get(name) === what) return;
    this.reported.set(name, what);
    log();
  }
}

/** The namespace and the clusters it uses, as resolved: equal fingerprints run the same. */
function fingerprint(ns: NamespaceConfig, config: WalConfig): string {
  const aliases = new Set([ns.cluster, ns.replication?.source, ...Object.values(ns.targets).map((t) => ('cluster' in t ? t.cluster : undefined))]);
  const clusters = Object.fromEntries(Object.entries(config.clusters).filter(([alias]) => aliases.has(alias)));
  return JSON.stringify({ ns, clusters });
}
