import Redis from 'ioredis';
import type { RedisTargetConfig } from '../namespaces/types';
import { createLogger } from '../observability/logger';
import { describeError, TargetConfigError } from './errors';
import { Delivery, DeliveryResult, failed, MutationDelivery, OK, Target } from './target';

/**
 * A key's value lives at `<prefix><key>` as a plain string (readers just GET it); its sequence
 * beside it at `<prefix><key>` + this suffix. A DELETE removes the value but keeps the sequence
 * key, so a late, older PUT cannot resurrect the key. With `ttlSeconds` both keys expire together.
 */
export const SEQUENCE_SUFFIX = ':wal-seq';

export interface RedisTargetOptions {
  connectTimeoutMs?: number;
  commandTimeoutMs?: number;
}

// KEYS: value key, sequence key, per mutation. ARGV: ttl seconds (0 = none), then op, sequence,
// value per mutation. Sequences are compared as numbers but stored as given (no float formatting).
// One script call applies a whole chunk atomically.
const APPLY_MUTATIONS = `
local ttl = tonumber(ARGV[1])
local applied = 0
for i = 1, #KEYS / 2 do
  local vkey, skey = KEYS[2 * i - 1], KEYS[2 * i]
  local op, seq, value = ARGV[3 * i - 1], ARGV[3 * i], ARGV[3 * i + 1]
  local current = redis.call('GET', skey)
  if (not current) or tonumber(current) < tonumber(seq) then
    if op == 'PUT' then
      if ttl > 0 then redis.call('SET', vkey, value, 'EX', ttl) else redis.call('SET', vkey, value) end
    else
      redis.call('DEL', vkey)
    end
    if ttl > 0 then redis.call('SET', skey, seq, 'EX', ttl) else redis.call('SET', skey, seq) end
    applied = applied + 1
  end
end
return applied
`;

/**
 * Writes to Redis with ioredis. `deliver` SETs each payload at `<prefix><delivery id>` (a redelivery
 * rewrites the same bytes); `applyMutations` runs the script above. Commands fail fast while Redis is
 * unreachable (one reconnect attempt per command), which answers "retriable".
 */
export function createRedisTarget(name: string, config: RedisTargetConfig, options: RedisTargetOptions = {}): Target {
  if (!/^rediss?:\/\//.test(config.url)) {
    throw new TargetConfigError(`target "${name}": redis url must start with redis:// or rediss://, got ${JSON.stringify(config.url)}`);
  }
  const ttl = config.ttlSeconds ?? 0;
  if (!Number.isInteger(ttl) || ttl < 0) throw new TargetConfigError(`target "${name}": redis ttlSeconds must be a whole number ≥ 0`);
  const log = createLogger({ component: 'target', target: name, type: 'redis' });
  const redis = new Redis(config.url, {
    lazyConnect: true,
    maxRetriesPerRequest: 1,
    connectTimeout: options.connectTimeoutMs ?? 3000,
    commandTimeout: options.commandTimeoutMs ?? 5000,
    retryStrategy: (times) => Math.min(times * 200, 2000),
  });
  let lastError = '';
  redis.on('error', (error: unknown) => {
    const text = describeError(error);
    if (text !== lastError) log.warn({ err: text }, 'redis connection error');
    lastError = text;
  });
  redis.on('ready', () => (lastError = ''));
  const key = (k: string): string => `${config.keyPrefix}${k}`;
  // ioredis reports "max retries reached" on the command; the connection error says why.
  const classify = (error: unknown): DeliveryResult => {
    const result = classifyRedisError(error);
    return !result.ok && result.retriable && lastError ? { ...result, reason: `${result.reason} (connection: ${lastError})` } : result;
  };

  return {
    name,
    async deliver(batch: Delivery[]): Promise<DeliveryResult[]> {
      if (batch.length === 0) return [];
      try {
        const pipeline = redis.pipeline();
        for (const d of batch) {
          if (ttl > 0) pipeline.set(key(d.id), d.payload, 'EX', ttl);
          else pipeline.set(key(d.id), d.payload);
        }
        const replies = (await pipeline.exec()) ?? [];
        return batch.map((_, i) => {
          const error = replies[i]?.[0];
          return error ? classify(error) : OK;
        });
      } catch (error) {
        const result = classify(error);
        return batch.map(() => result);
      }
    },
    async applyMutations(chunk: MutationDelivery): Promise<DeliveryResult> {
      if (chunk.mutations.length === 0) return OK;
      const keys: string[] = [];
      const args: Array<string | Buffer> = [String(ttl)];
      for (const m of chunk.mutations) {
        keys.push(key(m.key), key(m.key) + SEQUENCE_SUFFIX);
        args.push(m.op, String(m.sequence), m.value ?? Buffer.alloc(0));
      }
      try {
        await redis.eval(APPLY_MUTATIONS, keys.length, ...keys, ...args);
        return OK;
      } catch (error) {
        return classify(error);
      }
    },
    async close(): Promise<void> {
      if (redis.status === 'ready') await redis.quit().catch(() => redis.disconnect());
      else redis.disconnect();
    },
  };
}

/** Server replies that mean "not now" rather than "never". */
const TRANSIENT_REPLIES = /^(LOADING|BUSY|TRYAGAIN|CLUSTERDOWN|MASTERDOWN|READONLY|NOREPLICAS|OOM)\b/;

/**
 * A Redis reply error (WRONGTYPE, a script error) will fail the same way again, except the transient
 * ones above; everything that is not a reply (connection refused or closed, timeouts, ioredis giving
 * up on a command) is retriable.
 */
export function classifyRedisError(error: unknown): DeliveryResult {
  const reason = describeError(error);
  const name = (error as { name?: string }).name;
  const message = (error as { message?: string }).message ?? '';
  if (name === 'ReplyError') return failed(TRANSIENT_REPLIES.test(message), reason);
  return failed(true, reason);
}
