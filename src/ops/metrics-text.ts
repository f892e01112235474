/** Reading the Prometheus text format back (for `wal status` over running instances, and tests). */

export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

/** The text could not be read as Prometheus exposition format; names the line. */
export class MetricsFormatError extends Error {
  readonly retriable = false;
  constructor(message: string) {
    super(message);
    this.name = 'MetricsFormatError';
  }
}

function parseValue(raw: string, lineNo: number, line: string): number {
  // prom-client writes NaN as "Nan"; the format itself is case-insensitive for these.
  const lower = raw.toLowerCase();
  if (lower === '+inf' || lower === 'inf') return Infinity;
  if (lower === '-inf') return -Infinity;
  if (lower === 'nan') return NaN;
  const n = Number(raw);
  if (raw === '' || Number.isNaN(n)) throw new MetricsFormatError(`line ${lineNo}: "${raw}" is not a sample value in "${line}"`);
  return n;
}

/** Parses `name{label="value",…} value [timestamp]` lines; comments and blank lines are skipped. */
export function parsePrometheusText(text: string): Sample[] {
  const samples: Sample[] = [];
  text.split('\n').forEach((raw, index) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const lineNo = index + 1;
    const nameEnd = line.search(/[{\s]/);
    if (nameEnd <= 0) throw new MetricsFormatError(`line ${lineNo}: no sample value in "${line}"`);
    const name = line.slice(0, nameEnd);
    const labels: Record<string, string> = {};
    let i = nameEnd;
    if (line[i] === '{') {
      i += 1;
      while (line[i] !== '}') {
        const eq = line.indexOf('=', i);
        if (eq < 0 || line[eq + 1] !== '"') throw new MetricsFormatError(`line ${lineNo}: bad label set in "${line}"`);
        const key = line.slice(i, eq).trim();
        let value = '';
        let j = eq + 2;
        for (; j < line.length && line[j] !== '"'; j += 1) {
          if (line[j] === '\\') {
            j += 1;
            value += line[j] === 'n' ? '\n' : line[j];
          } else value += line[j];
        }
        if (j >= line.length) throw new MetricsFormatError(`line ${lineNo}: unterminated label value in "${line}"`);
        labels[key] = value;
        i = j + 1;
        if (line[i] === ',') i += 1;
        if (i >= line.length) throw new MetricsFormatError(`line ${lineNo}: unterminated label set in "${line}"`);
      }
      i += 1;
    }
    const [value] = line.slice(i).trim().split(/\s+/);
    samples.push({ name, labels, value: parseValue(value ?? '', lineNo, line) });
  });
  return samples;
}

/** Sum of the samples named `name` whose labels include every `match` pair. */
export function sumSamples(samples: readonly Sample[], name: string, match: Record<string, string> = {}): number {
  let total = 0;
  for (const s of samples) {
    if (s.name !== name) continue;
    if (Object.entries(match).every(([k, v]) => s.labels[k] === v)) total += s.value;
  }
  return total;
}
