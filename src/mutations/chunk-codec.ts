import type { Schema } from 'avsc';
import type { AvroCodec } from '../wire';
import { loadSchema, valueSubject, writeToLogRequestSchema, type Mutation, type WriteToLogRequest } from '../wire';

/** TypeScript shape of schemas/Chunk.avsc: what travels on `wal.<ns>.target.<t>`. */
export interface ChunkRecord {
  namespace: string;
  txnId: string;
  target: string;
  chunkIndex: number;
  chunkCount: number;
  writeTime: number;
  mutations: Mutation[];
}

let chunkSchema: Schema | undefined;

/**
 * Chunks in Avro (schemas/Chunk.avsc, Confluent wire format) under the subject of their target
 * topic, and dead-lettered chunks as intake requests (WriteToLogRequest). Schema ids are registered
 * once per subject; a failed registration is not cached, so the next call asks again.
 */
export class ChunkCodec {
  private readonly ids = new Map<string, Promise<number>>();

  constructor(private readonly codec: AvroCodec) {}

  /** `chunk` holds mutations of a decoded request: encoded without a second validation walk. */
  async encode(topic: string, chunk: ChunkRecord): Promise<Buffer> {
    chunkSchema ??= loadSchema('Chunk');
    return this.codec.encode(await this.idFor(valueSubject(topic), chunkSchema), chunk, { validate: false });
  }

  decode(buffer: Buffer | null): Promise<ChunkRecord> {
    chunkSchema ??= loadSchema('Chunk');
    return this.codec.decode<ChunkRecord>(buffer, chunkSchema);
  }

  /** A request for the intake topic (how a dead-lettered chunk gets back in with `wal dlq replay`). */
  async encodeRequest(intakeTopic: string, request: WriteToLogRequest): Promise<Buffer> {
    return this.codec.encode(await this.idFor(valueSubject(intakeTopic), writeToLogRequestSchema()), request);
  }

  private idFor(subject: string, schema: Schema): Promise<number> {
    let pending = this.ids.get(subject);
    if (!pending) {
      pending = this.codec.registerSchema(subject, schema);
      pending.catch(() => this.ids.delete(subject));
      this.ids.set(subject, pending);
    }
    return pending;
  }
}

const shared = new WeakMap<AvroCodec, ChunkCodec>();

/** The ChunkCodec of an Avro codec, one per codec, so that the processors of all tasks register each subject once. */
export function chunkCodecOf(codec: AvroCodec): ChunkCodec {
  let chunks = shared.get(codec);
  if (!chunks) shared.set(codec, (chunks = new ChunkCodec(codec)));
  return chunks;
}
