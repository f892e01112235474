import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Kafka, KafkaMessage, logLevel } from 'kafkajs';
import { parseConfig, saveConfig, type NamespaceConfig, type WalConfig } from '../../src/namespaces';
import { applyTopics, kafkaSecurity } from '../../src/kafka';
import { planTopics } from '../../src/namespaces/topic-plan';
import { delayedQueueTopology } from '../../src/delayed-queue';
import { NamespaceRunner, type Clock, type Topology } from '../../src/engine';
import { testCluster, uniqueTopic } from './clusters';
import { engineOptionsOf } from '../../src/personas';

export interface QueueOptions {
  /** YAML lines appended to the namespace (indented by 4). */
  readonly extra?: string;
  readonly targets?: string;
  readonly defaultTarget?: string;
  readonly partitions?: number;
}

/** A fresh delayed-queue namespace on test cluster A, its topics created, and a Kafka target topic. */
export async function delayedQueueNamespace(options: QueueOptions = {}): Promise<{ config: WalConfig; namespace: NamespaceConfig; out: string; kafka: Kafka }> {
  const cluster = testCluster('A');
  const name = uniqueTopic('dq');
  const out = `${name}.out`;
  const yaml = `
clusters:
  primary:
    brokers: ${cluster.brokers.join(',')}
    schemaRegistryUrl: ${cluster.registryUrl}
namespaces:
  - name: ${name}
    partitions: ${options.partitions ?? 3}
    delay: { defaultDelayMs: 0 }
    backoff: { initialMs: 200, maxMs: 2s, multiplier: 2, jitter: 0.2 }
    maxRetries: 3
    targets:
      out: { type: kafka, topic: ${out} }
${options.targets ?? ''}
    defaultTarget: ${options.defaultTarget ?? 'out'}
    runtime: { commitIntervalMs: 500, punctuationIntervalMs: 100 }
${options.extra ?? ''}
`;
  const config = parseConfig(yaml, `${name}.yaml`);
  const namespace = config.namespaces[0];
  const kafka = new Kafka({ brokers: cluster.brokers, clientId: name, logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  // Plans the intake, DLQ, timers changelog and the Kafka target's topic.
  await applyTopics(admin, planTopics(namespace));
  await admin.disconnect();
  return { config, namespace, out, kafka };
}

/** Saves the config to a fresh file, for the CLI's `--topology`. */
export function configFile(config: WalConfig): string {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'wal-cfg-')), 'ns.yaml');
  saveConfig(config, file);
  return file;
}

/** Runs the delayed-queue topology of a namespace in this process. */
export async function startQueue(
  config: WalConfig,
  namespace: NamespaceConfig,
  options: { stateDir?: string; clock?: Clock; topology?: Topology } = {},
): Promise<{ runner: NamespaceRunner; stateDir: string }> {
  const stateDir = options.stateDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'wal-dq-'));
  const cluster = config.clusters[namespace.cluster];
  const runner = new NamespaceRunner({
    kafka: new Kafka({ brokers: cluster.brokers, clientId: `${namespace.name}-runner`, logLevel: logLevel.NOTHING, ...kafkaSecurity(cluster) }),
    engine: engineOptionsOf(namespace),
    topology: options.topology ?? delayedQueueTopology(namespace, { clusters: config.clusters }),
    stateDir,
    instanceId: `test-${process.pid}`,
    clock: options.clock,
    tuning: { sessionTimeoutMs: 10_000, heartbeatIntervalMs: 1000, maxWaitTimeMs: 200 },
  });
  await runner.start();
  return { runner, stateDir };
}

export interface Collected {
  readonly messages: Array<KafkaMessage & { partition: number }>;
  stop(): Promise<void>;
  /** Resolves once `count` messages arrived; rejects after `timeoutMs` saying how many did. */
  waitFor(count: number, timeoutMs: number): Promise<void>;
}

const openCollectors = new Set<Collected>();

/**
 * Stops every collector still running; tests call it in afterEach/afterAll, so a failed `waitFor`
 * (which skips the test's own `stop()`) does not leave a consumer polling after the run.
 */
export async function stopCollectors(): Promise<void> {
  await Promise.allSettled([...openCollectors].map((c) => c.stop()));
}

/** Collects everything that arrives on a topic (from the beginning). */
export async function collect(kafka: Kafka, topic: string): Promise<Collected> {
  const consumer = kafka.consumer({ groupId: uniqueTopic('collector'), maxWaitTimeInMs: 100 });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const messages: Array<KafkaMessage & { partition: number }> = [];
  await consumer.run({ eachMessage: async ({ message, partition }) => void messages.push({ ...message, partition }) });
  const collected: Collected = {
    messages,
    stop: () => {
      openCollectors.delete(collected);
      return consumer.disconnect();
    },
    waitFor: async (count, timeoutMs) => {
      const deadline = Date.now() + timeoutMs;
      while (messages.length < count) {
        if (Date.now() > deadline) throw new Error(`expected ${count} records on ${topic} within ${timeoutMs} ms, got ${messages.length}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    },
  };
  openCollectors.add(collected);
  return collected;
}

/** Every header of a message as text (a repeated header keeps its last value). */
export function headerMap(message: KafkaMessage): Record<string, string> {
  return Object.fromEntries(Object.keys(message.headers ?? {}).map((name) => [name, header(message, name)!]));
}

export function header(message: KafkaMessage, name: string): string | undefined {
  const value = message.headers?.[name];
  if (value === undefined) return undefined;
  return Array.isArray(value) ? String(value[value.length - 1]) : String(value);
}

export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}
