import fs from 'node:fs';
import { Command } from 'commander';
import { createHttpServer, createWalWriter, DEFAULT_WRITE_TIMEOUT_MS, keysFileEntry, listenRefusal, loadApiKeys, mintApiKey, parseApiKeys, type ApiRole } from '../../api';
import { parseDuration } from '../../namespaces';
import { DEFAULT_REGISTRY_TOPIC } from '../../registry';
import { configWithRegistry, REGISTRY_OPTION, type LiveOptions } from '../live';
import { RegistryAdmin } from '../../registry/operations';
import { pendingTimersOf } from './namespace';
import { createLogger } from '../../observability/logger';
import { DEFAULT_TOPOLOGY_FILES } from '../namespace';
import { parseDurationOption } from './write';

interface ApiOptions {
  topology: string[];
  port: string;
  host: string;
  timeout: string;
  keysFile?: string;
  insecure?: boolean;
  tlsCert?: string;
  tlsKey?: string;
  rateLimit?: string;
}

interface KeyCreateOptions {
  id: string;
  namespaces: string[];
  roles: string[];
  rateLimit?: string;
}

function readPem(flag: string, file: string): Buffer {
  try {
    return fs.readFileSync(file);
  } catch (error) {
    throw new Error(`${flag} ${file}: ${(error as Error).message}`);
  }
}

function tlsOf(options: ApiOptions): { cert: Buffer; key: Buffer } | undefined {
  if (options.tlsCert === undefined && options.tlsKey === undefined) return undefined;
  if (options.tlsCert === undefined || options.tlsKey === undefined) throw new Error('give both --tls-cert and --tls-key, or neither');
  return { cert: readPem('--tls-cert', options.tlsCert), key: readPem('--tls-key', options.tlsKey) };
}

/** `--rate-limit 100/1m` → `{ max: 100, timeWindow: '1m' }`. */
function rateLimitOption(value: string): { max: number; timeWindow: string } {
  const match = /^([1-9]\d*)\/(\S+)$/.exec(value.trim());
  const timeWindowMs = match ? parseDuration(match[2]) : undefined;
  if (!match || timeWindowMs === undefined || timeWindowMs <= 0) throw new Error(`--rate-limit "${value}": expected <max>/<window>, e.g. 100/1m`);
  return { max: Number(match[1]), timeWindow: match[2] };
}

/**
 * `wal api key create`: mints a key, prints it once on stdout with the keys-file line that holds its
 * hash. The key itself is never logged nor stored by wal.
 */
function registerKeyCommands(api: Command): void {
  const key = api.command('key').description('API keys of the HTTP API');
  key
    .command('create')
    .description('mint a new API key: prints the key (once) and the line to add under `keys:` in the keys file')
    .requiredOption('--id <id>', 'name of the key in logs and errors (letters, digits, . _ -)')
    .requiredOption('--namespaces <names...>', "namespaces it may write ('*' = all)")
    .option('--roles <roles...>', 'write and/or admin', ['write'])
    .option('--rate-limit <max/window>', 'its own rate limit, e.g. 100/1m (default: the file-wide rateLimit, else 1000/1s)')
    .action((options: KeyCreateOptions) => {
      const { key: secret, hash } = mintApiKey();
      const line = keysFileEntry({
        id: options.id,
        hash,
        namespaces: options.namespaces,
        roles: options.roles as ApiRole[],
        ...(options.rateLimit !== undefined ? { rateLimit: rateLimitOption(options.rateLimit) } : {}),
      });
      // Validated as the server will read it, so a bad --id or role fails here, not at the next deploy.
      parseApiKeys(`keys:\n${line}\n`, 'the new key');
      process.stdout.write(
        [
          `# API key '${options.id}': shown once, wal keeps only its hash. Send it as Authorization: Bearer <key> or X-API-Key: <key>.`,
          secret,
          '# add this line under `keys:` in the keys file (wal api --keys-file, or $WAL_API_KEYS_FILE):',
          line,
          '',
        ].join('\n'),
      );
    });
}

