import { parseArgs, type ParseArgsConfig } from 'node:util';
import { parseDuration } from '../../src/namespaces';

/** A flag with a value the bench cannot use; the message names the flag and what it expects. */
export class BenchUsageError extends Error {
  readonly retriable = false;
  constructor(message: string) {
    super(message);
    this.name = 'BenchUsageError';
  }
}

export type FlagValues = Record<string, string | boolean | undefined>;

export function parseFlags(argv: string[], options: NonNullable<ParseArgsConfig['options']>, usage: string): FlagValues {
  try {
    return parseArgs({ args: argv, options, strict: true, allowPositionals: false }).values as FlagValues;
  } catch (error) {
    throw new BenchUsageError(`${(error as Error).message}\n\n${usage}`);
  }
}

export function intFlag(values: FlagValues, name: string, fallback: number): number {
  const raw = values[name];
  if (raw === undefined) return fallback;
  const n = Number(String(raw).replace(/_/g, '').replace(/k$/i, '000').replace(/m$/i, '000000'));
  if (!Number.isSafeInteger(n) || n <= 0) throw new BenchUsageError(`--${name} "${String(raw)}": expected a positive whole number (e.g. 100000, 100k, 1M)`);
  return n;
}

export function intListFlag(values: FlagValues, name: string, fallback: number[]): number[] {
  const raw = values[name];
  if (raw === undefined) return fallback;
  return String(raw)
    .split(',')
    .map((part) => intFlag({ [name]: part.trim() }, name, 0));
}

export function durationFlag(values: FlagValues, name: string, fallbackMs: number): number {
  const raw = values[name];
  if (raw === undefined) return fallbackMs;
  const ms = parseDuration(String(raw));
  if (ms === undefined || ms <= 0) throw new BenchUsageError(`--${name} "${String(raw)}": expected a duration like 10s or 500ms`);
  return ms;
}

/** Two durations `min,max` (e.g. `2s,5s`), min ≤ max. */
export function durationListFlag(values: FlagValues, name: string, fallbackMs: [number, number]): [number, number] {
  const raw = values[name];
  if (raw === undefined) return fallbackMs;
  const parts = String(raw).split(',');
  const [min, max] = parts.map((part) => durationFlag({ [name]: part.trim() }, name, 0));
  if (parts.length !== 2 || min > max) throw new BenchUsageError(`--${name} "${String(raw)}": expected two durations min,max like 2s,5s`);
  return [min, max];
}

/** `--only a,b`: which of `known` to run (all when absent); unknown names are an error. */
export function selection(values: FlagValues, known: string[]): Set<string> {
  const raw = values.only;
  if (raw === undefined) return new Set(known);
  const picked = String(raw).split(',').map((s) => s.trim()).filter(Boolean);
  const unknown = picked.filter((p) => !known.includes(p));
  if (unknown.length > 0) throw new BenchUsageError(`--only: unknown ${unknown.join(', ')}; choose from ${known.join(', ')}`);
  return new Set(picked);
}
