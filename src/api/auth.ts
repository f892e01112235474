import net from 'node:net';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { findApiKey, mayWrite, type ApiKey, type ApiKeys, type ApiRole } from './keys';

declare module 'fastify' {
  interface FastifyRequest {
    /** The key the request authenticated with; undefined on a keyless (loopback) server. */
    apiKey?: ApiKey;
  }
}

/** Where a client may put its key. */
export const API_KEY_HEADER = 'x-api-key';

/** The key a request presents: `Authorization: Bearer <key>`, else `X-API-Key: <key>`. */
export function presentedKey(headers: FastifyRequest['headers']): string | undefined {
  const authorization = headers.authorization;
  if (typeof authorization === 'string') {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
    if (match) return match[1];
  }
  const header = headers[API_KEY_HEADER];
  const value = Array.isArray(header) ? header[0] : header;
  return value?.trim() || undefined;
}

/** True for addresses only this machine can reach: 127.0.0.0/8, ::1, localhost. */
export function isLoopback(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, '');
  if (bare === 'localhost') return true;
  if (net.isIPv4(bare)) return bare.startsWith('127.');
  if (net.isIPv6(bare)) return bare === '::1' || /^::ffff:127\./i.test(bare);
  return false;
}

/**
 * Why `wal api` must not listen on `host`, or undefined when it may: without keys anyone who reaches
 * the port could write any namespace, so only loopback is allowed keyless, unless the operator says
 * `--insecure` (e.g. a private network with its own gate in front).
 */
export function listenRefusal(host: string, keys: ApiKeys | undefined, insecure: boolean): string | undefined {
  if (keys || insecure || isLoopback(host)) return undefined;
  return `refusing to listen on ${host} without API keys: anyone reaching the port could write every namespace. Give --keys-file (or $WAL_API_KEYS_FILE / $WAL_API_KEYS; mint a key with \`wal api key create\`), listen on 127.0.0.1, or pass --insecure`;
}

function deny(reply: FastifyReply, status: 401 | 403, message: string): FastifyReply {
  // Info, not warn: a scanner's 401s are expected traffic; the line (with its requestId) is the audit trail.
  reply.request.log.info({ status, keyId: reply.request.apiKey?.id }, message);
  if (status === 401) void reply.header('www-authenticate', 'Bearer realm="wal"');
  return reply.status(status).send({ durable: 'false', message });
}

/**
 * onRequest hook of the protected routes: 401 unless the request carries a configured key (then
 * `request.apiKey` is that key) with `role`. Runs before the body is read, so an unauthenticated
 * client gets 401 whatever it sends. A keyless server (no keys configured) lets every request through.
 */
export function requireKey(keys: ApiKeys | undefined, role: ApiRole) {
  // An async hook that answered returns the reply: Fastify then runs no handler, whatever hooks follow.
  return async (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined> => {
    if (!keys) return undefined;
    const presented = presentedKey(request.headers);
    if (presented === undefined) return deny(reply, 401, 'nothing was written: no API key (send Authorization: Bearer <key> or X-API-Key: <key>)');
    const key = findApiKey(keys.keys, presented);
    if (!key) return deny(reply, 401, 'nothing was written: unknown API key');
    if (!key.roles.includes(role)) return deny(reply, 403, `nothing was written: API key '${key.id}' does not have the ${role} role`);
    request.apiKey = key;
    return undefined;
  };
}

/**
 * Sends 403 and returns true when the request's key may not act on one of `namespaces` (a key's
 * namespaces scope both its roles: writing, and administering the namespace's DLQ).
 */
export function refuseNamespaces(request: FastifyRequest, reply: FastifyReply, namespaces: readonly string[], action: 'write' | 'administer' = 'write'): boolean {
  const key = request.apiKey;
  if (!key) return false;
  const refused = [...new Set(namespaces.filter((ns) => !mayWrite(key, ns)))];
  if (refused.length === 0) return false;
  deny(reply, 403, `${action === 'write' ? 'nothing was written' : 'nothing was done'}: API key '${key.id}' may not ${action} namespace ${refused.map((ns) => `'${ns}'`).join(', ')}`);
  return true;
}
