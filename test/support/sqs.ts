import { CreateQueueCommand, DeleteQueueCommand, ReceiveMessageCommand, SQSClient, type Message } from '@aws-sdk/client-sqs';
import { Kafka, logLevel } from 'kafkajs';
import { parseConfig, type NamespaceConfig, type WalConfig } from '../../src/namespaces';
import { testCluster, uniqueTopic } from './clusters';

/** The env var through which global-setup hands ElasticMQ's endpoint to test workers. */
export const SQS_ENDPOINT_ENV = 'WAL_SQS_ENDPOINT';

export function sqsEndpoint(): string {
  const endpoint = process.env[SQS_ENDPOINT_ENV];
  if (!endpoint) throw new Error(`${SQS_ENDPOINT_ENV} is not set: integration tests must run under jest's global setup (npm test)`);
  return endpoint;
}

export function sqsClient(endpoint = sqsEndpoint()): SQSClient {
  return new SQSClient({ region: 'us-east-1', endpoint, maxAttempts: 1 });
}

export interface SqsNamespaceOptions {
  /** YAML lines appended to the namespace (indented by 4). */
  readonly extra?: string;
  /** YAML lines added to `queue:` (indented by 6). */
  readonly queue?: string;
  readonly targets?: string;
  readonly endpoint?: string;
}

const created: { client: SQSClient; urls: string[] }[] = [];

/**
 * A fresh namespace on an SQS queue of ElasticMQ (main queue and DLQ created) with a Kafka target
 * topic on test cluster A.
 */
export async function sqsNamespace(options: SqsNamespaceOptions = {}): Promise<{ config: WalConfig; namespace: NamespaceConfig; out: string; kafka: Kafka; client: SQSClient; queueUrl: string; dlqUrl: string }> {
  const cluster = testCluster('A');
  const name = uniqueTopic('sqs');
  const out = `${name}.out`;
  const endpoint = options.endpoint ?? sqsEndpoint();
  const client = sqsClient();
  const queueUrl = (await client.send(new CreateQueueCommand({ QueueName: name }))).QueueUrl!;
  const dlqUrl = (await client.send(new CreateQueueCommand({ QueueName: `${name}-dlq` }))).QueueUrl!;
  created.push({ client, urls: [queueUrl, dlqUrl] });
  const yaml = `
clusters:
  primary:
    brokers: ${cluster.brokers.join(',')}
    schemaRegistryUrl: ${cluster.registryUrl}
namespaces:
  - name: ${name}
    queue:
      type: sqs
      queueName: ${name}
      dlqQueueName: ${name}-dlq
      region: us-east-1
      endpoint: ${endpoint}
      waitTimeSeconds: 1
${options.queue ?? ''}
    delay: { defaultDelayMs: 0 }
    backoff: { initialMs: 1s, maxMs: 8s, multiplier: 2, jitter: 0 }
    maxRetries: 3
    targets:
      out: { type: kafka, topic: ${out} }
${options.targets ?? ''}
    defaultTarget: out
${options.extra ?? ''}
`;
  const config = parseConfig(yaml, `${name}.yaml`);
  const namespace = config.namespaces[0];
  const kafka = new Kafka({ brokers: cluster.brokers, clientId: name, logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: out, numPartitions: 3, replicationFactor: 1 }], waitForLeaders: true });
  await admin.disconnect();
  return { config, namespace, out, kafka, client, queueUrl, dlqUrl };
}

/** Deletes the queues sqsNamespace made and closes its clients. */
export async function removeSqsQueues(): Promise<void> {
  for (const { client, urls } of created.splice(0)) {
    await Promise.allSettled(urls.map((QueueUrl) => client.send(new DeleteQueueCommand({ QueueUrl }))));
    client.destroy();
  }
}

/** Every message of a queue (received, not deleted), until `count` arrived or `timeoutMs` passed. */
export async function receiveAll(client: SQSClient, queueUrl: string, count: number, timeoutMs: number): Promise<Message[]> {
  const seen = new Map<string, Message>();
  const deadline = Date.now() + timeoutMs;
  while (seen.size < count && Date.now() < deadline) {
    const out = await client.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1, VisibilityTimeout: 60, MessageAttributeNames: ['All'], MessageSystemAttributeNames: ['All'] }));
    for (const m of out.Messages ?? []) seen.set(m.MessageId!, m);
  }
  return [...seen.values()];
}
