import { parseInstant, type DeadLetterQuery } from './dead-letters';

/** A request the DLQ operations refuse as given (bad filter, unknown target, DLQ disabled): a retry cannot help. */
export class DlqRequestError extends Error {
  readonly retriable = false;
  constructor(message: string) {
    super(message);
    this.name = 'DlqRequestError';
  }
}

/** Filters as a person types them (CLI flags, query string, JSON body): instants and the reason still text. */
export interface DlqFilterInput {
  readonly since?: string;
  readonly until?: string;
  readonly ids?: readonly string[];
  readonly kinds?: readonly string[];
  readonly targets?: readonly string[];
  readonly reason?: string;
}

export type DlqFilters = Omit<DeadLetterQuery, 'limit' | 'onProgress'>;

/** Parses and checks filters once, at the edge; throws DlqRequestError naming the bad one. */
export function parseDlqFilters(input: DlqFilterInput, now = Date.now()): DlqFilters {
  const instant = (name: string, text: string | undefined): number | undefined => {
    if (text === undefined) return undefined;
    try {
      return parseInstant(text, now);
    } catch (error) {
      throw new DlqRequestError(`${name}: ${(error as Error).message}`);
    }
  };
  let reason: RegExp | undefined;
  if (input.reason !== undefined) {
    try {
      reason = new RegExp(input.reason);
    } catch (error) {
      throw new DlqRequestError(`--reason "${input.reason}": not a regular expression (${(error as Error).message})`);
    }
  }
  const list = (values: readonly string[] | undefined) => (values && values.length > 0 ? values : undefined);
  return { since: instant('--since', input.since), until: instant('--until', input.until), ids: list(input.ids), kinds: list(input.kinds), targets: list(input.targets), reason };
}
