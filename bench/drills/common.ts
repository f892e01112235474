import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Kafka } from 'kafkajs';
import { createWalWriter, type WalWriter } from '../../src/api';
import { saveConfig } from '../../src/namespaces';
import type { ClusterEndpoints } from '../../src/devcluster';
import type { BenchContext } from '../lib/context';
import { benchKafka, deleteTopics, runId } from '../lib/kafka';
import { provisionQueue, queueConfig, type QueueOptions, type QueueSetup } from '../lib/queue';
import type { ReportBuilder } from '../lib/results';
import { Fleet } from './fleet';
import type { Verdict } from './ledger';

/** A drill's context: the bench context plus an overall deadline and cleanups run whatever happens. */
export interface DrillContext extends BenchContext {
  /** Epoch ms by which the drill must have finished (its waits are bounded by it). */
  readonly deadline: number;
  /** Registers work to undo (stop children, delete topics); run in reverse order at the end or on timeout. */
  onCleanup(fn: () => Promise<void> | void): void;
}

export function remaining(ctx: DrillContext): number {
  return Math.max(1000, ctx.deadline - Date.now());
}

export interface DrillNamespace {
  readonly setup: QueueSetup;
  readonly kafka: Kafka;
  readonly writer: WalWriter;
  readonly fleet: Fleet;
  readonly dir: string;
}

/**
 * A fresh delayed-queue namespace for a drill: topics created, its topology saved to a file the
 * instance processes load, a writer, and a fleet of instance slots (stopped on cleanup).
 */
export async function drillNamespace(ctx: DrillContext, cluster: ClusterEndpoints, prefix: string, options: Partial<QueueOptions> = {}): Promise<DrillNamespace> {
  const name = runId(prefix);
  const setup = queueConfig(cluster, name, { partitions: options.partitions ?? 6, ...options });
  const kafka = benchKafka(cluster.brokers, `wal-${prefix}`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `wal-${prefix}-`));
  ctx.onCleanup(async () => {
    fs.rmSync(dir, { recursive: true, force: true });
    await deleteTopics(kafka, (t) => t.startsWith(name));
  });
  await provisionQueue(kafka, setup.namespace);
  const topologyFile = path.join(dir, 'topology.yaml');
  saveConfig(setup.config, topologyFile);
  const writer = createWalWriter({ config: setup.config, logger: ctx.logger, timeoutMs: 10_000 });
  ctx.onCleanup(() => writer.close());
  const fleet = new Fleet(topologyFile, name, path.join(dir, 'state'), ctx.log);
  ctx.onCleanup(() => fleet.stopAll());
  return { setup, kafka, writer, fleet, dir };
}

export const VERDICT_FIGURES = [
  { key: 'written', label: 'records written', unit: 'records', digits: 0 },
  { key: 'lost', label: 'lost', unit: 'records', digits: 0 },
  { key: 'duplicates', label: 'duplicates', unit: 'records', digits: 0 },
  { key: 'early', label: 'delivered before due', unit: 'records', digits: 0 },
  { key: 'p50', label: 'lateness p50', unit: 'ms', digits: 0 },
  { key: 'p99', label: 'lateness p99', unit: 'ms', digits: 0 },
  { key: 'max', label: 'lateness max', unit: 'ms', digits: 0 },
];

export function verdictFigures(v: Verdict): Record<string, number> {
  return { written: v.written, lost: v.lost, duplicates: v.duplicates, early: v.early, p50: v.latenessP50Ms, p99: v.latenessP99Ms, max: v.latenessMaxMs };
}

/** The checks every delivery drill makes: nothing lost, nothing early, nothing unknown, no crash. */
export function verdictChecks(builder: ReportBuilder, v: Verdict, fleet?: Fleet): void {
  builder.check('nothing lost', v.lost === 0, `${v.delivered} of ${v.written} ids delivered${v.lost > 0 ? `; lost e.g. ${v.lostSample.join(', ')}` : ''}`);
  builder.check('nothing delivered early', v.early === 0, `${v.early} before their due time`);
  builder.check('only written records delivered', v.strangers === 0, `${v.strangers} unknown ids on the target`);
  if (fleet) builder.check('no instance crashed by itself', fleet.unexpectedExits.length === 0, fleet.unexpectedExits.length === 0 ? 'none' : fleet.unexpectedExits.join(' | ').slice(0, 300));
}
