import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import fs from 'node:fs';
import YAML from 'yaml';
import { z } from 'zod';
import { ConfigError, parseDuration } from '../namespaces';

/**
 * API keys of the HTTP API. A deployment lists them in a keys file of its own (`wal api --keys-file`,
 * $WAL_API_KEYS_FILE) or inline ($WAL_API_KEYS), as hashes: the server never holds a key itself.
 *
 * Why SHA-256 and not bcrypt/argon2: a key is 32 random bytes (256 bits) minted by `wal api key create`,
 * so a leaked hash cannot be brute-forced whatever the hash's speed; slow hashes exist to protect
 * low-entropy passwords. A slow hash would instead cost tens of milliseconds of CPU on every request
 * of an API that takes thousands of writes a second (bcrypt also ignores input past 72 bytes).
 */

export const API_ROLES = ['write', 'admin'] as const;
export type ApiRole = (typeof API_ROLES)[number];

export interface RateLimit {
  /** Requests allowed per window. */
  readonly max: number;
  readonly timeWindowMs: number;
}

export interface ApiKey {
  readonly id: string;
  /** SHA-256 of the key (32 bytes). */
  readonly hash: Buffer;
  /** Namespaces this key may write; `*` is every namespace. */
  readonly namespaces: readonly string[];
  readonly roles: readonly ApiRole[];
  readonly rateLimit?: RateLimit;
}

/** Keys as configured, plus the limit of keys (and keyless clients) that give none. */
export interface ApiKeys {
  readonly keys: readonly ApiKey[];
  readonly defaultRateLimit?: RateLimit;
}

/** The keys file or variable cannot be used; names where and what. A ConfigError: never retriable. */
export class ApiKeysError extends ConfigError {
  constructor(message: string) {
    super([message]);
    this.name = 'ApiKeysError';
  }
}

const KEY_PREFIX = 'wal_';
const HASH = /^sha256:([0-9a-f]{64})$/;

const rateLimitSchema = z
  .object({
    max: z.number().int().positive(),
    timeWindow: z.union([z.number().positive(), z.string()]),
  })
  .strict();

const keySchema = z
  .object({
    id: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'letters, digits, . _ - (at most 64)'),
    hash: z.string().regex(HASH, 'expected "sha256:" and 64 lowercase hex digits (print one with `wal api key create`)'),
    namespaces: z.array(z.string().min(1)).min(1),
    roles: z.array(z.enum(API_ROLES)).min(1),
    rateLimit: rateLimitSchema.optional(),
  })
  .strict();

const fileSchema = z
  .object({
    rateLimit: rateLimitSchema.optional(),
    keys: z.array(keySchema),
  })
  .strict();

function toRateLimit(value: z.infer<typeof rateLimitSchema> | undefined, where: string): RateLimit | undefined {
  if (!value) return undefined;
  const timeWindowMs = parseDuration(value.timeWindow);
  if (timeWindowMs === undefined || timeWindowMs <= 0) throw new ApiKeysError(`${where}.rateLimit.timeWindow "${value.timeWindow}": expected a duration like 1m or 500ms`);
  return { max: value.max, timeWindowMs };
}

/** SHA-256 of a presented key. */
export function hashApiKey(key: string): Buffer {
  return createHash('sha256').update(key, 'utf8').digest();
}

/** A new random key (`wal_` + 43 base64url characters = 256 bits) and its hash as written in the keys file. */
export function mintApiKey(): { key: string; hash: string } {
  const key = KEY_PREFIX + randomBytes(32).toString('base64url');
  return { key, hash: `sha256:${hashApiKey(key).toString('hex')}` };
}

/**
 * Parses a keys document (YAML or JSON): `{ rateLimit?, keys: [{ id, hash, namespaces, roles, rateLimit? }] }`.
 * `source` names the file or variable in errors.
 */
