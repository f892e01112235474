import fs from 'node:fs';
import path from 'node:path';
import type { Schema } from 'avsc';

/** schemas/ at the package root: two levels up from both src/wire and dist/wire. */
export const SCHEMAS_DIR = path.resolve(__dirname, '..', '..', 'schemas');

/** The shipped schemas, by the file name under schemas/ without `.avsc`. */
export type SchemaName = 'WriteToLogRequest' | 'DeadLetter' | 'Chunk' | 'Completion';

export function schemaPath(name: SchemaName): string {
  return path.join(SCHEMAS_DIR, `${name}.avsc`);
}

/** Reads and parses an .avsc file; a parse failure names the file. */
export function readSchemaFile(file: string): Schema {
  const text = fs.readFileSync(file, 'utf8');
  try {
    return JSON.parse(text) as Schema;
  } catch (error) {
    throw new Error(`${file}: not valid JSON (${(error as Error).message})`);
  }
}

export function loadSchema(name: SchemaName): Schema {
  return readSchemaFile(schemaPath(name));
}

/** The registry subject of a topic's record values (Confluent TopicNameStrategy). */
export function valueSubject(topic: string): string {
  return `${topic}-value`;
}
