import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigResourceTypes, Partitioners, type Admin } from 'kafkajs';
import { runTopicsApply } from '../../src/cli/commands/topics';
import { parseConfig, type NamespaceConfig } from '../../src/namespaces';
import { applyTopics, createKafkaClient } from '../../src/kafka';
import { dlqMarksTopic, planTopics } from '../../src/namespaces/topic-plan';
import { NAMESPACE_STATE_TOPIC } from '../../src/namespaces/namespace-state';
import { testCluster, uniqueTopic } from '../support/clusters';

const cluster = testCluster('A');

/** A topology file for one namespace on the test cluster; `body` is indented under the namespace. */
function topology(name: string, body = ''): string {
  return `
clusters:
  primary:
    brokers: ${cluster.brokers.join(',')}
    schemaRegistryUrl: ${cluster.registryUrl}
namespaces:
  - name: ${name}
    partitions: 3
    dlq: {retentionMs: 90d}
    targets:
      out: {type: kafka, topic: ${name}.out, partitions: 2}
      hook: {type: http, url: "http://127.0.0.1:9/hook"}
${body}`;
}

function namespace(name: string): NamespaceConfig {
  return parseConfig(topology(name), `${name}.yaml`, {}).namespaces[0];
}

async function partitionCounts(admin: Admin, topics: string[]): Promise<Record<string, number>> {
  const { topics: metadata } = await admin.fetchTopicMetadata({ topics });
  return Object.fromEntries(metadata.map((t) => [t.name, t.partitions.length]));
}

async function topicConfig(admin: Admin, topic: string, name: string): Promise<string | undefined> {
  const { resources } = await admin.describeConfigs({
    includeSynonyms: false,
    resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configNames: [name] }],
  });
  return resources[0]?.configEntries.find((e) => e.configName === name)?.configValue;
}

/**
 * Without the state topic every namespace of the cluster shares (`wal namespace pause`): whether this
 * test or an earlier one created it depends on the order the tests ran in.
 */
function own(topics: readonly string[]): string[] {
  return topics.filter((t) => t !== NAMESPACE_STATE_TOPIC);
}

async function recordCount(admin: Admin, topic: string): Promise<number> {
  const offsets = await admin.fetchTopicOffsets(topic);
  return offsets.reduce((sum, p) => sum + Number(p.high) - Number(p.low), 0);
}

