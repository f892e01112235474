import { Command } from 'commander';
import { ConfigError, findNamespace, loadConfig, parseDuration, type NamespaceConfig } from '../../namespaces';
import { createKafkaClient } from '../../kafka';
import { readInstanceStatuses, type InstanceStatus } from '../../ops/instance';
import { formatMetricsTable, namespaceRows, notReadyReasons, scrapeMetrics, scrapeReadiness, type NamespaceMetricsRow, type ReadyAnswer } from '../../ops/metrics-table';
import { DEFAULT_STATE_DIR } from './start';

export interface StatusOptions {
  readonly stateDir?: string;
  readonly topology?: string[];
  readonly namespace?: string[];
  readonly json?: boolean;
  /** Admin endpoints of running instances (`wal start --admin-port`): scrape their /metrics and /ready. */
  readonly admin?: string[];
  /** Per-request bound for --admin scrapes, in ms (default 3000). */
  readonly adminTimeoutMs?: number;
}

/** An instance counts as running when its process exists and it refreshed its status file recently. */
export function isRunning(status: InstanceStatus, now = Date.now()): boolean {
  let alive = true;
  try {
    process.kill(status.pid, 0);
  } catch (error) {
    alive = (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  return alive && now - Date.parse(status.updatedAt) < 10_000;
}

function bytes(n: number): string {
  if (n < 0) return '?';
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

export function formatInstances(statuses: InstanceStatus[], now = Date.now()): string[] {
  const lines: string[] = [];
  for (const s of statuses.sort((a, b) => a.instanceId.localeCompare(b.instanceId))) {
    const ago = Math.round((now - Date.parse(s.updatedAt)) / 1000);
    lines.push(`instance ${s.instanceId} (pid ${s.pid}, ${isRunning(s, now) ? 'running' : 'NOT running'}, updated ${ago}s ago, state dir ${s.stateDir})`);
    for (const ns of s.namespaces) {
      lines.push(`  namespace ${ns.namespace} (group ${ns.groupId}, ${ns.guarantee}, ${ns.state}${ns.paused ? ', PAUSED' : ''}): assigned [${ns.assigned.join(', ')}]`);
      for (const t of ns.tasks) {
        const offsets = Object.entries(t.offsets)
          .map(([topic, o]) => `${topic}: processed ${o.processed ?? '-'} high ${o.highWatermark ?? '-'} lag ${o.lag ?? '-'}`)
          .join('; ');
        const stores = Object.entries(t.stores).map(([name, size]) => `${name}=${bytes(size)}`).join(' ') || 'none';
        lines.push(`    partition ${t.partition}  ${offsets}  stores ${stores}  restored ${t.restoredRecords}`);
      }
    }
  }
  return lines;
}

/** The brokers' view of a namespace group: members and per-partition committed offset, end offset and lag. */
async function brokerView(files: string[], names: string[] | undefined): Promise<string[]> {
  const config = loadConfig(files);
  const namespaces: NamespaceConfig[] = names?.length
    ? names.map((n) => {
        const ns = findNamespace(config, n);
        if (!ns) throw new ConfigError([`namespace "${n}" is not in ${config.sourceFiles.join(', ')}`]);
        return ns;
      })
    : config.namespaces;
  const lines: string[] = [];
  for (const ns of namespaces) {
    if (ns.queue?.type === 'sqs') {
      // Its receivers form no Kafka group and it has no intake topic: the queue's depth is on /metrics.
      lines.push(`namespace ${ns.name}: SQS queue ${ns.queue.queueName ?? ns.queue.queueUrl}, no Kafka group (see wal_sqs_queue_messages on an instance's /metrics)`);
      continue;
    }
    const groupId = `wal.${ns.name}`;
    const admin = createKafkaClient(config.clusters[ns.cluster], 'wal-status').admin();
    await admin.connect();
    try {
      const { groups } = await admin.describeGroups([groupId]);
      const group = groups[0];
      lines.push(`namespace ${ns.name} on cluster ${ns.cluster}: group ${groupId} ${group?.state ?? 'unknown'}, ${group?.members.length ?? 0} member(s)`);
      const [committed] = await admin.fetchOffsets({ groupId, topics: [ns.topics.intake] });
      const ends = await admin.fetchTopicOffsets(ns.topics.intake);
      for (const end of ends.sort((a, b) => a.partition - b.partition)) {
        const c = committed?.partitions.find((p) => p.partition === end.partition)?.offset ?? '-1';
        const lag = BigInt(end.high) - (BigInt(c) >= 0n ? BigInt(c) : BigInt(end.low));
        lines.push(`  ${ns.topics.intake}[${end.partition}]  committed ${BigInt(c) >= 0n ? c : 'none'}  end ${end.high}  lag ${lag}`);
      }
    } finally {
      await admin.disconnect();
    }
  }
  return lines;
}

/** `9464` → `http://127.0.0.1:9464`; `host:9464` → `http://host:9464`; a URL stays as given (without trailing `/`). */
export function adminUrl(given: string): string {
  const trimmed = given.trim().replace(/\/+$/, '');
  if (/^\d+$/.test(trimmed)) return `http://127.0.0.1:${trimmed}`;
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(trimmed) ? trimmed : `http://${trimmed}`;
}

export interface AdminInstanceView {
  readonly url: string;
  readonly ready: ReadyAnswer | null;
  readonly rows: NamespaceMetricsRow[];
  /** Why the instance could not be read (unreachable, timed out, not a wal admin endpoint). */
  readonly error: string | null;
}

/** Scrapes /metrics and /ready of each admin URL at once; an endpoint that fails becomes a view with `error`. */
export async function readAdminEndpoints(urls: readonly string[], timeoutMs = 3000): Promise<AdminInstanceView[]> {
  return Promise.all(
    urls.map(async (given): Promise<AdminInstanceView> => {
      let url = given;
      try {
        url = adminUrl(given);
        const parsed = new URL(url);
        if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new Error(`${given}: not an http(s) URL`);
        const [samples, ready] = await Promise.all([scrapeMetrics(url, timeoutMs), scrapeReadiness(url, timeoutMs)]);
        return { url, ready, rows: namespaceRows(parsed.host, samples), error: null };
      } catch (error) {
        const message = error instanceof TypeError && /Invalid URL/i.test(error.message) ? `${given}: not a URL` : (error as Error)?.message ?? String(error);
        return { url, ready: null, rows: [], error: message };
      }
    }),
  );
}

/** One line per instance (ready, not ready with reasons, or unreachable), then the metrics table of every namespace. */
export function formatAdminViews(views: readonly AdminInstanceView[]): string[] {
  const lines: string[] = [];
  for (const v of views) {
    if (v.error !== null) lines.push(`${v.url}: UNREACHABLE: ${v.error}`);
    else if (v.ready?.ready) lines.push(`${v.url}: ready`);
    else lines.push(`${v.url}: NOT READY: ${notReadyReasons(v.ready ?? { ready: false, details: null }).join('; ')}`);
  }
  const rows = views.flatMap((v) => v.rows);
  if (rows.length > 0) lines.push('', ...formatMetricsTable(rows));
  else if (views.some((v) => v.error === null)) lines.push('', 'no namespace metrics reported (no namespace runs in the reachable instances)');
  return lines;
}

export async function runStatus(options: StatusOptions, print: (line: string) => void): Promise<number> {
  if (options.admin?.length) {
    const views = await readAdminEndpoints(options.admin, options.adminTimeoutMs);
    if (options.json) print(JSON.stringify({ instances: views }, null, 2));
    else for (const line of formatAdminViews(views)) print(line);
    if (options.topology?.length && !options.json) for (const line of await brokerView(options.topology, options.namespace)) print(line);
    // Scripts can tell "every instance answered" from "some did not".
    return views.some((v) => v.error !== null) ? 1 : 0;
  }
  const stateDir = options.stateDir ?? process.env.WAL_STATE_DIR ?? DEFAULT_STATE_DIR;
  const statuses = await readInstanceStatuses(stateDir);
  if (options.json) {
    print(JSON.stringify({ instances: statuses.map((s) => ({ ...s, running: isRunning(s) })) }, null, 2));
  } else if (statuses.length === 0) {
    print(`no wal instance has written status under ${stateDir}`);
  } else {
    for (const line of formatInstances(statuses)) print(line);
  }
  if (options.topology?.length && !options.json) for (const line of await brokerView(options.topology, options.namespace)) print(line);
  return 0;
}

export function registerStatus(program: Command): void {
  program
    .command('status')
    .description('show running instances (assignment, lag, store sizes) from their status files or, with --admin, from their admin ports; and the group lag from the brokers')
    .option('--state-dir <dir>', `state dir the instances use (default: $WAL_STATE_DIR or ./${DEFAULT_STATE_DIR})`)
    .option('--topology <files...>', 'also ask the brokers for each namespace group: members, committed offsets, lag')
    .option('--namespace <names...>', 'with --topology: only these namespaces')
    .option('--json', 'print the instances status files (or, with --admin, what the endpoints answered) as JSON')
    .option('--admin <urls...>', 'read running instances through their admin ports instead (e.g. http://127.0.0.1:9464, host:9464 or 9464): /ready and a /metrics table; exit 1 if one does not answer')
    .option('--admin-timeout <duration>', 'with --admin: how long to wait for each endpoint', '3s')
    .action(async (options: StatusOptions & { adminTimeout?: string }) => {
      const adminTimeoutMs = parseDuration(options.adminTimeout ?? '3s');
      if (adminTimeoutMs === undefined || adminTimeoutMs <= 0) throw new ConfigError([`--admin-timeout "${options.adminTimeout}": expected a duration like 3s`]);
      process.exitCode = await runStatus({ ...options, adminTimeoutMs }, (line) => process.stdout.write(`${line}\n`));
    });
}
