import type { Admin, Message, Producer } from 'kafkajs';
import type { Logger } from '../observability/logger';
import type { OffsetSyncStore } from './offset-syncs';

/**
 * Consumer-group offset translation (MM2's checkpoints). Each round reads the committed offsets of
 * the configured groups on the source, translates them through the offset syncs, publishes one
 * checkpoint record per group/partition to the checkpoint topic on the target and, when enabled,
 * commits them to the same group on the target if that group has no active member (a consumer that
 * fails over then resumes there). Offsets only move forward on the target: a group that already
 * consumed further there is never rewound.
 */

export interface GroupCheckpoint {
  readonly group: string;
  readonly sourceTopic: string;
  readonly targetTopic: string;
  readonly partition: number;
  /** Committed offset of the group on the source. */
  readonly upstreamOffset: bigint;
  /** Where the same group resumes on the target. */
  readonly downstreamOffset: bigint;
}

/** Translates committed source offsets (-1 = none) of one group; partitions without a usable sync are left out. */
export function translateGroup(
  group: string,
  committed: ReadonlyArray<{ topic: string; partitions: ReadonlyArray<{ partition: number; offset: string }> }>,
  syncs: OffsetSyncStore,
): GroupCheckpoint[] {
  const out: GroupCheckpoint[] = [];
  for (const { topic, partitions } of committed) {
    for (const { partition, offset } of partitions) {
      const upstream = BigInt(offset);
      if (upstream < 0n) continue;
      const translated = syncs.translate(topic, partition, upstream);
      if (translated) out.push({ group, sourceTopic: topic, targetTopic: translated.targetTopic, partition, upstreamOffset: upstream, downstreamOffset: translated.offset });
    }
  }
  return out;
}

export function checkpointRecord(c: GroupCheckpoint, sourceAlias: string, now: number): Message {
  return {
    key: JSON.stringify({ group: c.group, topic: c.targetTopic, partition: c.partition }),
    value: JSON.stringify({
      sourceCluster: sourceAlias,
      sourceTopic: c.sourceTopic,
      upstreamOffset: c.upstreamOffset.toString(),
      downstreamOffset: c.downstreamOffset.toString(),
      timestamp: now,
    }),
  };
}

export interface CheckpointRound {
  readonly checkpoints: GroupCheckpoint[];
  /** Partitions committed to target groups this round. */
  readonly applied: GroupCheckpoint[];
  /** Groups left alone because they have active members on the target. */
  readonly busyGroups: string[];
}

export interface GroupCheckpointerOptions {
  readonly source: Admin;
  readonly target: Admin;
  readonly producer: Producer;
  readonly checkpointTopic: string;
  readonly sourceAlias: string;
  readonly groups: readonly string[];
  readonly syncs: OffsetSyncStore;
  /** Source topics currently mirrored. */
  readonly sourceTopics: () => string[];
  readonly applyToIdleGroups: boolean;
  readonly logger: Logger;
  readonly now?: () => number;
}

export class GroupCheckpointer {
  constructor(private readonly options: GroupCheckpointerOptions) {}

  async run(): Promise<CheckpointRound> {
    const { source, groups, syncs, sourceTopics } = this.options;
    const topics = sourceTopics();
    const checkpoints: GroupCheckpoint[] = [];
    const applied: GroupCheckpoint[] = [];
    const busyGroups: string[] = [];
    if (topics.length === 0 || groups.length === 0) return { checkpoints, applied, busyGroups };
    for (const group of groups) {
      const committed = await source.fetchOffsets({ groupId: group, topics });
      const translated = translateGroup(group, committed, syncs);
      if (translated.length === 0) continue;
      checkpoints.push(...translated);
      if (this.options.applyToIdleGroups) {
        const done = await this.apply(group, translated);
        if (done === null) busyGroups.push(group);
        else applied.push(...done);
      }
    }
    if (checkpoints.length > 0) {
      const now = (this.options.now ?? Date.now)();
      await this.options.producer.send({
        topic: this.options.checkpointTopic,
        acks: -1,
        messages: checkpoints.map((c) => checkpointRecord(c, this.options.sourceAlias, now)),
      });
    }
    return { checkpoints, applied, busyGroups };
  }

  /** Commits translated offsets that are ahead of the target group's own; null when the group has members. */
  private async apply(group: string, translated: GroupCheckpoint[]): Promise<GroupCheckpoint[] | null> {
    const { target, logger } = this.options;
    const { groups } = await target.describeGroups([group]);
    const described = groups[0];
    if (described && described.members.length > 0) return null;
    const byTopic = new Map<string, GroupCheckpoint[]>();
    for (const c of translated) byTopic.set(c.targetTopic, [...(byTopic.get(c.targetTopic) ?? []), c]);
    const current = await target.fetchOffsets({ groupId: group, topics: [...byTopic.keys()] });
    const applied: GroupCheckpoint[] = [];
    for (const [topic, list] of byTopic) {
      const have = new Map((current.find((t) => t.topic === topic)?.partitions ?? []).map((p) => [p.partition, BigInt(p.offset)]));
      const ahead = list.filter((c) => c.downstreamOffset > (have.get(c.partition) ?? -1n));
      if (ahead.length === 0) continue;
      try {
        await target.setOffsets({ groupId: group, topic, partitions: ahead.map((c) => ({ partition: c.partition, offset: c.downstreamOffset.toString() })) });
        applied.push(...ahead);
      } catch (error) {
        // A consumer joined between describe and commit: it owns its position now.
        logger.info({ group, topic, err: error }, 'target group became active; translated offsets not applied');
        return applied.length > 0 ? applied : null;
      }
    }
    return applied;
  }
}
