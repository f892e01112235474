import createRegistryApi from '@kafkajs/confluent-schema-registry/dist/api';
import { Type, type Schema } from 'avsc';
import { registryClientArgs, registryError, type AvroCodecOptions } from './codec';
import { SchemaRejectedError, UnknownSchemaIdError } from './errors';

/**
 * Schemas as text, for copying them between registries (the mirror): the REST client the
 * SchemaRegistry library wraps, without its helpers, which refuse unnamed schemas (an Avro `string`
 * key, say) and set a subject's compatibility on first registration.
 */
export interface RegistrySchemas {
  /** The schema text of an id exactly as the registry holds it. */
  rawSchema(schemaId: number): Promise<string>;
  /** Registers schema text under `subject` (the subject's compatibility as the registry has it) and returns its id. */
  registerRawSchema(subject: string, schema: string): Promise<number>;
}

export function createRegistrySchemas(options: Pick<AvroCodecOptions, 'registryUrl' | 'basicAuth' | 'ca' | 'requestTimeoutMs' | 'retries'>): RegistrySchemas {
  const registryUrl = options.registryUrl.replace(/\/+$/, '');
  const api = createRegistryApi(registryClientArgs(options));
  return {
    async rawSchema(schemaId) {
      try {
        const response = (await api.Schema.find({ id: schemaId })) as { data(): { schema: string } };
        return response.data().schema;
      } catch (error) {
        if ((error as { status?: number }).status === 404) throw new UnknownSchemaIdError(schemaId, registryUrl);
        throw registryError(error, `fetching schema id ${schemaId}`, registryUrl);
      }
    },
    async registerRawSchema(subject, schema) {
      try {
        Type.forSchema(JSON.parse(schema) as Schema);
      } catch (error) {
        throw new SchemaRejectedError(`schema for ${subject} is not valid Avro: ${(error as Error).message}`, { cause: error });
      }
      try {
        const response = (await api.Subject.register({ subject, body: { schema } })) as { data(): { id: number } };
        return response.data().id;
      } catch (error) {
        throw registryError(error, `registering a schema under subject ${subject}`, registryUrl);
      }
    },
  };
}
