import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parsePrometheusText, type Sample } from '../../src/ops/metrics-text';
import { testCluster, uniqueTopic } from '../support/clusters';
import { orTimeout } from '../support/timing';

/**
 * Every metric the Grafana dashboard (deploy/grafana/wal-dashboard.json) queries must be one a running
 * `wal start` exports: a renamed metric would otherwise leave a panel silently empty. The instance here
 * runs a delayed-queue namespace on cluster A and delivers one delayed record, so the metrics of that
 * path also carry samples; the others (mirror, fan-out, transactions) are declared on /metrics by the
 * modules `wal start` loads (HELP/TYPE lines) without samples until their component runs.
 */

jest.setTimeout(120_000);

const root = path.resolve(__dirname, '../..');
const cluster = testCluster('A');
const dashboardFile = path.join(root, 'deploy/grafana/wal-dashboard.json');

/**
 * Metrics the dashboard shows that another change adds, not yet defined in src/ on this branch. Each is
 * allowed only while no file under src/ defines it; once one does, it is checked like every other name.
 */
const PENDING: Record<string, string> = {
  // DLQ depth gauge: the DLQ ledger work (dead letters not yet replayed or purged), set by a poller in `wal start`.
  wal_dlq_depth_records: 'added by the DLQ ledger/purge change',
};

interface Panel {
  type: string;
  title: string;
  targets?: { expr: string }[];
  panels?: Panel[];
}

/** Every PromQL expression of the dashboard: panel targets and query variables. */
function dashboardExpressions(): string[] {
  const dashboard = JSON.parse(readFileSync(dashboardFile, 'utf8')) as { panels: Panel[]; templating: { list: { type: string; query?: unknown }[] } };
  const panels = dashboard.panels.flatMap((p) => [p, ...(p.panels ?? [])]);
  const exprs = panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr));
  for (const variable of dashboard.templating.list.filter((v) => v.type === 'query')) {
    const query = variable.query as { query: string } | string;
    exprs.push(typeof query === 'string' ? query : query.query);
  }
  return exprs;
}

/** The series names an expression selects (wal's metrics all start with wal_). */
function metricNames(expr: string): string[] {
  return [...expr.matchAll(/\bwal_[a-z0-9_]+\b/g)].map((m) => m[0]);
}

/** `# TYPE <family> <type>` lines of a scrape. */
function families(text: string): Map<string, string> {
  return new Map([...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => [m[1], m[2]]));
}

/**
 * The family a series name belongs to: itself, or for `_bucket`, `_sum`, `_count` the histogram (or,
 * for `_sum`/`_count`, summary) it is part of. A counter whose name happens to end in `_count` stays itself.
 */
function familyOf(name: string, declared: Map<string, string>): string | undefined {
  if (declared.has(name)) return name;
  const suffix = /_(bucket|sum|count)$/.exec(name);
  if (!suffix) return undefined;
  const base = name.slice(0, -suffix[0].length);
  const type = declared.get(base);
  if (type === 'histogram') return base;
  if (type === 'summary' && suffix[1] !== 'bucket') return base;
  return undefined;
}

