import type { Kafka } from 'kafkajs';
import type { NamespaceConfig } from '../namespaces/types';
import { dlqMarksTopic } from '../namespaces/topic-plan';
import { dlqDepthRecords } from '../observability/metrics';
import type { Logger } from '../observability/logger';
import { DlqLedger } from '../dlq/ledger';

export { dlqDepthRecords } from '../observability/metrics';

export const DEFAULT_DLQ_DEPTH_INTERVAL_MS = 15_000;

export interface DlqDepthPollerOptions {
  /** Namespaces to watch with the client of their cluster; those with the DLQ disabled are skipped. */
  readonly namespaces: ReadonlyArray<{ readonly namespace: NamespaceConfig; readonly kafka: Kafka }>;
  readonly intervalMs?: number;
  readonly logger: Logger;
}

/**
 * Sets `wal_dlq_depth_records` for each Kafka namespace of a `wal start` instance, every interval (the
 * SQS receivers set it for theirs). Each namespace keeps its ledger between polls, so a poll reads
 * only the marks added since the last. A
 * failed poll is logged and the gauge keeps its last value: the DLQ being unreachable never stops
 * the instance.
 */
export class DlqDepthPoller {
  private readonly ledgers: Array<{ readonly namespace: string; readonly ledger: DlqLedger }>;
  private readonly intervalMs: number;
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;

  constructor(private readonly options: DlqDepthPollerOptions) {
    this.intervalMs = options.intervalMs ?? DEFAULT_DLQ_DEPTH_INTERVAL_MS;
    this.ledgers = options.namespaces
      .filter(({ namespace }) => namespace.dlq.enabled)
      .map(({ namespace, kafka }) => ({ namespace: namespace.name, ledger: new DlqLedger(kafka, namespace.topics.dlq, dlqMarksTopic(namespace.topics.dlq)) }));
  }

  /** Polls now and then every interval; a poll never overlaps the previous one. */
  start(): void {
    if (this.timer || this.ledgers.length === 0) return;
    const tick = (): void => {
      this.running = this.pollOnce().finally(() => {
        this.running = undefined;
        if (this.timer) this.timer = setTimeout(tick, this.intervalMs).unref();
      });
    };
    this.timer = setTimeout(tick, 0).unref();
  }

  async pollOnce(): Promise<void> {
    for (const { namespace, ledger } of this.ledgers) {
      try {
        const { depth } = await ledger.depth();
        dlqDepthRecords.set({ namespace, backend: 'kafka' }, depth);
      } catch (error) {
        this.options.logger.warn({ err: error, namespace }, 'could not compute the DLQ depth; wal_dlq_depth_records keeps its last value');
      }
    }
  }

  async stop(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
    await Promise.all(this.ledgers.map(({ ledger }) => ledger.close()));
  }
}
