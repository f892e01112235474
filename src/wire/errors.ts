/**
 * What can go wrong turning bytes into records and back. `retriable` says whether trying the same
 * thing again later can help: a malformed record stays malformed, an unreachable registry may come back.
 */
export abstract class SerdeError extends Error {
  abstract readonly retriable: boolean;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The bytes are not Confluent wire format (magic 0, 4-byte schema id, body) or the Avro body does not parse. */
export class MalformedRecordError extends SerdeError {
  readonly retriable = false;
}

/** The record names a schema id the registry does not hold. */
export class UnknownSchemaIdError extends SerdeError {
  readonly retriable = false;

  constructor(readonly schemaId: number, registryUrl: string) {
    super(`schema id ${schemaId} is not known to the registry at ${registryUrl}`);
  }
}

/** The registry could not be reached, timed out or answered 5xx: the same call may succeed later. */
export class RegistryUnavailableError extends SerdeError {
  readonly retriable = true;
}

/** The registry refused a schema (invalid, or incompatible with the subject's earlier versions). */
export class SchemaRejectedError extends SerdeError {
  readonly retriable = false;
}

/** A value does not match the schema it is encoded with; `paths` names the offending fields. */
export class InvalidRecordError extends SerdeError {
  readonly retriable = false;

  constructor(message: string, readonly paths: string[] = []) {
    super(paths.length > 0 ? `${message}: invalid field(s) ${paths.join(', ')}` : message);
  }
}

/** A reader schema cannot read what the writer schema wrote (e.g. a new field without a default). */
export class IncompatibleSchemaError extends SerdeError {
  readonly retriable = false;
}

/** A decoded WriteToLogRequest breaks a semantic rule (empty id, negative delay, unknown target …). */
export class InvalidWriteRequestError extends SerdeError {
  readonly retriable = false;

  constructor(readonly issues: string[]) {
    super(issues.length === 1 ? `invalid request: ${issues[0]}` : `invalid request: ${issues.join('; ')}`);
  }
}
