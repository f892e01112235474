import type { IHeaders } from 'kafkajs';
import { ORIGIN_HEADERS } from '../wire/headers';

/**
 * Loop prevention (pure). Every mirrored record carries the Kafka cluster id where it was first
 * written; a mirror drops records whose origin is its own target, so A⇄B with identity names never
 * echoes a record back. An existing origin is kept, so A→B→C still names A.
 */

export interface ClusterIdentity {
  readonly alias: string;
  readonly clusterId: string;
}

function firstValue(value: IHeaders[string]): string | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  return v === undefined ? undefined : v.toString();
}

export function originOf(headers: IHeaders | undefined): string | undefined {
  return headers ? firstValue(headers[ORIGIN_HEADERS.clusterId]) : undefined;
}

/** False when the record came from the target in the first place (mirroring it back would loop). */
export function shouldMirror(headers: IHeaders | undefined, targetClusterId: string): boolean {
  return originOf(headers) !== targetClusterId;
}

/** The headers to write on the target: the record's own, plus the origin when it has none yet. */
export function withOrigin(headers: IHeaders | undefined, source: ClusterIdentity): IHeaders {
  if (originOf(headers) !== undefined) return headers!;
  return { ...headers, [ORIGIN_HEADERS.clusterId]: source.clusterId, [ORIGIN_HEADERS.alias]: source.alias };
}
