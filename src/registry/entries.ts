import type { KafkaMessage } from 'kafkajs';
import type { NamespaceConfig } from '../namespaces/types';

/**
 * The namespace registry's records, on one compacted topic (Kafka Connect's config topic is the
 * model). Two keys per namespace, so that compaction keeps the history as well as the present:
 *
 *   `<name>`            → the current entry; a tombstone once deleted
 *   `<name>@<version>`  → every entry ever applied (deletes too), never overwritten
 *
 * An entry holds the namespace as it was written in its file (a YAML mapping as JSON), `${ENV}`
 * references and `file:` secrets unresolved: each instance resolves them from its own environment,
 * so a secret given by reference never lands in Kafka.
 */
export const DEFAULT_REGISTRY_TOPIC = 'wal.namespaces';

export interface RegistryEntry {
  readonly name: string;
  /** 1 for the first apply, +1 for every change or delete. */
  readonly version: number;
  /** The namespace mapping as written (absent on a delete). */
  readonly document?: Record<string, unknown>;
  readonly deleted?: boolean;
  readonly appliedAt: string;
  /** Who applied it: `user@host` of the CLI, or the API key id. */
  readonly appliedBy: string;
  /** Where it came from: a file path, or `http`. */
  readonly source: string;
}

export function currentKey(name: string): string {
  return name;
}

export function versionKey(name: string, version: number): string {
  return `${name}@${String(version).padStart(10, '0')}`;
}

export function encodeEntry(entry: RegistryEntry): Buffer {
  return Buffer.from(JSON.stringify(entry));
}

/** Undefined for a record that is not a registry entry (written by something else): skipped, never fatal. */
export function decodeEntry(value: Buffer): RegistryEntry | undefined {
  try {
    const parsed = JSON.parse(value.toString()) as Partial<RegistryEntry>;
    if (typeof parsed.name !== 'string' || typeof parsed.version !== 'number' || typeof parsed.appliedAt !== 'string') return undefined;
    return parsed as RegistryEntry;
  } catch {
    return undefined;
  }
}

/** What the registry topic says, folded record by record: the current entry per namespace and every version. */
export class RegistryView {
  private readonly current = new Map<string, RegistryEntry>();
  private readonly versions = new Map<string, RegistryEntry[]>();

  apply(message: Pick<KafkaMessage, 'key' | 'value'>): void {
    if (message.key === null) return;
    const key = message.key.toString();
    const at = key.indexOf('@');
    if (message.value === null) {
      if (at < 0) this.current.delete(key);
      return;
    }
    const entry = decodeEntry(message.value);
    if (!entry) return;
    if (at >= 0) {
      const list = this.versions.get(entry.name) ?? [];
      if (!list.some((e) => e.version === entry.version)) list.push(entry);
      list.sort((a, b) => a.version - b.version);
      this.versions.set(entry.name, list);
    } else if (entry.deleted) {
      this.current.delete(key);
    } else {
      this.current.set(key, entry);
    }
  }

  /** Current namespaces by name. */
  entries(): ReadonlyMap<string, RegistryEntry> {
    return this.current;
  }

  get(name: string): RegistryEntry | undefined {
    return this.current.get(name);
  }

  history(name: string): readonly RegistryEntry[] {
    return this.versions.get(name) ?? [];
  }

  /** The last version ever written for `name`, deletes included (0 when never): the next apply is one more. */
  lastVersion(name: string): number {
    const list = this.versions.get(name);
    return Math.max(list?.[list.length - 1]?.version ?? 0, this.current.get(name)?.version ?? 0);
  }
}

/**
 * Why a namespace may not change from `before` to `after`, or an empty list. Kafka cannot take
 * partitions away from a topic, and the state of a namespace lives on its cluster: both would need
 * a new namespace, not an edit.
 */
export function changeRefusals(before: NamespaceConfig, after: NamespaceConfig): string[] {
  const refusals: string[] = [];
  if (after.partitions < before.partitions) {
    refusals.push(`partitions: ${before.partitions} → ${after.partitions} would shrink its topics, which Kafka cannot do; create a new namespace instead`);
  }
  if (after.cluster !== before.cluster) {
    refusals.push(`cluster: "${before.cluster}" → "${after.cluster}" would leave its topics, timers and DLQ behind on "${before.cluster}"; create a new namespace on "${after.cluster}" instead`);
  }
  if (Boolean(after.replication) !== Boolean(before.replication)) {
    refusals.push(`replication: a namespace cannot turn ${before.replication ? 'from a mirror into a queue' : 'from a queue into a mirror'}; create a new namespace instead`);
  }
  return refusals;
}
