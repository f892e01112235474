/** Small statistics for benchmark figures: nearest-rank percentiles and run summaries. */

/** Nearest-rank percentile (p in 0..100) of the values; NaN for none. */
export function percentile(values: ArrayLike<number>, p: number): number {
  if (values.length === 0) return NaN;
  const sorted = Float64Array.from(values).sort();
  const rank = Math.ceil((p / 100) * sorted.length) - 1;
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank))];
}

export function median(values: ArrayLike<number>): number {
  if (values.length === 0) return NaN;
  const sorted = Float64Array.from(values).sort();
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[mid]) : ((sorted[mid - 1]) + (sorted[mid])) / 2;
}

export interface Summary {
  readonly median: number;
  readonly min: number;
  readonly max: number;
  /** Every run's value, in run order. */
  readonly values: number[];
}

/** Median, min and max over runs; NaN values (a run that could not measure) are left out. */
export function summarize(values: number[]): Summary {
  const measured = values.filter((v) => Number.isFinite(v));
  if (measured.length === 0) return { median: NaN, min: NaN, max: NaN, values };
  return { median: median(measured), min: Math.min(...measured), max: Math.max(...measured), values };
}

/** Lateness-style summary of one run's samples (ms). */
export function distribution(samples: ArrayLike<number>): { p50: number; p99: number; max: number; count: number } {
  let max = -Infinity;
  for (let i = 0; i < samples.length; i += 1) max = Math.max(max, samples[i]);
  return { p50: percentile(samples, 50), p99: percentile(samples, 99), max: samples.length > 0 ? max : NaN, count: samples.length };
}
