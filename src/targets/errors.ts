/**
 * Errors of the targets. Delivery failures are answered as results, not thrown (see target.ts);
 * these classes are for what is wrong before any delivery: a config that cannot work.
 */
export class TargetError extends Error {
  constructor(
    message: string,
    readonly retriable: boolean,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** The target's configuration cannot work (unknown cluster alias, malformed URL, bad table name). */
export class TargetConfigError extends TargetError {
  constructor(message: string) {
    super(message, false);
  }
}

/** A short, single-line description of any thrown value, for `DeliveryResult.reason`. */
export function describeError(error: unknown, maxLength = 300): string {
  const flat = errorText(error).replace(/\s+/g, ' ').trim();
  return flat.length > maxLength ? `${flat.slice(0, maxLength)}…` : flat;
}

// Duck-typed rather than `instanceof Error`: errors raised by Node internals come from another realm
// under jest's sandbox, and some (AggregateError of a refused connect) carry an empty message.
function errorText(error: unknown): string {
  if (typeof error === 'string') return error;
  if (!error || typeof error !== 'object') return String(error);
  const e = error as { name?: unknown; message?: unknown; code?: unknown; address?: unknown; port?: unknown };
  const name = typeof e.name === 'string' ? e.name : 'Error';
  if (typeof e.message === 'string' && e.message) return `${name}: ${e.message}`;
  if (typeof e.code === 'string') {
    const port = typeof e.port === 'number' || typeof e.port === 'string' ? `:${e.port}` : '';
    return `${name}: ${e.code}${typeof e.address === 'string' ? ` ${e.address}${port}` : ''}`;
  }
  return `${name}: ${JSON.stringify(error)}`;
}

/** Walks `cause` (and kafkajs' `originalError`) links, outermost first. */
export function causeChain(error: unknown): unknown[] {
  const chain: unknown[] = [];
  let current: unknown = error;
  while (current !== undefined && current !== null && chain.length < 10 && !chain.includes(current)) {
    chain.push(current);
    const next = (current as { cause?: unknown; originalError?: unknown }).cause ?? (current as { originalError?: unknown }).originalError;
    current = next;
  }
  return chain;
}
