import { ConfigResourceTypes, type Admin } from 'kafkajs';
import { applyTopics, type TopicSpec } from '../kafka';
import { MirrorTopicError } from './errors';
import type { MirroredTopic } from './topics';

/**
 * Target topics are created like their source (MM2's topic creation): same partition count and the
 * source's own (non-default) values of the configs that change what a reader sees (COPIED_CONFIGS,
 * an allow-list, where MM2 has config.properties.exclude). Afterwards, at every discovery, partitions
 * are added when the source grew and those configs follow the source's; nothing else of a target
 * topic is touched.
 */

export const COPIED_CONFIGS = ['cleanup.policy', 'retention.ms', 'retention.bytes', 'max.message.bytes'] as const;

export interface TopicLayout extends MirroredTopic {
  readonly sourcePartitions: number;
  readonly targetPartitions: number;
}

/** Partitions per topic (topics that do not exist are absent). */
export async function partitionCounts(admin: Admin, topics: readonly string[]): Promise<Map<string, number>> {
  if (topics.length === 0) return new Map();
  const known = new Set(await admin.listTopics());
  const present = topics.filter((t) => known.has(t));
  if (present.length === 0) return new Map();
  const { topics: metadata } = await admin.fetchTopicMetadata({ topics: present });
  return new Map(metadata.map((t) => [t.name, t.partitions.length]));
}

/** The topic-level (non-default) values of COPIED_CONFIGS on the source. */
export async function copiedConfigs(admin: Admin, topic: string): Promise<Record<string, string>> {
  const { resources } = await admin.describeConfigs({
    includeSynonyms: false,
    resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configNames: [...COPIED_CONFIGS] }],
  });
  const out: Record<string, string> = {};
  for (const entry of resources[0]?.configEntries ?? []) {
    if (!entry.isDefault && entry.configValue !== null && entry.configValue !== undefined) out[entry.configName] = entry.configValue;
  }
  return out;
}

/** Topic-level (non-default) config values of several topics in one request. */
async function overrides(admin: Admin, topics: readonly string[], names?: readonly string[]): Promise<Map<string, Record<string, string>>> {
  const out = new Map<string, Record<string, string>>();
  if (topics.length === 0) return out;
  const { resources } = await admin.describeConfigs({
    includeSynonyms: false,
    resources: topics.map((name) => ({ type: ConfigResourceTypes.TOPIC, name, ...(names ? { configNames: [...names] } : {}) })),
  });
  for (const resource of resources) {
    const values: Record<string, string> = {};
    for (const entry of resource.configEntries) {
      if (!entry.isDefault && !entry.isSensitive && entry.configValue !== null && entry.configValue !== undefined) values[entry.configName] = entry.configValue;
    }
    out.set(resource.resourceName, values);
  }
  return out;
}

/**
 * Makes the COPIED_CONFIGS of existing target topics equal their source's: a value changed or set
 * on the source is set on the target, one back to its default on the source is removed there.
 * kafkajs only has the non-incremental AlterConfigs, which replaces a topic's whole set of overrides,
 * so the target's other overrides are read first and sent back unchanged.
 */
export async function syncTopicConfigs(source: Admin, target: Admin, topics: readonly MirroredTopic[]): Promise<string[]> {
  if (topics.length === 0) return [];
  const [wanted, present] = await Promise.all([overrides(source, topics.map((t) => t.source), COPIED_CONFIGS), overrides(target, topics.map((t) => t.target))]);
  const changed: string[] = [];
  for (const t of topics) {
    const want = wanted.get(t.source) ?? {};
    const have = present.get(t.target) ?? {};
    const differs = COPIED_CONFIGS.some((name) => name !== 'cleanup.policy' && want[name] !== have[name]) || (want['cleanup.policy'] ?? 'delete') !== (have['cleanup.policy'] ?? 'delete');
    if (!differs) continue;
    const others = Object.entries(have).filter(([name]) => !(COPIED_CONFIGS as readonly string[]).includes(name));
    const next = { ...Object.fromEntries(others), 'cleanup.policy': 'delete', ...want };
    await target.alterConfigs({
      validateOnly: false,
      resources: [{ type: ConfigResourceTypes.TOPIC, name: t.target, configEntries: Object.entries(next).map(([name, value]) => ({ name, value })) }],
    });
    changed.push(t.target);
  }
  return changed;
}

function spec(topic: string, partitions: number, replicationFactor: number, configs: Record<string, string>, cluster: string): TopicSpec {
  return { topic, cluster, role: 'delivery', partitions, replicationFactor, configs: { 'cleanup.policy': 'delete', ...configs } };
}

/**
 * Makes sure every selected topic has its copy on the target; returns both partition counts per topic.
 * A topic that vanished from the source between listing and now is left out.
 */
export async function ensureTargetTopics(
  source: Admin,
  target: Admin,
  topics: readonly MirroredTopic[],
  options: { replicationFactor: number; targetCluster: string },
): Promise<TopicLayout[]> {
  if (topics.length === 0) return [];
  try {
    const sourceCounts = await partitionCounts(source, topics.map((t) => t.source));
    let targetCounts = await partitionCounts(target, topics.map((t) => t.target));
    const missing = topics.filter((t) => sourceCounts.has(t.source) && !targetCounts.has(t.target));
    if (missing.length > 0) {
      const specs = await Promise.all(
        missing.map(async (t) => spec(t.target, sourceCounts.get(t.source)!, options.replicationFactor, await copiedConfigs(source, t.source), options.targetCluster)),
      );
      await applyTopics(target, specs);
    }
    const grown = topics.filter((t) => (targetCounts.get(t.target) ?? Infinity) < (sourceCounts.get(t.source) ?? 0));
    for (const t of grown) {
      await target.createPartitions({ topicPartitions: [{ topic: t.target, count: sourceCounts.get(t.source)! }] });
    }
    if (missing.length > 0 || grown.length > 0) targetCounts = await partitionCounts(target, topics.map((t) => t.target));
    const existing = topics.filter((t) => sourceCounts.has(t.source) && targetCounts.has(t.target) && !missing.includes(t));
    await syncTopicConfigs(source, target, existing);
    return topics
      .filter((t) => sourceCounts.has(t.source) && targetCounts.has(t.target))
      .map((t) => ({ ...t, sourcePartitions: sourceCounts.get(t.source)!, targetPartitions: targetCounts.get(t.target)! }));
  } catch (error) {
    if (error instanceof MirrorTopicError) throw error;
    throw new MirrorTopicError(`cannot provision target topics ${topics.map((t) => t.target).join(', ')}: ${(error as Error).message}`, { cause: error });
  }
}

/** The mirror's own compacted, single-partition topics on the target (positions, offset syncs, checkpoints). */
export async function ensureInternalTopics(target: Admin, topics: readonly string[], options: { replicationFactor: number; targetCluster: string }): Promise<void> {
  const counts = await partitionCounts(target, topics);
  const missing = topics.filter((t) => !counts.has(t));
  if (missing.length === 0) return;
  try {
    await applyTopics(
      target,
      missing.map((t) => spec(t, 1, options.replicationFactor, { 'cleanup.policy': 'compact', 'min.cleanable.dirty.ratio': '0.1' }, options.targetCluster)),
    );
  } catch (error) {
    throw new MirrorTopicError(`cannot create the mirror's internal topics ${missing.join(', ')}: ${(error as Error).message}`, { cause: error });
  }
}
