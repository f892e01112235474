import { OK, type Delivery, type DeliveryResult, type MutationDelivery, type Target } from '../../src/targets';

/**
 * A target built on the real Target interface that answers from a script and records every try:
 * what a processor's retry, backoff and dead-letter decisions can be read from, without a network.
 */
export class ScriptedTarget implements Target {
  /** Every delivery tried, in order (retries included). */
  readonly tries: Delivery[] = [];
  /** Deliveries the target accepted. */
  readonly delivered: Delivery[] = [];
  /** Every chunk of mutations tried, and those applied. */
  readonly chunkTries: MutationDelivery[] = [];
  readonly applied: MutationDelivery[] = [];
  answer: (delivery: Delivery) => DeliveryResult = () => OK;
  answerChunk: (chunk: MutationDelivery) => DeliveryResult = () => OK;
  closed = false;

  constructor(readonly name: string) {}

  async deliver(batch: Delivery[]): Promise<DeliveryResult[]> {
    return batch.map((delivery) => {
      this.tries.push(delivery);
      const result = this.answer(delivery);
      if (result.ok) this.delivered.push(delivery);
      return result;
    });
  }

  async applyMutations(chunk: MutationDelivery): Promise<DeliveryResult> {
    this.chunkTries.push(chunk);
    const result = this.answerChunk(chunk);
    if (result.ok) this.applied.push(chunk);
    return result;
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}
