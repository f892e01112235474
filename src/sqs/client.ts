import { GetQueueUrlCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { SqsQueueConfig } from '../namespaces/types';

/**
 * One SQS client for a namespace's queue. Credentials come from the AWS SDK's default chain
 * (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE, instance roles …), never from wal's config,
 * so they are never logged; `endpoint` points it at an SQS-compatible server (ElasticMQ).
 */
export function createSqsClient(queue: SqsQueueConfig, options: { requestTimeoutMs?: number; maxAttempts?: number } = {}): SQSClient {
  return new SQSClient({
    region: queue.region,
    ...(queue.endpoint !== undefined ? { endpoint: queue.endpoint } : {}),
    maxAttempts: options.maxAttempts ?? 3,
    requestHandler: { requestTimeout: options.requestTimeoutMs ?? 30_000, connectionTimeout: 2000 },
  });
}

/** The queue's URL, asked once (GetQueueUrl) when the config names it; a failure is not cached. */
export function queueUrlResolver(client: SQSClient, url: string | undefined, name: string | undefined): (signal?: AbortSignal) => Promise<string> {
  let pending: Promise<string> | undefined = url !== undefined ? Promise.resolve(url) : undefined;
  return (signal) => {
    pending ??= (async () => {
      const out = await client.send(new GetQueueUrlCommand({ QueueName: name }), { abortSignal: signal });
      if (!out.QueueUrl) throw new Error(`SQS answered GetQueueUrl for "${name}" without a URL`);
      return out.QueueUrl;
    })();
    pending.catch(() => (pending = undefined));
    return pending;
  };
}

/** The queue's name, for metrics and dead-letter attributes (the last path segment of its URL). */
export function queueNameOf(queue: Pick<SqsQueueConfig, 'queueUrl' | 'queueName'>): string {
  return queue.queueName ?? queue.queueUrl?.split('/').filter(Boolean).pop() ?? 'sqs';
}

/** The messages of an error and of its causes, each once. */
export function describeSqsError(error: unknown): string {
  const parts: string[] = [];
  let current = error as { name?: string; message?: string; code?: string; cause?: unknown } | undefined;
  for (let i = 0; current && typeof current === 'object' && i < 5; i += 1) {
    const text = current.message || current.code || current.name || '';
    if (text && !parts.includes(text)) parts.push(text);
    current = current.cause as typeof current;
  }
  return parts.join(': ') || String(error);
}
