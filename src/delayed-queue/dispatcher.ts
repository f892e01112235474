import type { ClusterConfig, NamespaceConfig } from '../namespaces/types';
import { queueBackend } from '../queues/backend';
import { createTarget, Delivery, DeliveryResult, Target } from '../targets';
import { targetLatency, targetResults } from './dispatch-metrics';

/**
 * Hands due records to the namespace's targets, one batch per target, and answers one result per
 * record. Targets are built once per process and shared by all tasks of the namespace.
 */
export class Dispatcher {
  private readonly targets = new Map<string, Target>();

  constructor(
    private readonly namespace: NamespaceConfig,
    private readonly clusters: Record<string, ClusterConfig>,
    /** How targets are made (default: createTarget from the namespace's target config). */
    private readonly targetFactory?: (name: string) => Target,
  ) {}

  /** The target a request goes to: its own choice, else the namespace default. */
  targetFor(requested: string | null): string | undefined {
    return requested ?? this.namespace.defaultTarget ?? (Object.keys(this.namespace.targets).length === 1 ? Object.keys(this.namespace.targets)[0] : undefined);
  }

  async deliver(targetName: string, batch: Delivery[]): Promise<DeliveryResult[]> {
    const target = this.target(targetName);
    if (!target) return batch.map(() => ({ ok: false, retriable: false, reason: `namespace "${this.namespace.name}" has no target "${targetName}"` }));
    const stop = targetLatency.startTimer({ namespace: this.namespace.name, target: targetName, backend: queueBackend(this.namespace) });
    let results: DeliveryResult[];
    try {
      results = await target.deliver(batch);
    } catch (error) {
      // A target should answer per record; if it throws anyway, the whole batch may be retried.
      const reason = error instanceof Error ? error.message : String(error);
      results = batch.map(() => ({ ok: false, retriable: true, reason }));
    }
    stop();
    // Counted per outcome, one inc each: prom-client hashes the label object on every call.
    const outcomes = { ok: 0, retriable: 0, permanent: 0 };
    for (const result of results) outcomes[result.ok ? 'ok' : result.retriable ? 'retriable' : 'permanent'] += 1;
    for (const [result, n] of Object.entries(outcomes)) {
      if (n > 0) targetResults.inc({ namespace: this.namespace.name, target: targetName, result, backend: queueBackend(this.namespace) }, n);
    }
    return results;
  }

  async close(): Promise<void> {
    await Promise.allSettled([...this.targets.values()].map((t) => t.close()));
    this.targets.clear();
  }

  private target(name: string): Target | undefined {
    let target = this.targets.get(name);
    if (!target) {
      const config = this.namespace.targets[name];
      if (!config) return undefined;
      target = this.targetFactory ? this.targetFactory(name) : createTarget(name, config, this.clusters);
      this.targets.set(name, target);
    }
    return target;
  }
}
