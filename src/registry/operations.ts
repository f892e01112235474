import { isDeepStrictEqual } from 'node:util';
import { configFromDocuments, ConfigError, type ConfigDocument, type NamespaceConfig } from '../namespaces';
import { changeRefusals, type RegistryEntry } from './entries';
import type { NamespaceRegistry } from './registry';
import { rawNamespaces, resolveEntries } from './resolve';

/** A change the registry cannot take (fewer partitions, another cluster, pending timers): the config itself may be valid. */
export class RegistryRefusalError extends ConfigError {
  constructor(issues: string[]) {
    super(issues);
    this.name = 'RegistryRefusalError';
  }
}

export interface PlannedChange {
  readonly entry: RegistryEntry;
  readonly action: 'created' | 'updated' | 'unchanged';
  /** The version it replaces (updated). */
  readonly previous?: number;
}

/** "created (v1)", "updated v1 → v2", "unchanged (v2)"; with `dryRun`, "would be …". */
export function describeChange(change: PlannedChange, dryRun = false): string {
  const { entry, action } = change;
  const text = action === 'updated' ? `updated v${change.previous} → v${entry.version}` : `${action} (v${entry.version})`;
  return `namespace ${entry.name}: ${dryRun && action !== 'unchanged' ? `would be ${text}` : text}`;
}

/**
 * What `wal namespace apply|delete` and the HTTP admin routes do to the registry, in one place:
 * validate with the loader's own messages, refuse what Kafka or the running state cannot follow,
 * then write. `pendingTimers` counts what a delete would leave undelivered.
 */
export class RegistryAdmin {
  constructor(
    readonly registry: NamespaceRegistry,
    /** The clusters namespaces are validated and resolved against. */
    readonly clusters: readonly ConfigDocument[],
    private readonly pendingTimers: (namespace: NamespaceConfig) => Promise<number>,
  ) {}

  get topic(): string {
    return this.registry.topic;
  }

  /** Validates every namespace of `documents`, then stores those that changed (unless `dryRun`). Nothing is stored when one fails. */
  async apply(documents: readonly ConfigDocument[], appliedBy: string, dryRun = false): Promise<PlannedChange[]> {
    const applied = configFromDocuments([...this.clusters, ...documents]);
    const plan: PlannedChange[] = [];
    const refusals: string[] = [];
    for (const { file, document } of rawNamespaces(documents)) {
      const name = String(document.name);
      const current = this.registry.view.get(name);
      if (current && isDeepStrictEqual(current.document, document)) {
        plan.push({ entry: current, action: 'unchanged' });
        continue;
      }
      if (current) {
        const before = resolveEntries(this.clusters, [current], this.topic).config.namespaces[0];
        const after = applied.namespaces.find((n) => n.name === name);
        if (before && after) refusals.push(...changeRefusals(before, after).map((r) => `${file}: namespace "${name}": ${r}`));
      }
      const version = this.registry.view.lastVersion(name) + 1;
      const entry: RegistryEntry = { name, version, document, appliedAt: new Date().toISOString(), appliedBy, source: file };
      plan.push(current ? { entry, action: 'updated', previous: current.version } : { entry, action: 'created' });
    }
    if (refusals.length > 0) throw new RegistryRefusalError(refusals);
    if (!dryRun) await this.registry.write(plan.filter((p) => p.action !== 'unchanged').map((p) => p.entry));
    return plan;
  }

  /**
   * Deletes a namespace (a tombstone and a version saying so; its topics are kept). Refused while
   * it has pending timers, saying how many, unless `force`.
   */
  async delete(name: string, appliedBy: string, source: string, options: { force?: boolean; dryRun?: boolean } = {}): Promise<{ entry: RegistryEntry; pending: number }> {
    const current = this.registry.view.get(name);
    if (!current) throw new ConfigError([`namespace "${name}" is not in the registry ${this.topic}`]);
    const ns = resolveEntries(this.clusters, [current], this.topic).config.namespaces[0];
    const pending = ns && !ns.replication ? await this.pendingTimers(ns) : 0;
    if (pending > 0 && !options.force) {
      throw new RegistryRefusalError([
        `namespace "${name}" still has ${pending} pending timer(s) in ${ns.topics.timersChangelog}: deleting it stops their delivery (its topics are kept; applying it again picks them up). Pass --force (HTTP: ?force=true) to delete anyway`,
      ]);
    }
    const entry: RegistryEntry = { name, version: this.registry.view.lastVersion(name) + 1, deleted: true, appliedAt: new Date().toISOString(), appliedBy, source };
    if (!options.dryRun) await this.registry.write([entry]);
    return { entry, pending };
  }
}
