import type { Mutation } from '../wire/intake';

/**
 * The one interface every delivery target implements, in the spirit of a Kafka Streams sink: the
 * dispatcher hands it a batch and gets one result per record back, in order. A target never throws
 * for a record it could not deliver: it answers `{ ok: false, retriable, reason }`, so the retry
 * processor can decide between backoff and the DLQ without knowing which target it talks to.
 */

/** One record to deliver (a due WriteToLog request). `id` is the request id: targets dedupe on it. */
export interface Delivery {
  id: string;
  key: Buffer | null;
  payload: Buffer;
  headers: Record<string, string>;
  contentType: string;
  /** 1 on the first try, incremented by the retry processor. */
  attempt: number;
  /** When the request was written (epoch ms), the same on every attempt; targets that order by time use it. */
  writeTime?: number;
}

/** A mutation as the target it is for applies it: which target is implied. */
export type TargetMutation = Omit<Mutation, 'target'>;

/** One fan-out chunk of a multi-key transaction, applied atomically where the target can. */
export interface MutationDelivery {
  txnId: string;
  chunkIndex: number;
  mutations: TargetMutation[];
}

export type DeliveryResult = { ok: true } | { ok: false; retriable: boolean; reason: string };

export interface Target {
  readonly name: string;
  /** One result per record, same order as `batch`. Never rejects for a per-record failure. */
  deliver(batch: Delivery[]): Promise<DeliveryResult[]>;
  /** Absent when the target cannot apply keyed mutations. Idempotent and sequence-guarded. */
  applyMutations?(chunk: MutationDelivery): Promise<DeliveryResult>;
  close(): Promise<void>;
}

export const OK: DeliveryResult = Object.freeze({ ok: true as const });

export function failed(retriable: boolean, reason: string): DeliveryResult {
  return { ok: false, retriable, reason };
}
