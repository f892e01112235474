import type { Kafka } from 'kafkajs';
import type { ConfigDocument, WalConfig } from '../namespaces';
import type { Logger } from '../observability/logger';
import { NamespaceRegistry } from './registry';
import { clusterDocuments, resolveEntries } from './resolve';

/**
 * The configuration of a process that takes writes (the WriteToLog writer, `wal api`): the
 * namespaces of its files plus those of the registry, followed live, so that a namespace applied a
 * second ago is already known. A name in both is the files' (as on `wal start`).
 */
export class LiveConfig {
  private resolved?: WalConfig;
  private readonly unsubscribe: () => void;

  private constructor(
    readonly registry: NamespaceRegistry,
    private readonly files: WalConfig,
    /** The cluster part of the files: registry entries are resolved (and applied ones validated) against it. */
    readonly clusters: readonly ConfigDocument[],
    private readonly logger: Logger,
  ) {
    this.unsubscribe = registry.onChange(() => (this.resolved = undefined));
  }

  static async open(kafka: Kafka, options: { topic?: string; cluster?: string; files: WalConfig; documents: readonly ConfigDocument[]; logger: Logger }): Promise<LiveConfig> {
    const registry = await NamespaceRegistry.open(kafka, { topic: options.topic, cluster: options.cluster });
    return new LiveConfig(registry, options.files, clusterDocuments(options.documents), options.logger);
  }

  /** Files and registry namespaces as of the last record read. */
  current(): WalConfig {
    if (!this.resolved) {
      const fromFiles = new Set(this.files.namespaces.map((ns) => ns.name));
      const entries = [...this.registry.view.entries().values()].filter((e) => !fromFiles.has(e.name));
      const { config, problems } = resolveEntries(this.clusters, entries, this.registry.topic);
      for (const problem of problems) this.logger.warn({ namespace: problem.name, version: problem.version, issues: problem.error.issues }, 'registry namespace cannot be resolved here: writes to it are refused');
      this.resolved = { ...this.files, namespaces: [...this.files.namespaces, ...config.namespaces] };
    }
    return this.resolved;
  }

  /** Reads the registry up to what was written before the call (a namespace not known yet may just have been applied). */
  async refresh(timeoutMs: number): Promise<void> {
    await this.registry.refresh(timeoutMs);
  }

  async close(): Promise<void> {
    this.unsubscribe();
    await this.registry.close();
  }
}
