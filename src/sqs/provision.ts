import { CreateQueueCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { NamespaceConfig } from '../namespaces/types';
import { createSqsClient, queueNameOf } from './client';

/**
 * Creates the namespace's SQS queue and DLQ when they are named by queueName (`wal start
 * --create-topics`); CreateQueue with the same name is idempotent. Queues given by URL are the
 * operator's: left alone. Returns the names created or found.
 */
export async function ensureSqsQueues(namespace: NamespaceConfig, client?: SQSClient): Promise<string[]> {
  const queue = namespace.queue;
  if (queue?.type !== 'sqs') return [];
  const sqs = client ?? createSqsClient(queue, { requestTimeoutMs: 10_000 });
  try {
    const names = [queue.queueName, queue.dlqQueueName].filter((n): n is string => n !== undefined);
    for (const name of names) await sqs.send(new CreateQueueCommand({ QueueName: name }));
    return names.length > 0 ? names : [queueNameOf(queue)];
  } finally {
    if (!client) sqs.destroy();
  }
}
