import { parsePrometheusText, sumSamples, type Sample } from './metrics-text';

/** A running instance's admin endpoint did not answer /metrics. Retriable: it may be starting or restarting. */
export class MetricsScrapeError extends Error {
  readonly retriable = true;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'MetricsScrapeError';
  }
}

/** Fetches and parses `<adminUrl>/metrics`, bounded by `timeoutMs`. */
export async function scrapeMetrics(adminUrl: string, timeoutMs = 3000): Promise<Sample[]> {
  const url = `${adminUrl.replace(/\/+$/, '')}/metrics`;
  let response: Response;
  try {
    response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  } catch (error) {
    throw new MetricsScrapeError(`${url}: ${fetchFailure(error, timeoutMs)}`, { cause: error });
  }
  if (!response.ok) throw new MetricsScrapeError(`${url}: HTTP ${response.status}`);
  return parsePrometheusText(await response.text());
}

/** "no answer within …", or fetch's message with its cause (`fetch failed (ECONNREFUSED)`). */
function fetchFailure(error: unknown, timeoutMs: number): string {
  const e = error as Error & { cause?: { code?: string; message?: string } };
  if (e?.name === 'TimeoutError') return `no answer within ${timeoutMs} ms`;
  const why = e?.cause?.code ?? e?.cause?.message;
  return `${e?.message ?? String(error)}${why ? ` (${why})` : ''}`;
}

/** What `<adminUrl>/ready` answered: 200 ready, 503 not ready, with the instance's JSON details. */
export interface ReadyAnswer {
  readonly ready: boolean;
  readonly details: unknown;
}

/** Fetches `<adminUrl>/ready`; a 503 is an answer (not ready), anything else unexpected throws MetricsScrapeError. */
export async function scrapeReadiness(adminUrl: string, timeoutMs = 3000): Promise<ReadyAnswer> {
  const url = `${adminUrl.replace(/\/+$/, '')}/ready`;
  let response: Response;
  try {
    response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  } catch (error) {
    throw new MetricsScrapeError(`${url}: ${fetchFailure(error, timeoutMs)}`, { cause: error });
  }
  if (response.status !== 200 && response.status !== 503) throw new MetricsScrapeError(`${url}: HTTP ${response.status}`);
  let body: { ready?: unknown; details?: unknown };
  try {
    body = (await response.json()) as { ready?: unknown; details?: unknown };
  } catch (error) {
    throw new MetricsScrapeError(`${url}: not a wal readiness answer (${(error as Error).message})`, { cause: error });
  }
  return { ready: response.status === 200 && body.ready === true, details: body.details ?? null };
}

/** The reasons a not-ready answer gives, one per namespace that is not ready (`ns: reason`). */
export function notReadyReasons(answer: ReadyAnswer): string[] {
  if (answer.ready) return [];
  const details = answer.details as { namespaces?: { namespace?: string; ready?: boolean; reason?: string }[]; reason?: string } | null;
  const reasons = (details?.namespaces ?? []).filter((n) => n.ready !== true).map((n) => `${n.namespace ?? '?'}: ${n.reason ?? 'not ready'}`);
  if (details?.reason) reasons.push(details.reason);
  return reasons.length > 0 ? reasons : ['not ready'];
}

/** One row of `wal status --admin`: what an instance reports for one namespace. */
export interface NamespaceMetricsRow {
  readonly instance: string;
  readonly namespace: string;
  readonly ready: boolean | null;
  /** Paused by `wal namespace pause` (wal_namespace_paused = 1). */
  readonly paused?: boolean;
  readonly tasks: number;
  readonly restoring: number;
  readonly processed: number;
  readonly lag: number;
  readonly pendingTimers: number;
  readonly delivered: number;
  readonly retries: number;
  readonly deadLettered: number;
  readonly targetErrors: number;
  readonly mirrorLag: number;
  readonly txnCompleted: number;
  readonly txnPending: number;
  readonly txnFailed: number;
}

/** Per namespace found in `samples` (any metric with a `namespace` label), the figures an operator looks at first. */
export function namespaceRows(instance: string, samples: readonly Sample[]): NamespaceMetricsRow[] {
  const namespaces = [...new Set(samples.map((s) => s.labels.namespace).filter((n): n is string => n !== undefined))].sort();
  return namespaces.map((namespace) => {
    const ns = { namespace };
    const sum = (name: string, extra: Record<string, string> = {}) => sumSamples(samples, name, { ...ns, ...extra });
    const readySample = samples.find((s) => s.name === 'wal_namespace_ready' && s.labels.namespace === namespace);
    const targetAll = sum('wal_target_deliveries_total');
    return {
      instance,
      namespace,
      ready: readySample ? readySample.value === 1 : null,
      paused: samples.some((s) => s.name === 'wal_namespace_paused' && s.labels.namespace === namespace && s.value === 1),
      tasks: sum('wal_runtime_tasks_assigned'),
      restoring: sum('wal_namespace_partitions_restoring'),
      processed: sum('wal_runtime_records_processed_total'),
      lag: sum('wal_consumer_lag_records'),
      pendingTimers: sum('wal_delay_pending_timers'),
      delivered: sum('wal_delay_delivered_total') + sum('wal_mirror_records_total') + sum('wal_fanout_mutations_applied_total'),
      retries: sum('wal_delay_retries_total') + sum('wal_fanout_apply_retries_total'),
      deadLettered: sum('wal_dlq_records_total') + sum('wal_fanout_chunks_dead_lettered_total'),
      targetErrors: targetAll - sum('wal_target_deliveries_total', { result: 'ok' }),
      mirrorLag: sum('wal_mirror_lag_records'),
      txnCompleted: sum('wal_txn_completed_total'),
      txnPending: sum('wal_txn_pending'),
      txnFailed: sum('wal_txn_failed_total'),
    };
  });
}

const COLUMNS: [string, (r: NamespaceMetricsRow) => string][] = [
  ['INSTANCE', (r) => r.instance],
  ['NAMESPACE', (r) => r.namespace],
  ['READY', (r) => (r.ready === null ? '-' : r.ready ? 'yes' : 'no') + (r.paused ? ' (paused)' : '')],
  ['TASKS', (r) => String(r.tasks)],
  ['RESTORING', (r) => String(r.restoring)],
  ['PROCESSED', (r) => String(r.processed)],
  ['LAG', (r) => String(r.lag)],
  ['TIMERS', (r) => String(r.pendingTimers)],
  ['DELIVERED', (r) => String(r.delivered)],
  ['RETRIES', (r) => String(r.retries)],
  ['DLQ', (r) => String(r.deadLettered)],
  ['TARGET ERR', (r) => String(r.targetErrors)],
  ['MIRROR LAG', (r) => String(r.mirrorLag)],
  ['TXN PENDING', (r) => String(r.txnPending)],
  ['TXN DONE', (r) => String(r.txnCompleted)],
  ['TXN FAILED', (r) => String(r.txnFailed)],
];

/** A plain aligned table, one line per row, header first. */
export function formatMetricsTable(rows: readonly NamespaceMetricsRow[]): string[] {
  const cells = [COLUMNS.map(([h]) => h), ...rows.map((r) => COLUMNS.map(([, f]) => f(r)))];
  const widths = COLUMNS.map((_, i) => Math.max(...cells.map((c) => c[i].length)));
  return cells.map((c) => c.map((v, i) => (i < 2 ? v.padEnd(widths[i]) : v.padStart(widths[i]))).join('  ').trimEnd());
}
