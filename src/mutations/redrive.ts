import type { NamespaceConfig } from '../namespaces/types';
import type { WriteToLogRequest } from '../wire';
import { REDRIVE_HEADERS } from '../wire/headers';
import type { ChunkRecord } from './chunk-codec';

/**
 * A chunk that could not be applied is dead-lettered as an intake request holding only that
 * chunk's mutations, under the transaction's id, with the re-drive headers. `wal dlq replay` sends it
 * back to the intake like any dead letter; the fan-out then writes it again as the same chunk (same
 * index and count), so the tracker turns the transaction's failed chunk into an applied one.
 */
export interface RedriveRef {
  readonly target: string;
  readonly chunkIndex: number;
  readonly chunkCount: number;
}

export class InvalidRedriveError extends Error {
  readonly retriable = false;
  constructor(message: string) {
    super(message);
    this.name = 'InvalidRedriveError';
  }
}

/** The re-drive a record asks for, undefined when it is a plain request; throws when its headers are inconsistent. */
export function redriveOf(headers: Record<string, string>, request: WriteToLogRequest): RedriveRef | undefined {
  const target = headers[REDRIVE_HEADERS.target];
  if (target === undefined) return undefined;
  const chunkIndex = Number(headers[REDRIVE_HEADERS.chunkIndex]);
  const chunkCount = Number(headers[REDRIVE_HEADERS.chunkCount]);
  if (!Number.isSafeInteger(chunkCount) || chunkCount < 1 || !Number.isSafeInteger(chunkIndex) || chunkIndex < 0 || chunkIndex >= chunkCount) {
    throw new InvalidRedriveError(
      `re-drive headers name chunk ${JSON.stringify(headers[REDRIVE_HEADERS.chunkIndex])} of ${JSON.stringify(headers[REDRIVE_HEADERS.chunkCount])}: need 0 ≤ index < count`,
    );
  }
  const stray = request.mutations.find((m) => m.target !== target);
  if (stray) throw new InvalidRedriveError(`re-drive of target "${target}" holds a mutation for target "${stray.target}"`);
  return { target, chunkIndex, chunkCount };
}

/** The intake request a dead-lettered chunk becomes: due at once, no payload, the chunk's mutations. */
export function redriveRequest(namespace: NamespaceConfig, chunk: ChunkRecord, now: number): WriteToLogRequest {
  return {
    namespace: namespace.name,
    id: chunk.txnId,
    lifecycle: { writeTime: now, delayMs: 0, deliverAt: null },
    payload: Buffer.alloc(0),
    contentType: 'application/octet-stream',
    target: null,
    headers: {},
    mutations: chunk.mutations,
  };
}

export function redriveHeaders(chunk: ChunkRecord): Record<string, string> {
  return {
    [REDRIVE_HEADERS.target]: chunk.target,
    [REDRIVE_HEADERS.chunkIndex]: String(chunk.chunkIndex),
    [REDRIVE_HEADERS.chunkCount]: String(chunk.chunkCount),
  };
}
