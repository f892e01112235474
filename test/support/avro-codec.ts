import { Type, type Schema } from 'avsc';
import type { NamespaceConfig } from '../../src/namespaces/types';
import {
  formatWireFormat,
  MalformedRecordError,
  parseWireFormat,
  readSchemaFile,
  RegistryUnavailableError,
  UnknownSchemaIdError,
  valueSubject,
  writeToLogRequestSchema,
  type AvroCodec,
  type WriteToLogRequest,
} from '../../src/wire';

/**
 * The real AvroCodec contract (Confluent wire format, schema ids, reader-schema projection) over a
 * schema registry held in memory: processors decode exactly what production writes, with no network.
 * `registryDown` makes every registry call fail as the real codec does when the registry is away.
 */
export class LocalAvroCodec implements AvroCodec {
  readonly registryUrl = 'memory://registry';
  registryDown = false;
  private readonly ids = new Map<string, number>();
  private readonly types = new Map<number, Type>();

  async registerSchema(_subject: string, schema: string | Schema): Promise<number> {
    this.checkUp();
    const type = Type.forSchema(typeof schema === 'string' ? readSchemaFile(schema) : schema);
    const canonical = JSON.stringify(type.schema());
    let id = this.ids.get(canonical);
    if (id === undefined) {
      id = this.ids.size + 1;
      this.ids.set(canonical, id);
      this.types.set(id, type);
    }
    return id;
  }

  async schemaType(schemaId: number): Promise<Type> {
    this.checkUp();
    const type = this.types.get(schemaId);
    if (!type) throw new UnknownSchemaIdError(schemaId, this.registryUrl);
    return type;
  }

  async encode(schemaId: number, value: unknown): Promise<Buffer> {
    return formatWireFormat(schemaId, (await this.schemaType(schemaId)).toBuffer(value));
  }

  async decode<T = unknown>(buffer: Buffer | null | undefined, readerSchema?: Schema | Type): Promise<T> {
    return (await this.decodeWithId<T>(buffer, readerSchema)).value;
  }

  async decodeWithId<T = unknown>(buffer: Buffer | null | undefined, readerSchema?: Schema | Type): Promise<{ schemaId: number; value: T }> {
    const { schemaId, body } = parseWireFormat(buffer);
    const writer = await this.schemaType(schemaId);
    const reader = readerSchema === undefined ? writer : Type.isType(readerSchema) ? (readerSchema as Type) : Type.forSchema(readerSchema);
    try {
      const value = reader === writer ? writer.fromBuffer(body) : reader.fromBuffer(body, reader.createResolver(writer));
      return { schemaId, value: value as T };
    } catch (error) {
      throw new MalformedRecordError(`Avro body of a schema id ${schemaId} record does not parse: ${(error as Error).message}`, { cause: error });
    }
  }

  private checkUp(): void {
    if (this.registryDown) throw new RegistryUnavailableError(`schema registry ${this.registryUrl} is unavailable`);
  }
}

/** A valid request for `namespace`: due at `writeTime` (delay 0) unless `overrides` say otherwise. */
export function writeRequest(namespace: NamespaceConfig, id: string, overrides: Partial<WriteToLogRequest> = {}): WriteToLogRequest {
  return {
    namespace: namespace.name,
    id,
    lifecycle: { writeTime: 1_000, delayMs: 0, deliverAt: null },
    payload: Buffer.from(`payload of ${id}`),
    contentType: 'text/plain; charset=utf-8',
    target: null,
    headers: {},
    mutations: [],
    ...overrides,
  };
}

/** An intake record's value as the WriteToLog writer produces it. */
export async function encodeRequest(codec: AvroCodec, namespace: NamespaceConfig, request: WriteToLogRequest): Promise<Buffer> {
  const id = await codec.registerSchema(valueSubject(namespace.topics.intake), writeToLogRequestSchema());
  return codec.encode(id, request);
}
