import helmet from 'helmet';

/**
 * The headers helmet (with its defaults, as @fastify/helmet used them) sets on a response, worked out
 * once by running its middleware on a recording response. @fastify/helmet built that middleware anew
 * on every request, parsing its options and CSP directives each time: 6 % of the CPU at thousands
 * of writes/s, for headers that depend on no request here (no CSP nonces).
 */
export function helmetHeaders(): Array<[string, string]> {
  const headers = new Map<string, string>();
  const recorder = {
    setHeader: (name: string, value: unknown) => void headers.set(name.toLowerCase(), String(value)),
    removeHeader: (name: string) => void headers.delete(name.toLowerCase()),
  };
  let failure: unknown;
  // helmet's middleware is synchronous: `next` has been called when it returns.
  helmet()({} as never, recorder as never, (error?: unknown) => (failure = error));
  if (failure !== undefined) throw failure instanceof Error ? failure : new Error('helmet refused its default options');
  return [...headers];
}
