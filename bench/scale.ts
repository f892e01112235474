/**
 * Scale-out of one shard (numbers, not assertions): delay-0 records/s with 1, 2, 3 … `wal start`
 * processes of the same namespace on the same broker, each a real process (one Node event loop
 * each), and the ratio of each to one instance in the same run.
 *
 * So that the figure is the processors' and not the writer's or the group join's: the namespace is
 * paused (`wal namespace pause`, its state topic), the records are written through the WriteToLog
 * library, the instances are started and waited for until /ready says the group gave out every
 * partition, and only then is the namespace resumed while the target's end offsets are polled.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createWalWriter } from '../src/api';
import { saveConfig } from '../src/namespaces';
import { writeNamespaceState } from '../src/namespaces/namespace-state-topic';
import { spawnChild, stopChild, waitForOutput, type Child } from './lib/child';
import { clusterA, type BenchContext } from './lib/context';
import { benchKafka, deleteTopics, endCounter, runId, steadyRate, waitForCount } from './lib/kafka';
import { REPO_ROOT } from './lib/layout';
import { provisionQueue, queueConfig, writeAll } from './lib/queue';
import { ReportBuilder, repeat, type Report } from './lib/results';

export interface ScaleOptions {
  readonly records: number;
  readonly partitions: number;
  readonly instances: readonly number[];
  readonly valueBytes: number;
  readonly runs: number;
}

interface ReadyDetails {
  readonly namespaces?: Array<{ readonly assigned?: readonly number[]; readonly ready?: boolean }>;
}

/** Assigned partitions an instance reports on /ready, or undefined while it is not ready. */
async function assignedWhenReady(adminUrl: string): Promise<number | undefined> {
  try {
    const response = await fetch(`${adminUrl}/ready`, { signal: AbortSignal.timeout(2000) });
    if (response.status !== 200) return undefined;
    const body = (await response.json()) as { details?: ReadyDetails };
    return (body.details?.namespaces ?? []).reduce((n, ns) => n + (ns.assigned?.length ?? 0), 0);
  } catch {
    return undefined;
  }
}

/** Waits until every instance is ready and together they hold all `partitions` (the group settled). */
async function waitForSettledGroup(urls: readonly string[], partitions: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: Array<number | undefined> = [];
  while (Date.now() < deadline) {
    last = await Promise.all(urls.map(assignedWhenReady));
    if (last.every((n) => n !== undefined) && last.reduce<number>((sum, n) => sum + (n ?? 0), 0) === partitions) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`the group did not settle within ${timeoutMs} ms: assigned per instance ${JSON.stringify(last)} of ${partitions}`);
}

export async function benchScale(ctx: BenchContext, o: ScaleOptions): Promise<Report> {
  const cluster = clusterA(ctx);
  const kafka = benchKafka(cluster.brokers, 'wal-bench-scale');
  const figures = o.instances.flatMap((n) => [
    { key: `rate-${n}`, label: `${n} instance(s): records/s (steady)`, unit: 'rec/s' },
    ...(n === o.instances[0] ? [] : [{ key: `ratio-${n}`, label: `${n} instance(s) / ${o.instances[0]} (same run)`, unit: '×', digits: 2 }]),
  ]);
  const report = new ReportBuilder('scale', `delay-0 scale-out: 1…n \`wal start\` processes of one namespace (${o.partitions} partitions), same broker`, figures, {
    records: o.records,
    partitions: o.partitions,
    instances: o.instances.join(','),
    valueBytes: o.valueBytes,
    cores: os.cpus().length,
  });
  const payload = 'x'.repeat(o.valueBytes);
  const cli = path.join(REPO_ROOT, 'dist', 'cli', 'main.js');
  await repeat(
    report,
    o.runs,
    async () => {
      const figuresOfRun: Record<string, number> = {};
      for (const n of o.instances) {
        const setup = queueConfig(cluster, runId(`bench-scale-${n}`), { partitions: o.partitions });
        const ns = setup.namespace;
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wal-bench-scale-'));
        const file = path.join(dir, 'topology.yaml');
        saveConfig(setup.config, file);
        const children: Child[] = [];
        const target = { namespace: ns.name, cluster: ns.cluster, replicationFactor: ns.replicationFactor };
        try {
          await provisionQueue(kafka, ns);
          await writeNamespaceState(kafka, target, { paused: true }, 'bench');
          const writer = createWalWriter({ config: setup.config, logger: ctx.logger });
          await writeAll(writer, o.records, (i) => ({ namespace: ns.name, id: `r-${i}`, lifecycle: { delayMs: 0 }, payload }));
          await writer.close();
          for (let i = 0; i < n; i += 1) {
            children.push(
              spawnChild(
                process.execPath,
                [cli, 'start', '--topology', file, '--instance-id', `scale-${i}`, '--state-dir', path.join(dir, `state-${i}`), '--session-timeout', '6s', '--state-interval', '200ms', '--admin-port', '0', '--admin-host', '127.0.0.1'],
                { WAL_LOG_LEVEL: 'info' },
              ),
            );
          }
          const urls = await Promise.all(children.map(async (c, i) => (await waitForOutput(c, /"url":"(http:\/\/[^"]+)","msg":"admin endpoint/, 60_000, `instance ${i} admin endpoint`))[1]));
          await waitForSettledGroup(urls, o.partitions, 90_000);
          const counter = await endCounter(kafka, setup.out);
          try {
            await writeNamespaceState(kafka, target, { paused: false }, 'bench');
            figuresOfRun[`rate-${n}`] = steadyRate(await waitForCount(`${n} instance(s) output`, counter.count, o.records, 120_000 + o.records * 2));
          } finally {
            await counter.close();
          }
          ctx.log(`  ${n} instance(s): ${Math.round(figuresOfRun[`rate-${n}`])} rec/s`);
        } finally {
          await Promise.all(children.map((c) => stopChild(c)));
          await deleteTopics(kafka, (t) => t.startsWith(ns.name));
          fs.rmSync(dir, { recursive: true, force: true });
        }
      }
      const base = figuresOfRun[`rate-${o.instances[0]}`];
      for (const n of o.instances.slice(1)) figuresOfRun[`ratio-${n}`] = figuresOfRun[`rate-${n}`] / base;
      return figuresOfRun;
    },
    ctx.log,
  );
  return report.build();
}
