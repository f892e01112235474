import fs from 'node:fs';
import path from 'node:path';
import type { ClusterEndpoints } from '../../src/devcluster';
import { spawnChild } from './child';
import type { BenchContext } from './context';
import { formatNumber, ReportBuilder, type FigureSpec, type Report } from './results';

/**
 * Runs another helper's bench script (compiled next to this one) as a child and reads its figures
 * from stdout, so that each bench file stays a standalone script. Two output forms are understood:
 *  - a JSON line `{"figures": {"<key>": {"label": "...", "unit": "...", "value": 123}}}`;
 *  - human lines `<label>: … <number> <unit>/s` (records/s, mutations/s, req/s): the last such
 *    number of the line is the figure, the text before the first colon its label.
 * A JSON line `{"settings": {...}}` (fetch sizes, batch sizes, concurrency) goes into the report's
 * params, so that runs can be compared.
 */
export interface ExternalBench {
  readonly name: string;
  readonly title: string;
  /** Compiled script, e.g. dist-bench/bench/runtime.js. */
  readonly script: string;
  readonly env: Record<string, string>;
  readonly runs: number;
  readonly timeoutMs: number;
  /** Ratios computed per run from two figures whose labels match `of` and `to` (e.g. engine / raw). */
  readonly ratios?: Array<{ readonly key: string; readonly label: string; readonly of: RegExp; readonly to: RegExp }>;
}

/** KAFKA_BROKERS & co. for child scripts, so they use the same clusters as this run. */
export function clusterEnv(clusters: ClusterEndpoints[]): Record<string, string> {
  const env: Record<string, string> = {};
  clusters.forEach((c, i) => {
    const suffix = i === 0 ? '' : `_${c.name.toUpperCase()}`;
    env[`KAFKA_BROKERS${suffix}`] = c.brokers.join(',');
    env[`SCHEMA_REGISTRY_URL${suffix}`] = c.registryUrl;
  });
  return env;
}

type Parsed = Map<string, { spec: FigureSpec; value: number }>;

export function parseFigures(output: string): Parsed {
  const figures: Parsed = new Map();
  for (const line of output.split('\n')) {
    const text = line.trim();
    if (text.startsWith('{')) {
      try {
        const json = JSON.parse(text) as { figures?: Record<string, { label?: string; unit?: string; value?: number }> };
        for (const [key, f] of Object.entries(json.figures ?? {})) {
          if (typeof f.value === 'number') figures.set(key, { spec: { key, label: f.label ?? key, unit: f.unit ?? '' }, value: f.value });
        }
      } catch {
        /* a log line, not figures */
      }
      continue;
    }
    const rates = [...text.matchAll(/(\d[\d,]*(?:\.\d+)?)\s*(records|mutations|rows|requests|req|rec)\/s/g)];
    // The label ends at the first ": " or at a run of spaces (column-aligned output).
    const label = text.split(/:\s|\s{2,}/)[0].trim();
    if (rates.length === 0 || label === '' || label === text) continue;
    const last = rates[rates.length - 1];
    // Numbers inside a label (a time, a count) vary between runs; the key must not.
    const key = label.toLowerCase().replace(/\d[\d.,]*/g, '#').replace(/[^a-z#]+/g, '-').replace(/^-|-$/g, '');
    figures.set(key, { spec: { key, label, unit: `${last[2]}/s` }, value: Number(last[1].replace(/,/g, '')) });
  }
  return figures;
}

/** The last `{"settings": {...}}` line of a child's output. */
export function parseSettings(output: string): Record<string, unknown> | undefined {
  let settings: Record<string, unknown> | undefined;
  for (const line of output.split('\n')) {
    const text = line.trim();
    if (!text.startsWith('{"settings"')) continue;
    try {
      settings = (JSON.parse(text) as { settings: Record<string, unknown> }).settings;
    } catch {
      /* a log line */
    }
  }
  return settings;
}

export async function benchExternal(ctx: BenchContext, b: ExternalBench): Promise<Report | undefined> {
  if (!fs.existsSync(b.script)) {
    ctx.log(`  ${b.name}: ${path.relative(process.cwd(), b.script)} does not exist (yet): skipped`);
    return undefined;
  }
  const runs: Parsed[] = [];
  let settings: Record<string, unknown> | undefined;
  let error: string | undefined;
  for (let run = 0; run < b.runs; run += 1) {
    const child = spawnChild(process.execPath, ['--expose-gc', b.script], { ...clusterEnv(ctx.clusters), WAL_LOG_LEVEL: 'warn', ...b.env });
    const timer = setTimeout(() => child.process.kill('SIGKILL'), b.timeoutMs);
    const code = await child.exited;
    clearTimeout(timer);
    const figures = parseFigures(child.output());
    settings = parseSettings(child.output()) ?? settings;
    if (code !== 0 || figures.size === 0) {
      // The first line of a failure says what failed; a stack's tail says only where.
      const output = child.output();
      const failure = output.split('\n').find((line) => /failed|Error/.test(line) && !line.trimStart().startsWith('at ')) ?? output.slice(-600);
      error = `${path.basename(b.script)} exited with ${code ?? 'a signal (timeout?)'} and ${figures.size} figures: ${failure.slice(0, 600)}`;
      ctx.log(`  ${b.name} run ${run + 1}/${b.runs} failed: ${error}`);
      break;
    }
    for (const ratio of b.ratios ?? []) {
      const find = (re: RegExp) => [...figures.values()].find((f) => re.test(f.spec.label));
      const of = find(ratio.of);
      const to = find(ratio.to);
      if (of && to && to.value > 0) figures.set(ratio.key, { spec: { key: ratio.key, label: ratio.label, unit: '×', digits: 2 }, value: of.value / to.value });
    }
    runs.push(figures);
    ctx.log(`  ${b.name} run ${run + 1}/${b.runs}: ${[...figures.values()].map((f) => `${f.spec.label}=${formatNumber(f.value, f.spec.digits)}`).join('; ')}`);
  }
  const specs = new Map<string, FigureSpec>();
  for (const r of runs) for (const [key, f] of r) if (!specs.has(key)) specs.set(key, f.spec);
  const builder = new ReportBuilder(b.name, b.title, [...specs.values()], { script: path.relative(process.cwd(), b.script), env: b.env, ...(settings ? { settings } : {}) });
  for (const r of runs) builder.addRun(Object.fromEntries([...r].map(([key, f]) => [key, f.value])));
  if (error) builder.fail(error);
  return builder.build();
}
