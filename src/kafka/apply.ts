import { ConfigResourceTypes, type Admin } from 'kafkajs';
import { TopicProvisioningError } from './errors';

/** A topic wal creates and keeps in shape (partitions, replication, configs). */
export interface TopicSpec {
  readonly topic: string;
  /** Cluster alias (see WalConfig.clusters). */
  readonly cluster: string;
  /** What the topic is for (in messages only). */
  readonly role: string;
  readonly partitions: number;
  readonly replicationFactor: number;
  /** Topic-level configs set at creation (cleanup.policy always present, so drift can be checked). */
  readonly configs: Readonly<Record<string, string>>;
}

/**
 * Brings a cluster's topics in line with a plan, additively: missing topics are created; existing ones are only
 * compared. A topic that differs (partition count, cleanup.policy, replication factor) is reported as drift and
 * left exactly as it is: changing partitions moves keys, changing compaction deletes records, and both are
 * decisions for a person, not for a deploy.
 */

export type DriftKind = 'partitions' | 'cleanup.policy' | 'replication-factor';

export interface DriftReport {
  readonly topic: string;
  readonly role: TopicSpec['role'];
  readonly kind: DriftKind;
  readonly expected: string | number;
  readonly actual: string | number;
  /** One line for people: what differs and what it means. */
  readonly message: string;
}

export interface ApplyResult {
  readonly created: string[];
  readonly unchanged: string[];
  readonly drift: DriftReport[];
}

export interface ApplyOptions {
  /** Per createTopics call, ms (kafkajs default 5000). */
  readonly timeoutMs?: number;
  /** How long created topics may take to have a leader on every partition (default 30 s). */
  readonly leaderTimeoutMs?: number;
}

/** Applies `specs` (all on the cluster `admin` talks to). Never deletes or alters a topic. */
export async function applyTopics(admin: Admin, specs: readonly TopicSpec[], options: ApplyOptions = {}): Promise<ApplyResult> {
  const unique = [...new Map(specs.map((s) => [s.topic, s])).values()];
  const listed = new Set(await admin.listTopics());
  const missing = unique.filter((s) => !listed.has(s.topic));

  // One call per topic: createTopics answers only "all created" or "some existed", and a concurrent
  // provisioner may create any of them in between.
  const outcomes = await Promise.all(missing.map(async (spec) => ({ spec, created: await createTopic(admin, spec, options) })));
  const created = outcomes.filter((o) => o.created).map((o) => o.spec.topic);
  await waitForLeaders(admin, created, options.leaderTimeoutMs ?? 30_000);
  const existing = [...unique.filter((s) => listed.has(s.topic)), ...outcomes.filter((o) => !o.created).map((o) => o.spec)];

  const drift = existing.length > 0 ? await findDrift(admin, existing) : [];
  const drifted = new Set(drift.map((d) => d.topic));
  const unchanged = existing.filter((s) => !drifted.has(s.topic)).map((s) => s.topic);
  return { created, unchanged, drift };
}

async function createTopic(admin: Admin, spec: TopicSpec, options: ApplyOptions): Promise<boolean> {
  try {
    return await admin.createTopics({
      // kafkajs' own wait fails on KRaft brokers, which answer UNKNOWN_TOPIC_OR_PARTITION until metadata
      // propagates; see waitForLeaders below.
      waitForLeaders: false,
      ...(options.timeoutMs !== undefined ? { timeout: options.timeoutMs } : {}),
      topics: [
        {
          topic: spec.topic,
          numPartitions: spec.partitions,
          replicationFactor: spec.replicationFactor,
          configEntries: Object.entries(spec.configs).map(([name, value]) => ({ name, value })),
        },
      ],
    });
  } catch (error) {
    const reasons = (error as { errors?: { message?: string }[] }).errors?.map((e) => e.message).join('; ');
    throw new TopicProvisioningError(
      `cannot create topic "${spec.topic}" (${spec.partitions} partitions, replication factor ${spec.replicationFactor}): ${reasons || (error as Error).message}`,
      [spec.topic],
      Boolean((error as { retriable?: boolean }).retriable),
      { cause: error },
    );
  }
}

/**
 * Waits until every partition of `topics` has a leader, so callers can produce right after creating them.
 * kafkajs' own createTopics wait cannot be used on KRaft (see createTopic).
 */
