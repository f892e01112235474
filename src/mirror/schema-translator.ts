import type { RegistrySchemas } from '../wire/registry-schemas';
import { UnknownSchemaIdError } from '../wire/errors';
import { schemaTranslations, schemaSkips } from './metrics';

/**
 * Schema-aware mirroring, which MirrorMaker 2 does not do: records in Confluent wire format carry a
 * schema id that only means something to the source cluster's registry. For every id seen, the
 * writer schema is fetched from the source registry, registered on the target's under the target
 * topic's subject (`<topic>-value` / `-key`, what a producer on the target would have used), and the
 * record's 4-byte id is rewritten. Bytes that are not wire format (no magic byte, too short, an id
 * the source registry does not know) are mirrored untouched; a schema the target registry refuses
 * (incompatible with what the subject holds there) skips the record with a reason and a metric,
 * never a stuck link.
 */
export type Translation = { readonly bytes: Buffer | null } | { readonly skip: string };

const MAGIC = 0;
const HEADER = 5;

/** Whether bytes could be Confluent wire format (a cheap test, so that other records cost no promise). */
export function looksLikeWireFormat(bytes: Buffer | null): boolean {
  return bytes !== null && bytes.length >= HEADER && bytes[0] === MAGIC;
}

export class SchemaTranslator {
  /** `<subject>\0<source id>` → target id, or a reason to skip, or null for "not ours: leave the bytes". */
  private readonly ids = new Map<string, Promise<number | string | null>>();

  constructor(
    private readonly source: RegistrySchemas,
    private readonly target: RegistrySchemas,
    private readonly labels: { readonly namespace: string; readonly target: string },
  ) {}

  async translate(bytes: Buffer | null, targetTopic: string, part: 'key' | 'value'): Promise<Translation> {
    if (!looksLikeWireFormat(bytes)) return { bytes };
    const sourceId = bytes!.readInt32BE(1);
    const subject = `${targetTopic}-${part}`;
    const key = `${subject}\u0000${sourceId}`;
    let pending = this.ids.get(key);
    if (!pending) {
      pending = this.register(sourceId, subject);
      this.ids.set(key, pending);
      // A registry that was away is asked again on the next record, not remembered as an answer.
      pending.catch(() => this.ids.delete(key));
    }
    const targetId = await pending;
    if (targetId === null) return { bytes };
    if (typeof targetId === 'string') {
      schemaSkips.inc({ ...this.labels, topic: targetTopic });
      return { skip: targetId };
    }
    if (targetId === sourceId) return { bytes };
    const out = Buffer.from(bytes!);
    out.writeInt32BE(targetId, 1);
    return { bytes: out };
  }

  private async register(sourceId: number, subject: string): Promise<number | string | null> {
    let schema: string;
    try {
      schema = await this.source.rawSchema(sourceId);
    } catch (error) {
      // Not an id of the source registry: these bytes only look like wire format.
      if (error instanceof UnknownSchemaIdError) return null;
      throw error;
    }
    try {
      const id = await this.target.registerRawSchema(subject, schema);
      schemaTranslations.inc({ ...this.labels, subject });
      return id;
    } catch (error) {
      if ((error as { retriable?: boolean }).retriable) throw error;
      return `schema id ${sourceId} of the source registry cannot be registered under ${subject} on the target: ${(error as Error).message}`;
    }
  }
}
