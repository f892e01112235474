import { Client, Server, Utils, type Response } from 'memjs';
import type { MemcachedTargetConfig } from '../namespaces/types';
import type { Logger } from '../observability/logger';

/**
 * The few memcached commands the target needs, on memjs. memjs 1.3 hashes keys to servers, keeps one
 * pipelined socket per server, times requests out and authenticates (SASL PLAIN), but its `get` drops
 * the item's CAS value and its `set` cannot send one. So GET, ADD and SET are built with memjs' own
 * request builder and sent through its `perform` (server choice, timeouts, errors stay memjs'); the
 * only thing added is the 8-byte CAS field of the binary protocol header (bytes 16-23).
 */

/** Binary protocol status codes the target tells apart. */
export const Status = {
  OK: 0x00,
  KEY_NOT_FOUND: 0x01,
  KEY_EXISTS: 0x02,
  VALUE_TOO_LARGE: 0x03,
  INVALID_ARGUMENTS: 0x04,
  NOT_STORED: 0x05,
  AUTH_ERROR: 0x20,
  UNKNOWN_COMMAND: 0x81,
  OUT_OF_MEMORY: 0x82,
  BUSY: 0x85,
  TEMPORARY_FAILURE: 0x86,
} as const;

const OPCODE = { GET: 0x00, SET: 0x01, ADD: 0x02 } as const;

export interface Item {
  readonly status: number;
  /** The stored bytes when `status` is OK. */
  readonly value: Buffer | null;
  /** Opaque 8 bytes to hand back to `store` for a compare-and-set. */
  readonly cas: Buffer | null;
}

export interface MemcachedConnection {
  get(key: string): Promise<Item>;
  /**
   * SET (with `cas`: only if the item is unchanged since that GET) or ADD (only if absent). Resolves
   * with the reply's status: OK, KEY_EXISTS (changed / present), KEY_NOT_FOUND (gone), or an error.
   */
  store(op: 'set' | 'add', key: string, value: Buffer, expiry: number, cas?: Buffer): Promise<number>;
  /** Server "host:port" a key is stored on. */
  serverOf(key: string): string;
  close(): void;
}

export function connectMemcached(config: MemcachedTargetConfig, log: Logger): MemcachedConnection {
  const serverOptions = { timeout: config.timeoutMs / 1000, conntimeout: config.connectTimeoutMs / 1000, keepAlive: true };
  const servers = config.servers.map((hostPort) => {
    const colon = hostPort.lastIndexOf(':');
    const server = new Server(hostPort.slice(0, colon), Number(hostPort.slice(colon + 1)), config.sasl?.username, config.sasl?.password, serverOptions);
    // memjs falls back to MEMCACHE(IER)_USERNAME/PASSWORD from the environment: the config alone decides.
    if (!config.sasl) Object.assign(server, { username: undefined, password: undefined });
    return server;
  });
  // retries: 1 = no retry inside memjs: wal's backoff retries, and a memjs retry could reorder writes.
  const client = new Client(servers, { retries: 1, failover: false, logger: { log: (...args: unknown[]) => log.debug({ memjs: args.map(String).join(' ') }, 'memjs') } });

  const perform = (key: string, request: (opaque: number) => Buffer): Promise<Response> =>
    new Promise((resolve, reject) => {
      client.incrSeq();
      const opaque = client.seq;
      client.perform(key, request(opaque), opaque, (error: Error | string | null, response: Response) => {
        if (error) reject(typeof error === 'string' ? new Error(error) : error);
        else resolve(response);
      });
    });

  return {
    async get(key) {
      const response = await perform(key, (opaque) => Utils.makeRequestBuffer(OPCODE.GET, key, '', '', opaque));
      const ok = response.header.status === Status.OK;
      return { status: response.header.status, value: ok ? Buffer.from(response.val) : null, cas: ok ? Buffer.from(response.header.cas) : null };
    },
    async store(op, key, value, expiry, cas) {
      // Extras of SET/ADD: 4 bytes flags (0), 4 bytes expiry.
      const extras = Buffer.alloc(8);
      extras.writeUInt32BE(expiry, 4);
      const response = await perform(key, (opaque) => {
        const request = Utils.makeRequestBuffer(op === 'add' ? OPCODE.ADD : OPCODE.SET, key, extras, value, opaque);
        if (cas) cas.copy(request, 16);
        return request;
      });
      return response.header.status;
    },
    serverOf(key) {
      const server = client.server(key);
      return server ? `${server.host}:${server.port}` : 'none';
    },
    close() {
      client.close();
    },
  };
}

/** A reply status as a reason a person can act on. */
export function describeStatus(status: number): string {
  switch (status) {
    case Status.KEY_NOT_FOUND:
      return 'key not found';
    case Status.KEY_EXISTS:
      return 'key exists (changed concurrently)';
    case Status.VALUE_TOO_LARGE:
      return "value too large: over the server's item size limit (memcached -I, 1 MiB by default)";
    case Status.INVALID_ARGUMENTS:
      return 'invalid arguments';
    case Status.NOT_STORED:
      return 'item not stored';
    case Status.AUTH_ERROR:
      return 'authentication required or refused (check the target sasl settings)';
    case Status.UNKNOWN_COMMAND:
      return 'unknown command';
    case Status.OUT_OF_MEMORY:
      return 'server out of memory';
    case Status.BUSY:
      return 'server busy';
    case Status.TEMPORARY_FAILURE:
      return 'temporary failure';
    default:
      return `status 0x${status.toString(16)}`;
  }
}

/** Whether trying the same request again later can succeed. */
export function statusIsRetriable(status: number): boolean {
  return status === Status.OUT_OF_MEMORY || status === Status.BUSY || status === Status.TEMPORARY_FAILURE;
}