export function parseApiKeys(text: string, source: string): ApiKeys {
  let raw: unknown;
  try {
    raw = YAML.parse(text);
  } catch (error) {
    throw new ApiKeysError(`${source}: not YAML or JSON: ${(error as Error).message}`);
  }
  const parsed = fileSchema.safeParse(raw);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((issue) => `${issue.path.join('.') || '(top)'}: ${issue.message}`);
    throw new ApiKeysError(`${source}: ${issues.join('; ')}`);
  }
  const seen = new Set<string>();
  const keys = parsed.data.keys.map((entry, i): ApiKey => {
    if (seen.has(entry.id)) throw new ApiKeysError(`${source}: keys.${i}.id: '${entry.id}' is listed twice`);
    seen.add(entry.id);
    const rateLimit = toRateLimit(entry.rateLimit, `${source}: keys.${i}`);
    return {
      id: entry.id,
      hash: Buffer.from(HASH.exec(entry.hash)?.[1] ?? '', 'hex'),
      namespaces: entry.namespaces,
      roles: [...new Set(entry.roles)],
      ...(rateLimit ? { rateLimit } : {}),
    };
  });
  const defaultRateLimit = toRateLimit(parsed.data.rateLimit, source);
  return { keys, ...(defaultRateLimit ? { defaultRateLimit } : {}) };
}

/**
 * The keys of a deployment: the file of `--keys-file` (else $WAL_API_KEYS_FILE), and/or the document
 * in $WAL_API_KEYS. Undefined when none is given (keyless: loopback only, see listenRefusal).
 */
export function loadApiKeys(file: string | undefined, env: NodeJS.ProcessEnv = process.env): ApiKeys | undefined {
  const parts: ApiKeys[] = [];
  const path = file ?? (env.WAL_API_KEYS_FILE || undefined);
  if (path !== undefined) {
    let text: string;
    try {
      text = fs.readFileSync(path, 'utf8');
    } catch (error) {
      throw new ApiKeysError(`keys file ${path}: ${(error as Error).message}`);
    }
    parts.push(parseApiKeys(text, path));
  }
  if (env.WAL_API_KEYS) parts.push(parseApiKeys(env.WAL_API_KEYS, '$WAL_API_KEYS'));
  if (parts.length === 0) return undefined;
  const keys = parts.flatMap((p) => p.keys);
  const ids = keys.map((k) => k.id);
  const twice = ids.find((id, i) => ids.indexOf(id) !== i);
  if (twice !== undefined) throw new ApiKeysError(`key id '${twice}' is in both ${path} and $WAL_API_KEYS`);
  const defaultRateLimit = parts.find((p) => p.defaultRateLimit)?.defaultRateLimit;
  return { keys, ...(defaultRateLimit ? { defaultRateLimit } : {}) };
}

/**
 * The configured key whose hash matches `presented`, or undefined. Every stored hash is compared, in
 * constant time, whether or not an earlier one matched: the timing says nothing about which key (or
 * how much of one) was right.
 */
export function findApiKey(keys: readonly ApiKey[], presented: string): ApiKey | undefined {
  const hash = hashApiKey(presented);
  let found: ApiKey | undefined;
  for (const key of keys) {
    if (timingSafeEqual(hash, key.hash) && !found) found = key;
  }
  return found;
}

/** True when `key` may write `namespace`. */
export function mayWrite(key: ApiKey, namespace: string): boolean {
  return key.namespaces.includes('*') || key.namespaces.includes(namespace);
}

/** The keys-file entry of a new key, one YAML line for the `keys:` list. */
export function keysFileEntry(entry: { id: string; hash: string; namespaces: readonly string[]; roles: readonly ApiRole[]; rateLimit?: { max: number; timeWindow: string } }): string {
  const { rateLimit, ...rest } = entry;
  const flow = YAML.stringify({ ...rest, ...(rateLimit ? { rateLimit } : {}) }, { collectionStyle: 'flow', lineWidth: 0 }).trim();
  return `  - ${flow}`;
}
