import { z } from 'zod';
import type { Path } from './issues';

/**
 * "Did you mean …?" for unknown fields: walks the schema along the path (choosing union members by
 * the value's `type`) to find the fields that object accepts, and proposes the closest one.
 */

export function knownFields(schema: z.ZodType, path: Path, value: unknown): string[] {
  let current: z.ZodType | undefined = schema;
  let data = value;
  for (let i = 0; ; i++) {
    current = unwrap(current, data);
    if (!current || i === path.length) break;
    const part = path[i];
    data = data !== null && typeof data === 'object' ? (data as Record<string | number, unknown>)[part] : undefined;
    if (current instanceof z.ZodObject) current = (current.shape as Record<string, z.ZodType>)[String(part)];
    else if (current instanceof z.ZodRecord) current = current.valueType as z.ZodType;
    else if (current instanceof z.ZodArray) current = current.element as z.ZodType;
    else return [];
  }
  return current instanceof z.ZodObject ? Object.keys(current.shape) : [];
}

function unwrap(schema: z.ZodType | undefined, data: unknown): z.ZodType | undefined {
  let current = schema;
  for (;;) {
    if (current instanceof z.ZodDefault || current instanceof z.ZodOptional || current instanceof z.ZodNullable) {
      current = current.unwrap() as z.ZodType;
    } else if (current instanceof z.ZodPipe) {
      current = current.in as z.ZodType;
    } else if (current instanceof z.ZodDiscriminatedUnion) {
      const type = data !== null && typeof data === 'object' ? (data as { type?: unknown }).type : undefined;
      current = (current.options as z.ZodType[]).find((option) => {
        const literal = option instanceof z.ZodObject ? (option.shape as Record<string, z.ZodType>).type : undefined;
        return literal instanceof z.ZodLiteral && literal.values.has(type as never);
      });
    } else {
      return current;
    }
  }
}

/** The known field closest to `unknown` when it is plausibly a typo of it ("maxRetry", "inital", "ttl"). */
export function closestField(unknown: string, known: string[]): string | undefined {
  const typed = unknown.toLowerCase();
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of known) {
    const full = candidate.toLowerCase();
    // Also compare without the unit suffix, so "initial" finds "initialMs" and "ttl" finds "ttlSeconds".
    const bare = full.replace(/(ms|bytes|seconds)$/, '');
    const distance = typed.length >= 3 && full.startsWith(typed) ? 0 : Math.min(editDistance(typed, full), editDistance(typed, bare));
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best !== undefined && bestDistance <= Math.max(2, Math.floor(typed.length * 0.4)) ? best : undefined;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(previous[j] + 1, row[j - 1] + 1, previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = row;
  }
  return previous[b.length];
}
