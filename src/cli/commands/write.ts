import fs from 'node:fs';
import { Command } from 'commander';
import pino from 'pino';
import { createWalWriter, DEFAULT_WRITE_TIMEOUT_MS, WriteRequest, WriteResult } from '../../api';
import { DEFAULT_REGISTRY_TOPIC } from '../../registry';
import { configWithRegistry, REGISTRY_OPTION, type LiveOptions } from '../live';
import { parseDuration } from '../../namespaces/units';
import type { Logger } from '../../observability/logger';
import { DEFAULT_TOPOLOGY_FILES } from '../namespace';

/** Exit status of a one-shot write: scripts can branch on durability without parsing JSON. */
export const EXIT_CODE: Record<WriteResult['durable'], number> = { true: 0, false: 1, unknown: 2 };

/** Logs of one-shot commands go to stderr (errors only by default) so stdout stays parseable JSON. */
export function stderrLogger(): Logger {
  return pino({ level: process.env.WAL_LOG_LEVEL ?? 'error', base: { service: 'wal' } }, pino.destination(2));
}

/** "30s", "5m", "1500" (ms); a plain negative number is passed on so the writer can say what is wrong. */
export function parseDurationOption(flag: string, text: string): number {
  if (/^-?\d+$/.test(text.trim())) return Number(text);
  const ms = parseDuration(text);
  if (ms === undefined) throw new Error(`${flag}: "${text}" is not a duration (e.g. 250ms, 30s, 5m, 2h, 3d or milliseconds)`);
  return ms;
}

/** JSON if the text parses as JSON, else the text itself. */
function payloadFrom(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

interface WriteOptions {
  topology: string[];
  namespace: string;
  payload?: string;
  payloadFile?: string;
  contentType?: string;
  delay?: string;
  deliverAt?: string;
  target?: string;
  id?: string;
  header?: string[];
  timeout: string;
}

function requestFrom(options: WriteOptions): WriteRequest {
  if (options.payload !== undefined && options.payloadFile !== undefined) throw new Error('give --payload or --payload-file, not both');
  if (options.delay !== undefined && options.deliverAt !== undefined) throw new Error('give --delay or --deliver-at, not both');
  const headers: Record<string, string> = {};
  for (const pair of options.header ?? []) {
    const at = pair.indexOf('=');
    if (at <= 0) throw new Error(`--header: "${pair}" is not key=value`);
    headers[pair.slice(0, at)] = pair.slice(at + 1);
  }
  const payload = options.payloadFile !== undefined ? fs.readFileSync(options.payloadFile === '-' ? 0 : options.payloadFile) : options.payload === undefined ? undefined : payloadFrom(options.payload);
  const deliverAt = options.deliverAt === undefined ? undefined : /^\d+$/.test(options.deliverAt) ? Number(options.deliverAt) : options.deliverAt;
  return {
    namespace: options.namespace,
    id: options.id,
    lifecycle: { delayMs: options.delay === undefined ? undefined : parseDurationOption('--delay', options.delay), deliverAt },
    payload: payload as WriteRequest['payload'],
    contentType: options.contentType,
    target: options.target,
    headers,
  };
}

export function registerWrite(program: Command): void {
  program
    .command('write')
    .description("write one request to a namespace's intake topic; prints the WriteResult as JSON (exit 0 durable true, 1 false, 2 unknown)")
    .requiredOption('-n, --namespace <name>', 'namespace')
    .option('-t, --topology <files...>', 'topology files or directories', DEFAULT_TOPOLOGY_FILES)
    .option('-p, --payload <json-or-text>', 'payload: sent as JSON when it parses as JSON, else as text')
    .option('--payload-file <file>', 'payload bytes from a file (- for stdin)')
    .option('--content-type <type>', 'content type (default by payload kind)')
    .option('-d, --delay <duration>', 'deliver after this delay (250ms, 30s, 5m, 2h, 3d)')
    .option('--deliver-at <when>', 'deliver at this instant (ISO-8601 date-time or epoch ms; past = now)')
    .option('--target <name>', "one of the namespace's targets (default: its defaultTarget)")
    .option('--id <id>', 'idempotency key (default: a new UUID); reuse it to retry an unknown write')
    .option('-H, --header <key=value...>', 'header passed through to the target (repeatable)')
    .option('--timeout <duration>', 'hard bound on the write', `${DEFAULT_WRITE_TIMEOUT_MS}ms`)
    .option(...REGISTRY_OPTION)
    .option('--registry-topic <topic>', 'registry topic', DEFAULT_REGISTRY_TOPIC)
    .action(async (options: WriteOptions & LiveOptions) => {
      const request = requestFrom(options);
      const logger = stderrLogger();
      const { config, live } = await configWithRegistry(options, logger);
      const writer = createWalWriter({ config, live, clientId: 'wal-cli-write', timeoutMs: parseDurationOption('--timeout', options.timeout), logger });
      try {
        const result = await writer.writeToLog(request);
        process.stdout.write(`${JSON.stringify(result)}\n`);
        process.exitCode = EXIT_CODE[result.durable];
      } finally {
        await writer.close();
        await live?.close();
      }
    });
}
