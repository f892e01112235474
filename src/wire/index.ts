export * from './errors';
export * from './wire';
export * from './schemas';
export { createAvroCodec, registryError, registryOf } from './codec';
export type { AvroCodec, AvroCodecOptions } from './codec';
export * from './intake';
export * from './headers';
export * from './dlq';
export * from './intake-record';