/** Whether a file under src/ defines a metric of that name (`name: '<name>'`). */
function definedInSources(name: string, dir = path.join(root, 'src')): boolean {
  for (const entry of readdirSync(dir)) {
    const file = path.join(dir, entry);
    if (statSync(file).isDirectory()) {
      if (definedInSources(name, file)) return true;
    } else if (file.endsWith('.ts') && readFileSync(file, 'utf8').includes(`name: '${name}'`)) return true;
  }
  return false;
}

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** `wal <args>` from the TypeScript sources, as a separate process. */
function wal(args: string[], env: NodeJS.ProcessEnv = {}): { child: ChildProcess; output: () => string; exited: Promise<number | null> } {
  const child = spawn(process.execPath, ['-r', path.join(root, 'test/support/runtime-fixtures/register-ts.js'), path.join(root, 'src/cli/main.ts'), ...args], {
    env: { ...process.env, WAL_LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, output: () => out, exited };
}

describe('the Grafana dashboard against a running wal start', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'wal-dashboard-'));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('queries only metrics the admin port of wal start exports (histograms by their _bucket/_sum/_count series)', async () => {
    const exprs = dashboardExpressions();
    expect(exprs.length).toBeGreaterThan(20);
    for (const expr of exprs) expect([expr, metricNames(expr).length > 0]).toEqual([expr, true]);
    const used = [...new Set(exprs.flatMap(metricNames))].sort();

    const ns = uniqueTopic('dash');
    const configFile = path.join(dir, 'ns.yaml');
    await writeFile(
      configFile,
      [
        'clusters:',
        '  A:',
        `    brokers: [${cluster.brokers.map((b) => `"${b}"`).join(', ')}]`,
        `    schemaRegistryUrl: ${cluster.registryUrl}`,
        'namespaces:',
        `  - name: ${ns}`,
        '    cluster: A',
        '    partitions: 1',
        '    delay: { defaultDelayMs: 0 }',
        `    targets: { events: { type: kafka, topic: ${ns}.delivered } }`,
        '    defaultTarget: events',
        '    runtime: { commitIntervalMs: 500ms, punctuationIntervalMs: 100ms }',
      ].join('\n'),
    );
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const instance = wal(['start', '--topology', configFile, '--create-topics', '--state-dir', path.join(dir, 'state'), '--instance-id', 'dash-1', '--admin-port', String(port), '--shutdown-timeout', '20s']);
    try {
      // Ready: the namespace's topics exist (--create-topics) and its partition is restored.
      for (let deadline = Date.now() + 60_000; ; ) {
        const status = await fetch(`${url}/ready`).then((r) => r.status, () => 0);
        if (status === 200) break;
        if (instance.child.exitCode !== null || Date.now() > deadline) throw new Error(`wal start not ready (${status}):\n${instance.output()}`);
        await sleep(300);
      }
      // One delayed record through the namespace, so the delay and target metrics carry samples.
      const write = wal(['write', '--topology', configFile, '--namespace', ns, '--payload', '{"dashboard":true}', '--delay', '500ms']);
      expect({ code: await orTimeout(write.exited, 30_000, 'timeout'), output: write.output() }).toMatchObject({ code: 0 });

      let text = '';
      let samples: Sample[] = [];
      for (let deadline = Date.now() + 30_000; ; ) {
        text = await (await fetch(`${url}/metrics`)).text();
        samples = parsePrometheusText(text);
        const delivered = samples.some((s) => s.name === 'wal_delay_delivered_total' && s.labels.namespace === ns && s.value >= 1);
        if (delivered) break;
        if (Date.now() > deadline) throw new Error(`the record was not delivered within 30 s:\n${text.split('\n').filter((l) => l.includes(ns)).join('\n')}\n${instance.output()}`);
        await sleep(300);
      }

      // The delayed queue's series say which queue backend the namespace runs on.
      expect(samples.filter((s) => s.name === 'wal_delay_delivered_total' && s.labels.namespace === ns).map((s) => s.labels.backend)).toEqual(['kafka']);
      const declared = families(text);
      const sampled = new Set(samples.filter((s) => s.labels.namespace === ns).map((s) => s.name));
      const missing: string[] = [];
      const pending: string[] = [];
      for (const name of used) {
        const family = familyOf(name, declared);
        if (family !== undefined) continue;
        if (name in PENDING && !definedInSources(name)) pending.push(`${name} (${PENDING[name]})`);
        else missing.push(name);
      }
      expect(missing).toEqual([]);
      // The dashboard shows the path this instance ran with data, not only declared names.
      for (const name of ['wal_runtime_records_processed_total', 'wal_consumer_lag_records', 'wal_namespace_ready', 'wal_delay_delivered_total', 'wal_delay_fire_lateness_seconds_bucket', 'wal_target_delivery_duration_seconds_bucket', 'wal_target_deliveries_total']) {
        expect([name, used.includes(name), sampled.has(name)]).toEqual([name, true, true]);
      }
      // A PENDING entry must be one the dashboard still uses (else the list is stale).
      for (const name of Object.keys(PENDING)) expect([name, used.includes(name)]).toEqual([name, true]);
      const withData = used.filter((n) => sampled.has(n));
      process.stdout.write(
        `[dashboard] ${used.length} metric names in ${exprs.length} expressions: all exported by wal start; ` +
          `with samples for the delayed-queue namespace: ${withData.join(', ')}; ` +
          `declared without samples (component idle here): ${used.filter((n) => !sampled.has(n) && familyOf(n, declared)).join(', ')}; ` +
          `pending: ${pending.join(', ') || 'none'}\n`,
      );

      instance.child.kill('SIGTERM');
      expect(await orTimeout(instance.exited, 25_000, 'timeout')).toBe(0);
    } finally {
      instance.child.kill('SIGKILL');
    }
  });
});