export function registerApi(program: Command): void {
  const api = program
    .command('api')
    .description('serve the WriteToLog HTTP API: POST /v1/wal/write, POST /v1/wal/write-batch, GET /health, GET /ready, GET /openapi.json, GET /docs; DLQ admin (admin role): GET /v1/namespaces/:ns/dlq, POST …/dlq/replay, POST …/dlq/purge, GET …/dlq/depth')
    .option('-t, --topology <files...>', 'topology files or directories', DEFAULT_TOPOLOGY_FILES)
    .option('--port <port>', 'port to listen on', '8080')
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--timeout <duration>', 'hard bound on each write', `${DEFAULT_WRITE_TIMEOUT_MS}ms`)
    .option('--keys-file <file>', 'API keys (hashes, namespaces, roles, rate limits); default $WAL_API_KEYS_FILE; $WAL_API_KEYS adds keys inline')
    .option('--insecure', 'allow listening on a non-loopback address without API keys')
    .option('--rate-limit <max/window>', 'limit of keys without their own, and of each client address when keyless, e.g. 600/1m (default: the keys file\'s rateLimit, else 1000/1s)')
    .option('--tls-cert <file>', 'serve HTTPS with this PEM certificate (chain); needs --tls-key')
    .option('--tls-key <file>', 'PEM private key of --tls-cert')
    .option(...REGISTRY_OPTION)
    .option('--registry-topic <topic>', 'registry topic', DEFAULT_REGISTRY_TOPIC)
    .action(async (options: ApiOptions & LiveOptions) => {
      const logger = createLogger({ component: 'api' });
      // With --registry, the body limit and the docs' example come from the namespaces known at start.
      const { config, live } = await configWithRegistry(options, logger);
      const keys = loadApiKeys(options.keysFile);
      const refusal = listenRefusal(options.host, keys, options.insecure === true);
      if (refusal) throw new Error(refusal);
      const tls = tlsOf(options);
      const limit = options.rateLimit !== undefined ? rateLimitOption(options.rateLimit) : undefined;
      const defaultRateLimit = limit ? { max: limit.max, timeWindowMs: parseDuration(limit.timeWindow) ?? 0 } : undefined;
      if (!keys && options.insecure) logger.warn({ host: options.host }, 'INSECURE: no API keys and --insecure: anyone who reaches this port can write every namespace');
      const writer = createWalWriter({ config, live, clientId: 'wal-api', timeoutMs: parseDurationOption('--timeout', options.timeout), logger });
      const registryAdmin = live ? new RegistryAdmin(live.registry, live.clusters, pendingTimersOf(config)) : undefined;
      const app = createHttpServer({ writer, config, live, registryAdmin, logger, keys, tls, defaultRateLimit });
      // Serve /health at once; /ready turns 200 when the producers connect.
      writer.connect().catch((error: unknown) => logger.warn({ err: error }, 'producers not connected yet; /ready answers 503 until they are'));
      const address = await app.listen({ port: Number(options.port), host: options.host });
      logger.info({ address, keys: keys?.keys.map((k) => k.id) ?? [], tls: tls !== undefined }, keys ? 'API keys required on the write routes' : 'keyless: loopback only');
      process.stderr.write(`wal api: listening on ${address}${keys ? ` (${keys.keys.length} API keys)` : ' (no API keys)'}\n`);

      const signal = await new Promise<NodeJS.Signals>((resolve) => {
        process.once('SIGTERM', () => resolve('SIGTERM'));
        process.once('SIGINT', () => resolve('SIGINT'));
      });
      process.stderr.write(`wal api: ${signal}: finishing in-flight requests\n`);
      // Stop accepting, let in-flight writes get their answer, then close the producers.
      await app.close();
      await writer.close();
      await live?.close();
      process.stderr.write('wal api: stopped\n');
      // Every write has its answer and the producers are closed; a namespace-state read still in
      // flight (a throw-away consumer joining its group) must not keep the process up: leave now, as
      // `wal start` does.
      process.exit(0);
    });
  registerKeyCommands(api);
}
