import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ClusterEndpoints } from '../../src/devcluster';
import { Summary, summarize } from './stats';

/** One figure a bench reports, e.g. records/s; `better` says which way is good (for readers, not checks). */
export interface FigureSpec {
  readonly key: string;
  readonly label: string;
  readonly unit: string;
  readonly digits?: number;
}

export interface FigureResult extends FigureSpec, Summary {}

/** A pass/fail statement of a drill (lost = 0, every bad record dead-lettered …). */
export interface Check {
  readonly name: string;
  readonly ok: boolean;
  readonly detail: string;
}

export interface Report {
  readonly name: string;
  readonly title: string;
  readonly params: Record<string, unknown>;
  readonly runs: number;
  readonly figures: FigureResult[];
  readonly checks: Check[];
  readonly notes: string[];
  /** Set when a run failed; figures hold the runs that finished. */
  readonly error?: string;
  readonly durationMs: number;
}

export interface Environment {
  readonly kind: 'bench' | 'drill';
  readonly startedAt: string;
  readonly argv: string[];
  readonly machine: {
    readonly platform: string;
    readonly release: string;
    readonly arch: string;
    readonly cpuModel: string;
    readonly cpus: number;
    readonly cpuSpeedMHz: number;
    readonly totalMemoryMiB: number;
    readonly freeMemoryMiBAtStart: number;
    readonly loadAverageAtStart: number[];
  };
  readonly node: string;
  readonly clusters: Array<Pick<ClusterEndpoints, 'name' | 'brokers' | 'registryUrl' | 'source' | 'kafkaVersion' | 'registryVersion'>>;
  readonly clusterOrigin: string;
  /** The SQS endpoint of the SQS benches, and how it was found. */
  readonly sqs?: { readonly endpoint: string; readonly origin: string };
  readonly git: { readonly commit: string; readonly dirty: boolean };
}

function git(args: string[]): string {
  try {
    return execFileSync('git', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return '';
  }
}

export function describeEnvironment(kind: Environment['kind'], clusters: ClusterEndpoints[], clusterOrigin: string, sqs?: { endpoint: string; origin: string }): Environment {
  const cpus = os.cpus();
  return {
    kind,
    startedAt: new Date().toISOString(),
    argv: process.argv.slice(2),
    machine: {
      platform: os.platform(),
      release: os.release(),
      arch: os.arch(),
      cpuModel: cpus[0]?.model.trim() ?? 'unknown',
      cpus: cpus.length,
      cpuSpeedMHz: cpus[0]?.speed ?? 0,
      totalMemoryMiB: Math.round(os.totalmem() / 2 ** 20),
      freeMemoryMiBAtStart: Math.round(os.freemem() / 2 ** 20),
      loadAverageAtStart: os.loadavg().map((l) => Math.round(l * 100) / 100),
    },
    node: process.version,
    clusters: clusters.map(({ name, brokers, registryUrl, source, kafkaVersion, registryVersion }) => ({ name, brokers, registryUrl, source, kafkaVersion, registryVersion })),
    clusterOrigin,
    ...(sqs ? { sqs: { endpoint: sqs.endpoint, origin: sqs.origin } } : {}),
    git: { commit: git(['rev-parse', 'HEAD']) || 'unknown', dirty: git(['status', '--porcelain', '--untracked-files=no']) !== '' },
  };
}

/** Collects one run's figures per repetition and summarises them (median, min, max). */
export class ReportBuilder {
  private readonly started = Date.now();
  private readonly values = new Map<string, number[]>();
  private readonly checks: Check[] = [];
  private readonly notes: string[] = [];
  private runs = 0;
  private error?: string;

  constructor(
    readonly name: string,
    readonly title: string,
    readonly specs: FigureSpec[],
    readonly params: Record<string, unknown> = {},
  ) {}

  /** Adds one run's figures; keys not in the specs are an error in the bench, not in the system. */
  addRun(figures: Record<string, number>): void {
    for (const key of Object.keys(figures)) {
      if (!this.specs.some((s) => s.key === key)) throw new Error(`bench ${this.name} reported an undeclared figure "${key}"`);
    }
    for (const spec of this.specs) {
      const list = this.values.get(spec.key) ?? [];
      list.push(figures[spec.key] ?? NaN);
      this.values.set(spec.key, list);
    }
    this.runs += 1;
  }

  check(name: string, ok: boolean, detail: string): void {
    this.checks.push({ name, ok, detail });
  }

  note(text: string): void {
    this.notes.push(text);
  }

  fail(error: unknown): void {
    this.error = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  }

  build(): Report {
    return {
      name: this.name,
      title: this.title,
      params: this.params,
      runs: this.runs,
      figures: this.specs.map((spec) => ({ ...spec, ...summarize(this.values.get(spec.key) ?? []) })),
      checks: this.checks,
      notes: this.notes,
      ...(this.error !== undefined ? { error: this.error } : {}),
      durationMs: Date.now() - this.started,
    };
  }
}

/** Repeats `once` `runs` times (stopping at the first failure, which is recorded) and builds the report. */
export async function repeat(builder: ReportBuilder, runs: number, once: (run: number) => Promise<Record<string, number>>, log: (line: string) => void): Promise<Report> {
  for (let run = 0; run < runs; run += 1) {
    try {
      const figures = await once(run);
      builder.addRun(figures);
      log(`  ${builder.name} run ${run + 1}/${runs}: ${Object.entries(figures).map(([k, v]) => `${k}=${formatNumber(v, builder.specs.find((s) => s.key === k)?.digits)}`).join(' ')}`);
    } catch (error) {
      builder.fail(error);
      log(`  ${builder.name} run ${run + 1}/${runs} failed: ${(error as Error)?.stack ?? String(error)}`);
      break;
    }
  }
  return builder.build();
}

export function formatNumber(value: number, digits?: number): string {
  if (!Number.isFinite(value)) return '–';
  const d = digits ?? (Math.abs(value) >= 100 ? 0 : Math.abs(value) >= 10 ? 1 : 2);
  return value.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d });
}

/** `<dir>/<kind>-<timestamp>.<extension>`: the results JSON and the log of the same run. */
export function resultFile(dir: string, environment: Environment, extension: 'json' | 'log'): string {
  fs.mkdirSync(dir, { recursive: true });
  return path.join(dir, `${environment.kind}-${environment.startedAt.replace(/[:.]/g, '-')}.${extension}`);
}

/** Writes `<dir>/<kind>-<timestamp>.json` and returns its path. */
export function writeResults(dir: string, environment: Environment, reports: Report[]): string {
  const file = resultFile(dir, environment, 'json');
  const body = { ...environment, finishedAt: new Date().toISOString(), loadAverageAtEnd: os.loadavg().map((l) => Math.round(l * 100) / 100), reports };
  fs.writeFileSync(file, `${JSON.stringify(body, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2)}\n`);
  return file;
}