export async function waitForLeaders(admin: Admin, topics: string[], timeoutMs: number): Promise<void> {
  if (topics.length === 0) return;
  const deadline = Date.now() + timeoutMs;
  let waitingFor = topics;
  for (;;) {
    try {
      // listTopics first: asking metadata for a topic the broker does not know yet logs errors in kafkajs.
      const known = new Set(await admin.listTopics());
      if (waitingFor.every((t) => known.has(t))) {
        const { topics: metadata } = await admin.fetchTopicMetadata({ topics: waitingFor });
        const ready = new Set(metadata.filter((t) => t.partitions.length > 0 && t.partitions.every((p) => p.leader >= 0)).map((t) => t.name));
        waitingFor = waitingFor.filter((t) => !ready.has(t));
        if (waitingFor.length === 0) return;
      }
    } catch (error) {
      if (!(error as { retriable?: boolean }).retriable) throw new TopicProvisioningError(`cannot read metadata of new topics: ${(error as Error).message}`, waitingFor, false, { cause: error });
    }
    if (Date.now() >= deadline) {
      throw new TopicProvisioningError(`created topics have no leader after ${timeoutMs} ms: ${waitingFor.join(', ')}`, waitingFor, true);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function findDrift(admin: Admin, specs: TopicSpec[]): Promise<DriftReport[]> {
  const topics = specs.map((s) => s.topic);
  let metadata: Awaited<ReturnType<Admin['fetchTopicMetadata']>>;
  let configs: Awaited<ReturnType<Admin['describeConfigs']>>;
  try {
    [metadata, configs] = await Promise.all([
      admin.fetchTopicMetadata({ topics }),
      admin.describeConfigs({
        includeSynonyms: false,
        resources: topics.map((name) => ({ type: ConfigResourceTypes.TOPIC, name, configNames: ['cleanup.policy'] })),
      }),
    ]);
  } catch (error) {
    throw new TopicProvisioningError(`cannot inspect topics ${topics.join(', ')}: ${(error as Error).message}`, topics, true, { cause: error });
  }

  const drift: DriftReport[] = [];
  for (const spec of specs) {
    const meta = metadata.topics.find((t) => t.name === spec.topic);
    if (meta) {
      const partitions = meta.partitions.length;
      if (partitions !== spec.partitions) {
        const consequence =
          partitions < spec.partitions
            ? spec.role === 'timers-changelog'
              ? 'timer stores of the missing partitions have no changelog; add partitions (kafka-topics --alter) before starting'
              : 'only the existing partitions are used; adding partitions (kafka-topics --alter) moves keys to other partitions'
            : 'partitions cannot be removed; lower is only possible by recreating the topic (losing its records) or by configuring this count';
        drift.push({
          topic: spec.topic,
          role: spec.role,
          kind: 'partitions',
          expected: spec.partitions,
          actual: partitions,
          message: `${spec.role} topic "${spec.topic}" has ${partitions} partitions, configured ${spec.partitions}: ${consequence}`,
        });
      }
      const replicas = Math.min(...meta.partitions.map((p) => p.replicas.length));
      if (meta.partitions.length > 0 && replicas < spec.replicationFactor) {
        drift.push({
          topic: spec.topic,
          role: spec.role,
          kind: 'replication-factor',
          expected: spec.replicationFactor,
          actual: replicas,
          message: `${spec.role} topic "${spec.topic}" has replication factor ${replicas}, configured ${spec.replicationFactor}: fewer broker failures are survived than planned`,
        });
      }
    }
    const expectedPolicy = spec.configs['cleanup.policy'];
    const resource = configs.resources.find((r) => r.resourceName === spec.topic);
    const actualPolicy = resource?.configEntries.find((e) => e.configName === 'cleanup.policy')?.configValue;
    if (expectedPolicy !== undefined && actualPolicy !== undefined && normalisePolicy(actualPolicy) !== normalisePolicy(expectedPolicy)) {
      drift.push({
        topic: spec.topic,
        role: spec.role,
        kind: 'cleanup.policy',
        expected: expectedPolicy,
        actual: actualPolicy,
        message: `${spec.role} topic "${spec.topic}" has cleanup.policy=${actualPolicy}, configured ${expectedPolicy}: ${
          expectedPolicy.includes('compact')
            ? 'without compaction the store changelog is deleted by retention and timers are lost on restore'
            : 'compaction keeps only the last record per key, so records with repeated keys disappear'
        }`,
      });
    }
  }
  return drift;
}

function normalisePolicy(policy: string): string {
  return policy.split(',').map((p) => p.trim()).sort().join(',');
}
