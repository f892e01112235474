import type { z } from 'zod';

/**
 * Turns a field path and a problem into one readable line:
 * `topologies/x.yaml: namespace "orders": backoff.multiplier must be ≥ 1 (got 0.5)`.
 */

export type Path = readonly (string | number)[];

export const UNKNOWN_FIELD = 'is not a known field';

export function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (typeof value === 'string') return JSON.stringify(value);
  if (Array.isArray(value)) return 'a list';
  if (value === null) return 'null';
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  return typeof value === 'function' ? 'a function' : 'a symbol';
}

export function fieldPath(path: Path): string {
  let text = '';
  for (const part of path) {
    if (typeof part === 'number') text += `[${part}]`;
    else if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(part)) text += text ? `.${part}` : part;
    else text += `[${JSON.stringify(part)}]`;
  }
  return text;
}

/**
 * Where a path points: `namespace "orders": backoff.initialMs`, `cluster "A": brokers`, or the field itself.
 * `namespaceNames[i]` names the i-th namespace of the file when it has a usable name.
 */
export function locate(path: Path, namespaceNames: readonly unknown[]): string {
  const [head, index, ...rest] = path;
  if (head === 'namespaces' && typeof index === 'number') {
    const named = namespaceNames[index];
    const where = typeof named === 'string' && named !== '' ? `namespace "${named}"` : `namespaces[${index}]`;
    return rest.length ? `${where}: ${fieldPath(rest)}` : where;
  }
  if (head === 'clusters' && typeof index === 'string') {
    return rest.length ? `cluster "${index}": ${fieldPath(rest)}` : `cluster "${index}"`;
  }
  return fieldPath(path);
}

/** `file: namespace "orders": backoff.multiplier must be ≥ 1 (got 0.5)`; `file: namespace "orders": unknown field "x"`. */
export function formatIssue(file: string, path: Path, problem: string, namespaceNames: readonly unknown[]): string {
  const where = locate(path, namespaceNames);
  const entityOnly = path.length === 0 || (path.length === 2 && (path[0] === 'namespaces' || path[0] === 'clusters'));
  return path.length === 0 ? `${file}: ${problem}` : `${file}: ${where}${entityOnly ? ':' : ''} ${problem}`;
}

/** One line per issue, phrased for people editing YAML rather than for TypeScript types. */
export function describeZodIssue(issue: z.core.$ZodIssue): { path: Path; problem: string }[] {
  const input = (issue as { input?: unknown }).input;
  const got = ` (got ${describeValue(input)})`;
  const path = issue.path.map((p) => (typeof p === 'symbol' ? String(p) : p));
  switch (issue.code) {
    case 'unrecognized_keys':
      return issue.keys.map((key) => ({ path: [...path, key], problem: UNKNOWN_FIELD }));
    case 'invalid_type':
      return [input === undefined ? { path, problem: 'is required' } : { path, problem: `must be ${article(issue.expected)}${got}` }];
    case 'invalid_value':
      return [{ path, problem: `must be one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}${got}` }];
    case 'invalid_union': {
      const options = (issue as { options?: unknown[]; discriminator?: string }).options;
      const discriminator = (issue as { discriminator?: string }).discriminator;
      if (options && discriminator) {
        const value = input && typeof input === 'object' ? (input as Record<string, unknown>)[discriminator] : input;
        const where = path[path.length - 1] === discriminator ? path : [...path, discriminator];
        return [{ path: where, problem: `must be one of ${options.map((o) => JSON.stringify(o)).join(', ')} (got ${describeValue(value)})` }];
      }
      return [{ path, problem: `${issue.message}${got}` }];
    }
    case 'too_small':
    case 'too_big':
    case 'invalid_format':
    case 'custom': {
      const origin = (issue as { origin?: string }).origin;
      return [{ path, problem: `${issue.message}${origin === 'array' || origin === 'record' || input === undefined ? '' : got}` }];
    }
    default:
      return [{ path, problem: `${issue.message}${got}` }];
  }
}

function article(expected: string): string {
  if (expected === 'int') return 'a whole number';
  return /^[aeiou]/.test(expected) ? `an ${expected}` : `a ${expected}`;
}
