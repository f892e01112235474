import type { ReplicationConfig } from '../namespaces/types';

/**
 * Which source topics a mirror copies and what they are called on the target (pure: no Kafka here).
 * Mirrors MirrorMaker 2's DefaultReplicationPolicy and DefaultTopicFilter: `prefix` names a copy
 * `<sourceAlias>.<topic>`, `identity` keeps the name; internal topics are never selected, and in
 * prefix mode a topic that came from the target (`B.orders` when mirroring to B) is a cycle.
 */

export type RenamePolicy = ReplicationConfig['rename'];

/** Prefix of the topics the mirror itself keeps on the target (positions, offset syncs). */
export const MIRROR_INTERNAL_PREFIX = 'wal.mirror.';

/** MM2's default exclusions plus the mirror's own topics. */
const INTERNAL_TOPIC = /(^__)|([-.]internal$)|(\.replica$)|(^wal\.mirror\.)|(^mm2-)/;

export function isInternalTopic(topic: string): boolean {
  return INTERNAL_TOPIC.test(topic);
}

export function targetTopicName(sourceTopic: string, policy: RenamePolicy, sourceAlias: string): string {
  return policy === 'identity' ? sourceTopic : `${sourceAlias}.${sourceTopic}`;
}

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
    ...(replication.topicPattern !== undefined ? { pattern: new RegExp(`^(?:${replication.topicPattern})$`) } : {}),
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
    const wanted = explicit.has(topic) || (selection.pattern !== undefined && selection.pattern.test(topic) && !isInternalTopic(topic));
    if (!wanted) continue;
    if (selection.rename === 'prefix' && isCycle(topic, selection.targetAlias, selection.knownAliases)) continue;
    out.push({ source: topic, target: targetTopicName(topic, selection.rename, selection.sourceAlias) });
  }
  return out.sort((a, b) => a.source.localeCompare(b.source));
}
