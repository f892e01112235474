export * from './types';
export { createWalWriter, DEFAULT_WRITE_TIMEOUT_MS, HEADER_ID, HEADER_NAMESPACE } from './writer';
export type { WalWriter, WalWriterOptions } from './writer';
export { buildWriteRecord, encodePayload } from './request';
export { classifySendError } from './sender';
export { createHttpServer, statusFor, bodyLimitFor } from './http';
export type { HttpServerOptions } from './http';
export { writeBodySchema, writeRequestFromBody } from './body';
export type { WriteBody } from './body';
