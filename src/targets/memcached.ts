import type { MemcachedTargetConfig } from '../namespaces/types';
import { createLogger } from '../observability/logger';
import { mapWithConcurrency } from './batch';
import { describeError } from './errors';
import { connectMemcached, describeStatus, Status, statusIsRetriable, type MemcachedConnection } from './memcached-client';
import { decodeCacheEntry, encodeCacheEntry, invalidKeyReason, memcachedExpiry, oversizeReason } from './memcached-format';
import { Delivery, DeliveryResult, failed, MutationDelivery, OK, Target, TargetMutation } from './target';

export interface MemcachedTargetOptions {
  /** Keys of a chunk applied at once (each its own GET + ADD/CAS round trips). */
  concurrency?: number;
  /** For expiries over 30 days, which memcached wants as a Unix time. */
  now?: () => number;
}

/** A key that keeps changing under us this many times in a row is answered retriable. */
const MAX_CAS_ATTEMPTS = 16;

/**
 * Writes to memcached (EVCache is memcached underneath) with memjs.
 *
 * `deliver` SETs each payload, as is, at `<prefix><record key>` (the request id when the record has
 * no key), with the target's TTL. `applyMutations` stores PUTs and DELETEs as sequence-stamped entries
 * (memcached-format.ts) through a compare-and-set loop per key: GET the item and its CAS value; if it
 * holds a sequence ≥ the mutation's, stop (an older or replayed mutation changes nothing); else ADD
 * (key absent) or SET with that CAS, and go round again when another writer got there first. A DELETE
 * writes a tombstone (the sequence, no value) that expires after `tombstoneTtl`: until then a late,
 * older PUT cannot bring the key back; after it, the key is free for any sequence again.
 *
 * A value over `maxItemSize` is refused (permanent, so the DLQ gets it with the reason) before it is
 * sent: memcached answers a too-large SET, compare-and-set included, by unlinking the key's current
 * item (seen on 1.6.18), which would drop a newer value and its guard. A server whose -I is below
 * `maxItemSize` still refuses it (permanent too), at that cost.
 *
 * Several servers: memjs picks one per key by `hashCode(key) % servers.length` (modulo, not a
 * consistent-hash ring), so every writer and reader must list the same servers in the same order, and
 * adding a server moves most keys (a cache miss for them; the guard of a moved key starts afresh).
 */
export function createMemcachedTarget(name: string, config: MemcachedTargetConfig, options: MemcachedTargetOptions = {}): Target {
  const log = createLogger({ component: 'target', target: name, type: 'memcached' });
  const now = options.now ?? Date.now;
  const concurrency = options.concurrency ?? 32;
  let connection: MemcachedConnection | undefined;
  // memjs opens sockets on first use; building the client is cheap but done lazily anyway, like the others.
  const conn = (): MemcachedConnection => (connection ??= connectMemcached(config, log));
  const keyOf = (key: string): string => `${config.keyPrefix}${key}`;

  const classifyError = (error: unknown, key: string): DeliveryResult => {
    const reason = `${describeError(error)} (server ${conn().serverOf(key)})`;
    // memjs reports a refused SASL login as this text; the same password will be refused again.
    return failed(!/authentication failed/i.test(reason), reason);
  };
  const classifyStatus = (status: number, key: string, bytes: number): DeliveryResult =>
    failed(statusIsRetriable(status), `memcached ${describeStatus(status)} for key ${JSON.stringify(key)} (${bytes} bytes, server ${conn().serverOf(key)})`);

  /** One mutation, sequence-guarded; see the comment of the target. */
  const applyOne = async (m: TargetMutation): Promise<DeliveryResult> => {
    const key = keyOf(m.key);
    const invalid = invalidKeyReason(key);
    if (invalid) return failed(false, invalid);
    const entry = encodeCacheEntry(m.sequence, m.op === 'PUT' ? (m.value ?? Buffer.alloc(0)) : null);
    const oversize = oversizeReason(key, entry.length, config.maxItemSize);
    if (oversize) return failed(false, oversize);
    const expiry = memcachedExpiry(m.op === 'PUT' ? config.ttl : config.tombstoneTtl, now());
    try {
      for (let attempt = 1; attempt <= MAX_CAS_ATTEMPTS; attempt += 1) {
        const current = await conn().get(key);
        let status: number;
        if (current.status === Status.KEY_NOT_FOUND) {
          status = await conn().store('add', key, entry, expiry);
        } else if (current.status === Status.OK && current.value && current.cas) {
          const stored = decodeCacheEntry(current.value);
          if (stored && stored.sequence >= m.sequence) return OK;
          status = await conn().store('set', key, entry, expiry, current.cas);
        } else {
          return classifyStatus(current.status, key, 0);
        }
        if (status === Status.OK) return OK;
        // Changed (or added, or expired) since our GET: read again.
        if (status !== Status.KEY_EXISTS && status !== Status.KEY_NOT_FOUND && status !== Status.NOT_STORED) return classifyStatus(status, key, entry.length);
      }
      return failed(true, `key ${JSON.stringify(key)} changed under ${MAX_CAS_ATTEMPTS} compare-and-set attempts in a row`);
    } catch (error) {
      return classifyError(error, key);
    }
  };

  return {
    name,
    async deliver(batch: Delivery[]): Promise<DeliveryResult[]> {
      const expiry = memcachedExpiry(config.ttl, now());
      // All sent at once: memjs pipelines them on one socket per server, and memcached answers a
      // socket in order, so two deliveries of one key land in batch order.
      return Promise.all(
        batch.map(async (d): Promise<DeliveryResult> => {
          const key = keyOf(d.key !== null && d.key.length > 0 ? d.key.toString('utf8') : d.id);
          const invalid = invalidKeyReason(key) ?? oversizeReason(key, d.payload.length, config.maxItemSize);
          if (invalid) return failed(false, invalid);
          try {
            const status = await conn().store('set', key, d.payload, expiry);
            return status === Status.OK ? OK : classifyStatus(status, key, d.payload.length);
          } catch (error) {
            return classifyError(error, key);
          }
        }),
      );
    },
    async applyMutations(chunk: MutationDelivery): Promise<DeliveryResult> {
      // Under the guard only a key's highest sequence can end up stored, so the rest of a chunk need
      // not be sent (equal sequences: the first wins, as it would applied in order).
      const winners = new Map<string, TargetMutation>();
      for (const m of chunk.mutations) {
        const seen = winners.get(m.key);
        if (!seen || m.sequence > seen.sequence) winners.set(m.key, m);
      }
      const results = await mapWithConcurrency([...winners.values()], concurrency, applyOne);
      const failures = results.filter((r): r is Extract<DeliveryResult, { ok: false }> => !r.ok);
      if (failures.length === 0) return OK;
      // Retried as a whole (applying again is harmless) while any failure may pass later.
      const retriable = failures.some((f) => f.retriable);
      const first = failures.find((f) => f.retriable === retriable) ?? failures[0];
      const more = failures.length > 1 ? ` (and ${failures.length - 1} more of ${winners.size} keys)` : '';
      return failed(retriable, `${first.reason}${more}`);
    },
    async close(): Promise<void> {
      connection?.close();
      connection = undefined;
    },
  };
}
