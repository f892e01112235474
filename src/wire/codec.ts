import { Agent } from 'node:https';
import { COMPATIBILITY, SchemaRegistry, SchemaType } from '@kafkajs/confluent-schema-registry';
import { Resolver, Schema, Type } from 'avsc';
import {
  IncompatibleSchemaError,
  InvalidRecordError,
  MalformedRecordError,
  RegistryUnavailableError,
  SchemaRejectedError,
  SerdeError,
  UnknownSchemaIdError,
} from './errors';
import { readSchemaFile } from './schemas';
import { parseWireFormat, WireWriter } from './wire';

export interface AvroCodecOptions {
  /** Confluent-compatible registry base URL, e.g. http://host:port/apis/ccompat/v7. */
  readonly registryUrl: string;
  /** HTTP basic auth on every registry request. */
  readonly basicAuth?: { readonly username: string; readonly password: string };
  /** PEM CA certificate(s) trusted for an https:// registry instead of the system's. */
  readonly ca?: string;
  /** Per HTTP request to the registry (default 5000). */
  readonly requestTimeoutMs?: number;
  /** Retries of 5xx answers (default 2); refused connections fail at once. */
  readonly retries?: number;
  /** Compatibility a subject gets on its first registration (default BACKWARD). */
  readonly compatibility?: COMPATIBILITY;
}

/** The registry part of a cluster's config: URL, basic auth and CA, as createAvroCodec takes them. */
export function registryOf(cluster: {
  readonly schemaRegistryUrl: string;
  readonly schemaRegistry?: Pick<AvroCodecOptions, 'basicAuth' | 'ca'>;
}): Pick<AvroCodecOptions, 'registryUrl' | 'basicAuth' | 'ca'> {
  const { basicAuth, ca } = cluster.schemaRegistry ?? {};
  return { registryUrl: cluster.schemaRegistryUrl, ...(basicAuth ? { basicAuth } : {}), ...(ca !== undefined ? { ca } : {}) };
}

/** Avro records in Confluent wire format, schemas held by a registry and cached here by id. */
export interface AvroCodec {
  readonly registryUrl: string;
  /**
   * Registers a schema (an .avsc file path, or the parsed schema) under a subject (`<topic>-value`)
   * and returns its id; registering the same schema again returns the same id.
   */
  registerSchema(subject: string, schema: string | Schema): Promise<number>;
  /** The writer schema of an id, fetched once and cached. */
  schemaType(schemaId: number): Promise<Type>;

  /**
   * Validates `value` first (an InvalidRecordError names the bad paths), unless `validate: false`: for
   * a value built only from records this codec decoded (the fan-out's chunks), where the check is a
   * second full walk of thousands of mutations that cannot fail.
   */
  encode(schemaId: number, value: unknown, options?: { readonly validate?: boolean }): Promise<Buffer>;
  /** Decodes with the writer schema, or projects onto `readerSchema` (Avro schema resolution). */
  decode<T = unknown>(buffer: Buffer | null | undefined, readerSchema?: Schema | Type): Promise<T>;
  /** Same as decode, also returning the writer schema id. */
  decodeWithId<T = unknown>(buffer: Buffer | null | undefined, readerSchema?: Schema | Type): Promise<{ schemaId: number; value: T }>;
}

export type Middlewares = NonNullable<ConstructorParameters<typeof SchemaRegistry>[0]['middlewares']>;

interface RegistryHttpError extends Error {
  status?: number;
}

/**
 * How a registry REST client is made from the codec's options (URL, per-request timeout, retries of
 * 5xx, basic auth, CA): the SchemaRegistry here and the raw client of registry-schemas.ts share it.
 */
export function registryClientArgs(options: Pick<AvroCodecOptions, 'registryUrl' | 'basicAuth' | 'ca' | 'requestTimeoutMs' | 'retries'>): ConstructorParameters<typeof SchemaRegistry>[0] {
  const timeout = options.requestTimeoutMs ?? 5000;
  const withTimeout: Middlewares[number] = () => ({
    prepareRequest: (next) => next().then((request) => request.enhance({ timeout })),
  });
  return {
    host: options.registryUrl.replace(/\/+$/, ''),
    retry: { retries: options.retries ?? 2, maxRetryTimeInSecs: Math.max(1, timeout / 1000) },
    middlewares: [withTimeout],
    ...(options.basicAuth ? { auth: { username: options.basicAuth.username, password: options.basicAuth.password } } : {}),
    ...(options.ca !== undefined ? { agent: new Agent({ ca: options.ca, keepAlive: true }) } : {}),
  };
}

