import { Gauge } from 'prom-client';
import type { NamespaceStatus } from '../engine';
import { namespaceReadiness, type StatusSource } from './health';
import { metricsRegistry } from '../observability/metrics';

/**
 * Gauges read from the runners' status() at scrape time (lag per partition, readiness per namespace),
 * so the engine needs no bookkeeping for them and a scrape always shows the current view.
 */

const providers = new Set<() => readonly StatusSource[]>();
let snapshot: { at: number; statuses: Promise<NamespaceStatus[]> } | undefined;

/** One status() round per scrape: every gauge's collect() of the same scrape shares it. */
function statuses(): Promise<NamespaceStatus[]> {
  const now = Date.now();
  if (!snapshot || now - snapshot.at > 250) {
    const all = Promise.all([...providers].flatMap((list) => list()).map((s) => s.status().catch(() => null)));
    snapshot = { at: now, statuses: all.then((list) => list.filter((s): s is NamespaceStatus => s !== null)) };
  }
  return snapshot.statuses;
}

export const consumerLag = new Gauge({
  name: 'wal_consumer_lag_records',
  help: 'Input records not yet processed per source topic and partition (high watermark of the last fetch minus the next offset to process)',
  labelNames: ['namespace', 'topic', 'partition'] as const,
  registers: [metricsRegistry],
  async collect() {
    this.reset();
    for (const status of await statuses()) {
      for (const task of status.tasks) {
        for (const [topic, offsets] of Object.entries(task.offsets)) {
          if (offsets.lag !== null) this.labels(status.namespace, topic, String(task.partition)).set(offsets.lag);
        }
      }
    }
  },
});

export const namespaceReady = new Gauge({
  name: 'wal_namespace_ready',
  help: '1 when the namespace runs in this instance with every assigned partition restored, else 0',
  labelNames: ['namespace'] as const,
  registers: [metricsRegistry],
  async collect() {
    this.reset();
    for (const status of await statuses()) this.labels(status.namespace).set(namespaceReadiness(status).ready ? 1 : 0);
  },
});

export const namespacePaused = new Gauge({
  name: 'wal_namespace_paused',
  help: '1 while the namespace is paused in this instance (`wal namespace pause`), else 0',
  labelNames: ['namespace'] as const,
  registers: [metricsRegistry],
  async collect() {
    this.reset();
    for (const status of await statuses()) this.labels(status.namespace).set(status.paused ? 1 : 0);
  },
});

export const partitionsRestoring = new Gauge({
  name: 'wal_namespace_partitions_restoring',
  help: 'Assigned partitions whose task is not open yet (restoring its stores, or waiting to re-open)',
  labelNames: ['namespace'] as const,
  registers: [metricsRegistry],
  async collect() {
    this.reset();
    for (const status of await statuses()) this.labels(status.namespace).set(namespaceReadiness(status).restoring.length);
  },
});

/** Adds runners (a list, or what a function answers at each scrape) to the scrape-time gauges; the returned function removes them again. */
export function trackStatusSources(sources: readonly StatusSource[] | (() => readonly StatusSource[])): () => void {
  const provider = typeof sources === 'function' ? sources : () => sources;
  providers.add(provider);
  snapshot = undefined;
  return () => {
    providers.delete(provider);
    snapshot = undefined;
  };
}
