import { Admin, ConfigResourceTypes } from 'kafkajs';
import { waitForLeaders } from '../kafka/apply';
import type { Logger } from '../observability/logger';
import { ChangelogTopicError } from './errors';

export interface ChangelogTopicSpec {
  readonly topic: string;
  /** Same as the input topics: store partition p lives on changelog partition p. */
  readonly partitions: number;
  readonly replicationFactor: number;
}

/**
 * Creates missing changelog topics (cleanup.policy=compact) and checks existing ones: a changelog
 * with a different partition count than its input cannot hold per-partition state.
 */
export async function ensureChangelogTopics(admin: Admin, specs: readonly ChangelogTopicSpec[], logger: Logger): Promise<void> {
  if (specs.length === 0) return;
  const existing = new Set(await admin.listTopics());
  const missing = specs.filter((s) => !existing.has(s.topic));
  if (missing.length > 0) {
    await admin.createTopics({
      // kafkajs' wait fails on a KRaft broker that does not know the new topics yet ("does not host this
      // topic-partition"), which stopped a runner on a fresh cluster: wait the way provisioning does.
      waitForLeaders: false,
      topics: missing.map((s) => ({
        topic: s.topic,
        numPartitions: s.partitions,
        replicationFactor: s.replicationFactor,
        configEntries: [
          { name: 'cleanup.policy', value: 'compact' },
          // Restores read the whole log: keep the dirty (uncompacted) part small.
          { name: 'min.cleanable.dirty.ratio', value: '0.1' },
          { name: 'segment.ms', value: String(6 * 3600 * 1000) },
        ],
      })),
    });
    await waitForLeaders(admin, missing.map((s) => s.topic), 30_000);
    logger.info({ topics: missing.map((s) => s.topic) }, 'created compacted changelog topics');
  }
  const present = specs.filter((s) => existing.has(s.topic));
  if (present.length === 0) return;
  const metadata = await admin.fetchTopicMetadata({ topics: present.map((s) => s.topic) });
  for (const spec of present) {
    const found = metadata.topics.find((t) => t.name === spec.topic);
    if (found && found.partitions.length !== spec.partitions) {
      throw new ChangelogTopicError(
        `changelog topic ${spec.topic} has ${found.partitions.length} partitions but its input has ${spec.partitions}: ` +
          'delete it (state is rebuilt from the input) or give the store another changelog topic',
      );
    }
  }
  const configs = await admin.describeConfigs({
    includeSynonyms: false,
    resources: present.map((s) => ({ type: ConfigResourceTypes.TOPIC, name: s.topic, configNames: ['cleanup.policy'] })),
  });
  for (const resource of configs.resources) {
    const policy = resource.configEntries.find((e) => e.configName === 'cleanup.policy')?.configValue ?? '';
    if (!policy.includes('compact')) {
      logger.warn({ topic: resource.resourceName, policy }, 'changelog topic is not compacted: restores will read every write ever made');
    }
  }
}