describe('topic provisioning on a real broker', () => {
  const kafka = createKafkaClient({ name: 'A', brokers: cluster.brokers, schemaRegistryUrl: cluster.registryUrl }, 'topics-test');
  const admin = kafka.admin();

  beforeAll(() => admin.connect());
  afterAll(() => admin.disconnect());

  it('creates every topic of a namespace: partitions as configured, changelog compacted like the intake, DLQ kept long', async () => {
    const ns = namespace(uniqueTopic('prov'));
    const specs = planTopics(ns);

    const result = await applyTopics(admin, specs);

    const all = [ns.topics.intake, ns.topics.timersChangelog, ns.topics.completions, ns.topics.dlq, dlqMarksTopic(ns.topics.dlq), ns.topics.targets.out, ns.topics.targets.hook, `${ns.name}.out`];
    expect(own(result.created).sort()).toEqual([...all].sort());
    expect(own(result.unchanged)).toEqual([]);
    expect([...result.created, ...result.unchanged]).toContain(NAMESPACE_STATE_TOPIC);
    expect(result.drift).toEqual([]);
    expect(await partitionCounts(admin, [NAMESPACE_STATE_TOPIC])).toEqual({ [NAMESPACE_STATE_TOPIC]: 1 });
    expect(await topicConfig(admin, NAMESPACE_STATE_TOPIC, 'cleanup.policy')).toBe('compact');

    const counts = await partitionCounts(admin, all);
    expect(counts).toEqual({
      [ns.topics.intake]: 3,
      [ns.topics.timersChangelog]: 3,
      [ns.topics.completions]: 3,
      [ns.topics.dlq]: 3,
      [dlqMarksTopic(ns.topics.dlq)]: 1,
      [ns.topics.targets.out]: 3,
      [ns.topics.targets.hook]: 3,
      [`${ns.name}.out`]: 2,
    });
    expect(await topicConfig(admin, ns.topics.timersChangelog, 'cleanup.policy')).toBe('compact');
    expect(await topicConfig(admin, ns.topics.intake, 'cleanup.policy')).toBe('delete');
    expect(await topicConfig(admin, ns.topics.dlq, 'retention.ms')).toBe(String(90 * 86_400_000));
    expect(await topicConfig(admin, dlqMarksTopic(ns.topics.dlq), 'cleanup.policy')).toBe('compact');

    // Leaders are up when applyTopics returns: a producer can write at once.
    const producer = kafka.producer({ allowAutoTopicCreation: false, createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    await producer.send({ topic: ns.topics.intake, messages: [{ key: 'k', value: 'v' }] });
    await producer.disconnect();
    expect(await recordCount(admin, ns.topics.intake)).toBe(1);

    const again = await applyTopics(admin, specs);
    expect(again.created).toEqual([]);
    expect([...again.unchanged].sort()).toEqual([...all, NAMESPACE_STATE_TOPIC].sort());
    expect(again.drift).toEqual([]);
  });

  it('reports topics that differ (fewer partitions, wrong cleanup.policy) as drift and leaves them and their records intact', async () => {
    const ns = namespace(uniqueTopic('drift'));
    await admin.createTopics({
      waitForLeaders: true,
      topics: [
        { topic: ns.topics.intake, numPartitions: 1 },
        { topic: ns.topics.timersChangelog, numPartitions: 3, configEntries: [{ name: 'cleanup.policy', value: 'delete' }] },
      ],
    });
    const producer = kafka.producer({ allowAutoTopicCreation: false, createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    await producer.send({ topic: ns.topics.intake, messages: Array.from({ length: 5 }, (_, i) => ({ key: `k${i}`, value: `v${i}` })) });
    await producer.send({ topic: ns.topics.timersChangelog, messages: [{ key: 'timer', value: 'due' }] });
    await producer.disconnect();

    const result = await applyTopics(admin, planTopics(ns));

    expect(result.drift).toEqual([
      expect.objectContaining({ topic: ns.topics.intake, kind: 'partitions', expected: 3, actual: 1 }),
      expect.objectContaining({ topic: ns.topics.timersChangelog, kind: 'cleanup.policy', expected: 'compact', actual: 'delete' }),
    ]);
    expect(result.drift[0].message).toContain(`has 1 partitions, configured 3`);
    expect(own(result.created)).toHaveLength(6); // completions, DLQ, its marks, two fan-out topics, the Kafka target's topic
    expect(own(result.unchanged)).toEqual([]);

    expect(await partitionCounts(admin, [ns.topics.intake])).toEqual({ [ns.topics.intake]: 1 });
    expect(await topicConfig(admin, ns.topics.timersChangelog, 'cleanup.policy')).toBe('delete');
    expect(await recordCount(admin, ns.topics.intake)).toBe(5);
    expect(await recordCount(admin, ns.topics.timersChangelog)).toBe(1);
  });

  it('wal topics apply prints created topics and each drift, exiting 2 on drift and 0 otherwise', async () => {
    const name = uniqueTopic('cli');
    const file = join(mkdtempSync(join(tmpdir(), 'wal-topics-')), 'ns.yaml');
    writeFileSync(file, topology(name));
    const lines: string[] = [];

    expect(await runTopicsApply([file], { namespace: name }, (l) => lines.push(l))).toBe(0);
    expect(lines.join('\n')).toContain(`created    wal.${name}.timers-changelog (timers-changelog, 3 partitions, rf 1, compacted)`);

    writeFileSync(file, topology(name).replace('partitions: 3', 'partitions: 4'));
    lines.length = 0;
    expect(await runTopicsApply([file], {}, (l) => lines.push(l))).toBe(2);
    const output = lines.join('\n');
    expect(output).toContain(`DRIFT      intake topic "wal.${name}.intake" has 3 partitions, configured 4`);
    expect(output).toContain(`unchanged  ${name}.out`);
    expect(await partitionCounts(admin, [`wal.${name}.intake`])).toEqual({ [`wal.${name}.intake`]: 3 });
  });
});
