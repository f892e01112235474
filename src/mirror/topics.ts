import type { ReplicationConfig } from '../namespaces/types';
import { isInternalTopic, MIRROR_INTERNAL_PREFIX, selects, targetTopicName, topicPatternOf } from '../namespaces/mirrored-topics';

/**
 * Which source topics a mirror copies and what they are called on the target (pure: no Kafka here).
 * Mirrors MirrorMaker 2's DefaultReplicationPolicy and DefaultTopicFilter: `prefix` names a copy
 * `<sourceAlias>.<topic>`, `identity` keeps the name; internal topics are never selected, and in
 * prefix mode a topic that came from the target (`B.orders` when mirroring to B) is a cycle.
 */

export type RenamePolicy = ReplicationConfig['rename'];

// The naming rules live with the config (the loader needs them for replica namespaces).
export { isInternalTopic, MIRROR_INTERNAL_PREFIX, targetTopicName };

/**
 * In prefix mode, true when `topic` already passed through `targetAlias` (`B.orders`, `A.B.orders`
 * with target B): copying it back would loop. Only known cluster aliases count as prefixes, so a
 * topic called `orders.v1` is never mistaken for a copy.
 */
export function isCycle(topic: string, targetAlias: string, knownAliases: ReadonlySet<string>): boolean {
  let rest = topic;
  for (;;) {
    const dot = rest.indexOf('.');
    if (dot <= 0) return false;
    const head = rest.slice(0, dot);
    if (!knownAliases.has(head)) return false;
    if (head === targetAlias) return true;
    rest = rest.slice(dot + 1);
  }
}

export interface TopicSelection {
  /** Explicit names: copied as given (internal or not), as long as they exist. */
  readonly topics: readonly string[];
  /** Whole-name match (the config's `topicPattern`, anchored here). */
  readonly pattern?: RegExp;
  readonly rename: RenamePolicy;
  readonly sourceAlias: string;
  readonly targetAlias: string;
  readonly knownAliases: ReadonlySet<string>;
}

export function selectionFor(replication: ReplicationConfig, targetAlias: string, knownAliases: Iterable<string>): TopicSelection {
  return {
    topics: [...replication.topics],
    ...(replication.topicPattern !== undefined ? { pattern: topicPatternOf(replication) } : {}),
    rename: replication.rename,
    sourceAlias: replication.source,
    targetAlias,
    knownAliases: new Set(knownAliases),
  };
}

export interface MirroredTopic {
  readonly source: string;
  readonly target: string;
}

/** The source topics (of those that exist) this selection mirrors, sorted, with their target names. */
export function selectTopics(existing: Iterable<string>, selection: TopicSelection): MirroredTopic[] {
  const explicit = new Set(selection.topics);
  const out: MirroredTopic[] = [];
  for (const topic of new Set(existing)) {
    if (!selects(topic, explicit, selection.pattern)) continue;
    if (selection.rename === 'prefix' && isCycle(topic, selection.targetAlias, selection.knownAliases)) continue;
    out.push({ source: topic, target: targetTopicName(topic, selection.rename, selection.sourceAlias) });
  }
  return out.sort((a, b) => a.source.localeCompare(b.source));
}
