import fs from 'node:fs';
import path from 'node:path';
import { prepareServerDir, startLocalServer, type LocalServer } from './local-server';
import { elasticMqClasspath } from './maven';
import { freePort } from './ports';
import { stopProcessGroup } from './process';

export const DEFAULT_ELASTICMQ_VERSION = '1.7.1';

/** An ElasticMQ server (SQS API) from Maven Central jars, on a loopback port, in memory. */
export interface ElasticMqServer extends LocalServer {
  /** http://127.0.0.1:<port>: the `endpoint` of an SQS namespace (WAL_SQS_ENDPOINT). */
  readonly endpoint: string;
  readonly port: number;
}

export interface StartElasticMqOptions {
  version?: string;
  /** Where the config and log go; a fresh temp dir (removed by `stop()`) when absent. */
  dir?: string;
  detach?: boolean;
  port?: number;
  startTimeoutMs?: number;
  onProgress?: (message: string) => void;
}

/** Resolves ElasticMQ's jars into ~/.m2 (`wal dev fetch`); returns the classpath. */
export function fetchElasticMq(version = DEFAULT_ELASTICMQ_VERSION, onProgress: (m: string) => void = () => undefined): Promise<string> {
  return elasticMqClasspath(version, onProgress);
}

/**
 * Starts ElasticMQ (`org.elasticmq.server.Main`, settings in a HOCON file) and waits until a real
 * ListQueues answers. Its queues live in memory: a halt loses them (an outage test starts it again empty).
 */
export async function startElasticMq(options: StartElasticMqOptions = {}): Promise<ElasticMqServer> {
  const version = options.version ?? process.env.WAL_ELASTICMQ_VERSION ?? DEFAULT_ELASTICMQ_VERSION;
  const classpath = await elasticMqClasspath(version, options.onProgress ?? (() => undefined));
  const serverDir = prepareServerDir('wal-elasticmq-', options);
  const port = options.port ?? (await freePort());
  const endpoint = `http://127.0.0.1:${port}`;
  const config = path.join(serverDir.dir, 'elasticmq.conf');
  fs.writeFileSync(
    config,
    [
      'include classpath("application.conf")',
      `node-address { protocol = http, host = "127.0.0.1", port = ${port}, context-path = "" }`,
      `rest-sqs { enabled = true, bind-port = ${port}, bind-hostname = "127.0.0.1", sqs-limits = strict }`,
      'rest-stats { enabled = false }',
      '',
    ].join('\n'),
  );
  return startLocalServer(
    {
      dir: serverDir,
      logFile: path.join(serverDir.dir, 'elasticmq.log'),
      command: 'java',
      args: ['-Xmx256m', '-XX:+UseSerialGC', `-Dconfig.file=${config}`, '-cp', classpath, 'org.elasticmq.server.Main'],
      detach: options.detach ?? false,
      probe: {
        name: 'ElasticMQ',
        check: () => listQueuesAnswers(endpoint),
        intervalMs: 200,
        timeoutMessage: (timeoutMs, last) => `ElasticMQ did not answer ListQueues at ${endpoint} within ${timeoutMs} ms (${last})`,
      },
      startTimeoutMs: options.startTimeoutMs ?? 60_000,
      stopPid: (pid) => stopProcessGroup(pid, 5000),
    },
    { endpoint, port },
  );
}

/** null once ListQueues (the SQS query API) answers 200, else what failed. */
export async function listQueuesAnswers(endpoint: string): Promise<string | null> {
  try {
    const response = await fetch(`${endpoint}/?Action=ListQueues`, { signal: AbortSignal.timeout(1000) });
    await response.text();
    return response.ok ? null : `ListQueues answered HTTP ${response.status}`;
  } catch (error) {
    return (error as Error).message;
  }
}

/** `<dir>/elasticmq.json`: the ElasticMQ `wal dev up` left running, so `wal dev down` can stop it. */
interface ElasticMqRecord {
  readonly pid: number;
  readonly endpoint: string;
  readonly version: string;
}

const RECORD_FILE = 'elasticmq.json';

/** The recorded ElasticMQ of a dev dir if it still runs, else one started now (detached) and recorded. */
export async function ensureRecordedElasticMq(workDir: string, onProgress: (m: string) => void): Promise<{ endpoint: string; version: string }> {
  const file = path.join(workDir, RECORD_FILE);
  const known = readRecord(file);
  if (known && isRunning(known.pid) && (await listQueuesAnswers(known.endpoint)) === null) return known;
  const version = process.env.WAL_ELASTICMQ_VERSION ?? DEFAULT_ELASTICMQ_VERSION;
  const server = await startElasticMq({ dir: path.join(workDir, 'elasticmq'), detach: true, version, onProgress });
  fs.mkdirSync(workDir, { recursive: true });
  fs.writeFileSync(file, JSON.stringify({ pid: server.pid, endpoint: server.endpoint, version } satisfies ElasticMqRecord, null, 2));
  return { endpoint: server.endpoint, version };
}

/** Stops the ElasticMQ recorded in a dev dir, if any; returns how many processes it stopped. */
export async function stopRecordedElasticMq(workDir: string): Promise<number> {
  const file = path.join(workDir, RECORD_FILE);
  const known = readRecord(file);
  if (!known) return 0;
  const running = isRunning(known.pid) && startedIn(known.pid, path.join(workDir, 'elasticmq'));
  if (running) await stopProcessGroup(known.pid, 5000);
  fs.rmSync(file, { force: true });
  return running ? 1 : 0;
}

function readRecord(file: string): ElasticMqRecord | undefined {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as ElasticMqRecord;
  } catch {
    return undefined;
  }
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Guards against stopping an unrelated process that reused a recorded pid (its cwd is the server dir). */
function startedIn(pid: number, dir: string): boolean {
  try {
    return path.resolve(fs.readlinkSync(`/proc/${pid}/cwd`)) === path.resolve(dir);
  } catch {
    return process.platform !== 'linux';
  }
}
