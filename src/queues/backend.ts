import type { NamespaceConfig } from '../namespaces/types';

/** Where a namespace's requests wait until due: the `backend` label of the shared delay, DLQ and target series. */
export type QueueBackend = 'kafka' | 'sqs';

export function queueBackend(namespace: Pick<NamespaceConfig, 'queue'>): QueueBackend {
  return namespace.queue?.type ?? 'kafka';
}