export function createAvroCodec(options: AvroCodecOptions): AvroCodec {
  const registryUrl = options.registryUrl.replace(/\/+$/, '');
  const compatibility = options.compatibility ?? COMPATIBILITY.BACKWARD;
  const registry = new SchemaRegistry(registryClientArgs(options));
  const types = new Map<number, Promise<Type>>();
  const readers = new WeakMap<object, Type>();
  const resolvers = new WeakMap<Type, Map<number, Resolver | undefined>>();
  const wire = new WireWriter();

  const schemaType = (schemaId: number): Promise<Type> => {
    let pending = types.get(schemaId);
    if (!pending) {
      pending = registry.getSchema(schemaId).then(
        (schema) => schema as unknown as Type,
        (error: unknown) => {
          types.delete(schemaId);
          if ((error as RegistryHttpError).status === 404) throw new UnknownSchemaIdError(schemaId, registryUrl);
          throw registryError(error, `fetching schema id ${schemaId}`, registryUrl);
        },
      );
      types.set(schemaId, pending);
    }
    return pending;
  };

  const readerType = (reader: Schema | Type): Type => {
    if (Type.isType(reader)) return reader as Type;
    let type = readers.get(reader as object);
    if (!type) {
      try {
        type = Type.forSchema(reader);
      } catch (error) {
        throw new SchemaRejectedError(`reader schema is not valid Avro: ${(error as Error).message}`, { cause: error });
      }
      readers.set(reader as object, type);
    }
    return type;
  };

  /** A resolver from the writer's schema to the reader's; undefined when both have the same canonical form (read directly: a resolver is slower). */
  const resolverFor = (reader: Type, writer: Type, schemaId: number): Resolver | undefined => {
    let byId = resolvers.get(reader);
    if (!byId) resolvers.set(reader, (byId = new Map()));
    if (!byId.has(schemaId)) {
      try {
        byId.set(schemaId, reader.equals(writer) ? undefined : reader.createResolver(writer));
      } catch (error) {
        throw new IncompatibleSchemaError(`reader schema ${reader.name ?? reader.typeName} cannot read schema id ${schemaId}: ${(error as Error).message}`, { cause: error });
      }
    }
    return byId.get(schemaId);
  };

  const decodeWithId = async <T>(buffer: Buffer | null | undefined, readerSchema?: Schema | Type): Promise<{ schemaId: number; value: T }> => {
    const { schemaId, body } = parseWireFormat(buffer);
    const writer = await schemaType(schemaId);
    const reader = readerSchema === undefined ? writer : readerType(readerSchema);
    const resolver = reader === writer ? undefined : resolverFor(reader, writer, schemaId);
    try {
      return { schemaId, value: reader.fromBuffer(body, resolver) as T };
    } catch (error) {
      throw new MalformedRecordError(`Avro body of a schema id ${schemaId} record does not parse: ${(error as Error).message}`, { cause: error });
    }
  };

  return {
    registryUrl,

    async registerSchema(subject, schema) {
      const parsed = typeof schema === 'string' ? readSchemaFile(schema) : schema;
      try {
        Type.forSchema(parsed);
      } catch (error) {
        throw new SchemaRejectedError(`schema for ${subject} is not valid Avro: ${(error as Error).message}`, { cause: error });
      }
      const register = () => registry.register({ type: SchemaType.AVRO, schema: JSON.stringify(parsed) }, { subject, compatibility });
      for (let attempt = 1; ; attempt++) {
        try {
          return (await register()).id;
        } catch (error) {
          if (attempt <= RACE_RETRIES && lostRegistrationRace(error)) {
            await new Promise((resolve) => setTimeout(resolve, 100 * attempt));
            continue;
          }
          throw registryError(error, `registering a schema under subject ${subject}`, registryUrl);
        }
      }
    },

    schemaType,

    async encode(schemaId, value, options) {
      const type = await schemaType(schemaId);
      const paths: string[] = [];
      if (options?.validate !== false && !type.isValid(value, { errorHook: (path) => paths.push(path.join('.') || '(root)') })) {
        throw new InvalidRecordError(`value does not match schema id ${schemaId}`, paths);
      }
      return wire.write(schemaId, (buf, pos) => type.encode(value, buf, pos));
    },

    async decode<T>(buffer: Buffer | null | undefined, readerSchema?: Schema | Type) {
      return (await decodeWithId<T>(buffer, readerSchema)).value;
    },

    decodeWithId,
  };
}

const RACE_RETRIES = 3;

/**
 * Two first registrations under one subject at once (the tasks of a fan-out, two writers): each registers,
 * then sets the subject's compatibility. Meanwhile the other sees the subject with compatibility NONE
 * (a compatibility mismatch) or has its own setting refused (HTTP 409). Once the first is done, a retry
 * registers plainly; a real mismatch or an incompatible schema (also 409) comes back the same.
 */
function lostRegistrationRace(error: unknown): boolean {
  const err = error as RegistryHttpError | undefined;
  return err?.status === 409 || err?.name === 'ConfluentSchemaRegistryCompatibilityError';
}

/**
 * Maps a registry client failure onto wal's errors. mappersmith reports a connection failure or a
 * timeout as a status-400 response without a JSON body ("Error, status 400: connect ECONNREFUSED"),
 * while a real 400 from a registry always carries a JSON message; that is how the two are told apart.
 */
export function registryError(error: unknown, doing: string, registryUrl: string): SerdeError {
  if (error instanceof SerdeError) return error;
  const err = error as RegistryHttpError;
  const message = err?.message ?? String(error);
  const status = err?.status;
  const name = err?.name ?? '';
  if (name === 'ConfluentSchemaRegistryCompatibilityError' || name === 'ConfluentSchemaRegistryInvalidSchemaError' || name === 'ConfluentSchemaRegistryArgumentError') {
    return new SchemaRejectedError(`registry at ${registryUrl} refused ${doing}: ${message}`, { cause: error });
  }
  if (status === 401 || status === 403) {
    return new SchemaRejectedError(`registry at ${registryUrl} refused the credentials ${doing} (HTTP ${status}): check the cluster's schemaRegistry.basicAuth`, { cause: error });
  }
  const transportFailure = status === 400 && /Error, status 400: /.test(message);
  if (status === undefined || transportFailure || status === 408 || status === 429 || status >= 500) {
    return new RegistryUnavailableError(`schema registry at ${registryUrl} is unavailable (${doing}): ${message.replace(/^.*Error, status 400: /, '')}`, { cause: error });
  }
  return new SchemaRejectedError(`registry at ${registryUrl} refused ${doing} (HTTP ${status}): ${message}`, { cause: error });
}
