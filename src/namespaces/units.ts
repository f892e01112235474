/**
 * Human-friendly quantities in configuration files: durations ("250ms", "30s", "5m", "1h30m", "3d") and sizes
 * ("512KiB", "1MiB", "1MB"). Plain numbers mean milliseconds / bytes. Returns undefined when unreadable so the
 * schema can report the field.
 */

const DURATION_UNITS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};

const SIZE_UNITS: Record<string, number> = {
  b: 1,
  kb: 1000,
  mb: 1000 ** 2,
  gb: 1000 ** 3,
  kib: 1024,
  mib: 1024 ** 2,
  gib: 1024 ** 3,
};

export function parseDuration(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  if (typeof value !== 'string') return undefined;
  const text = value.trim().toLowerCase();
  if (/^\d+(\.\d+)?$/.test(text)) return Number(text);
  // One or more "<number><unit>" parts: "1h30m", "1.5s".
  const part = /(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)/gy;
  let total = 0;
  let consumed = 0;
  for (let match = part.exec(text); match; match = part.exec(text)) {
    total += Number(match[1]) * DURATION_UNITS[match[2]];
    consumed = part.lastIndex;
    while (text[consumed] === ' ') consumed++;
    part.lastIndex = consumed;
  }
  if (consumed === 0 || consumed !== text.length) return undefined;
  return Math.round(total);
}

export function parseSize(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  if (typeof value !== 'string') return undefined;
  const match = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(value.trim());
  if (!match) return undefined;
  const unit = match[2].toLowerCase() || 'b';
  const factor = SIZE_UNITS[unit];
  return factor === undefined ? undefined : Math.round(Number(match[1]) * factor);
}

/** A plain number, also accepted as a numeric string (env interpolation always yields strings). */
export function parseNumber(value: unknown): number | undefined {
  if (typeof value === 'number') return value;
  if (typeof value === 'string' && /^\s*-?\d+(\.\d+)?\s*$/.test(value)) return Number(value);
  return undefined;
}
