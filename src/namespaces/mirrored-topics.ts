import type { ReplicationConfig } from './types';

/**
 * How a mirror names and picks topics, as the config states it (pure). The mirror (src/mirror) applies
 * it at run time; the loader needs the same answers to tell where a replica namespace's requests
 * arrive (see replicas.ts).
 */

/** Prefix of the topics the mirror itself keeps on the target (positions, offset syncs). */
export const MIRROR_INTERNAL_PREFIX = 'wal.mirror.';

/** MirrorMaker 2's default exclusions plus the mirror's own topics. */
const INTERNAL_TOPIC = /(^__)|([-.]internal$)|(\.replica$)|(^wal\.mirror\.)|(^mm2-)/;

export function isInternalTopic(topic: string): boolean {
  return INTERNAL_TOPIC.test(topic);
}

/** `prefix` names a copy `<sourceAlias>.<topic>`, `identity` keeps the name (MM2's DefaultReplicationPolicy). */
export function targetTopicName(sourceTopic: string, policy: ReplicationConfig['rename'], sourceAlias: string): string {
  return policy === 'identity' ? sourceTopic : `${sourceAlias}.${sourceTopic}`;
}

/** `topicPattern` as a whole-name match. */
export function topicPatternOf(replication: Pick<ReplicationConfig, 'topicPattern'>): RegExp | undefined {
  return replication.topicPattern !== undefined ? new RegExp(`^(?:${replication.topicPattern})$`) : undefined;
}

/** Whether a selection copies `topic`: named explicitly (internal or not), or matching the pattern and not internal. */
export function selects(topic: string, explicit: ReadonlySet<string>, pattern: RegExp | undefined): boolean {
  return explicit.has(topic) || (pattern !== undefined && pattern.test(topic) && !isInternalTopic(topic));
}
