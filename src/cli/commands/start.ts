import os from 'node:os';
import { Command } from 'commander';
import type { Kafka } from 'kafkajs';
import { configFromDocuments, ConfigError, DEFAULT_SHARD, parseDuration, readConfigDocuments, type NamespaceConfig, type WalConfig } from '../../namespaces';
import { clusterDocuments, DEFAULT_REGISTRY_TOPIC, NamespaceRegistry } from '../../registry';
import { RegistryWatcher } from '../../ops/registry-watcher';
import { registryAlias } from '../live';
import { applyTopics, createKafkaClient } from '../../kafka';
import { planTopics } from '../../namespaces/topic-plan';
import { rootLogger } from '../../observability/logger';
import { WalInstance, type InstanceRunner } from '../../ops/instance';
import { runnerFor, STREAM_PERSONAS } from '../../personas';
import { startAdminServer, type AdminServer } from '../../ops/admin-server';
import { DEFAULT_STATE_FOLLOW_INTERVAL_MS, NamespaceStateFollower } from '../../ops/namespace-state-follower';
import { DEFAULT_DLQ_DEPTH_INTERVAL_MS, DlqDepthPoller } from '../../ops/dlq-depth-poller';
import { selectNamespaces } from '../namespace';
import { ensureSqsQueues } from '../../sqs';

export interface StartOptions {
  readonly topology: string[];
  readonly namespace?: string[];
  readonly instanceId?: string;
  readonly stateDir?: string;
  /** A stream persona to run for every selected namespace, instead of the namespace's own (see personas). */
  readonly processor?: string;
  /** Topology options `key=value` (e.g. passthrough `output=topic`). */
  readonly set?: string[];
  readonly createTopics?: boolean;
  readonly shutdownTimeout?: string;
  /** How long the group waits for a silent instance before moving its partitions (kill -9 recovery time). */
  readonly sessionTimeout?: string;
  /** Serve /metrics, /health and /ready on this port (0 = any free port). */
  readonly adminPort?: string;
  /** Address the admin port binds (default $WAL_ADMIN_HOST, else 0.0.0.0 as before the option existed). */
  readonly adminHost?: string;
  /** Also run the namespaces of the registry (on this cluster alias, or the default one when `true`), live. */
  readonly registry?: string | boolean;
  readonly registryTopic?: string;
  /** Run only the namespaces of this shard (files and registry). */
  readonly shard?: string;
  /** How often the namespace state topic (`wal namespace pause|resume`) is read again (default 2s). */
  readonly stateInterval?: string;
  /** How often wal_dlq_depth_records is computed (default 15s; 0 = never). */
  readonly dlqDepthInterval?: string;
}

export const DEFAULT_STATE_DIR = 'wal-state';
/** Where the admin port listened before it had a bind option: every interface (Prometheus scrapes it). */
export const DEFAULT_ADMIN_HOST = '0.0.0.0';

/**
 * The admin port from `--admin-port` or, without it, $WAL_ADMIN_PORT: undefined when neither is set
 * (no admin endpoint), else an integer 0..65535 (0 = any free port). Anything else is a ConfigError
 * naming where the value came from.
 */
export function adminPortOf(flag: string | undefined, env: string | undefined = process.env.WAL_ADMIN_PORT): number | undefined {
  // An empty variable (`WAL_ADMIN_PORT=` in an env file) counts as unset.
  const [value, source] = flag !== undefined ? [flag, '--admin-port'] : [env === '' ? undefined : env, '$WAL_ADMIN_PORT'];
  if (value === undefined) return undefined;
  const trimmed = value.trim();
  const port = /^\d{1,5}$/.test(trimmed) ? Number(trimmed) : NaN;
  if (!Number.isInteger(port) || port > 65535) {
    throw new ConfigError([`${source} "${value}": expected a TCP port, an integer from 0 to 65535 (0 picks a free port)`]);
  }
  return port;
}

/** The admin bind address from `--admin-host`, else $WAL_ADMIN_HOST, else every interface (0.0.0.0). */
export function adminHostOf(flag: string | undefined, env: string | undefined = process.env.WAL_ADMIN_HOST): string {
  const [value, source] = flag !== undefined ? [flag, '--admin-host'] : [env || undefined, '$WAL_ADMIN_HOST'];
  if (value === undefined) return DEFAULT_ADMIN_HOST;
  const trimmed = value.trim();
  if (trimmed === '' || /\s/.test(trimmed)) throw new ConfigError([`${source} "${value}": expected an address to bind, e.g. 127.0.0.1 or 0.0.0.0`]);
  return trimmed;
}

function parseSettings(pairs: string[] = []): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new ConfigError([`--set "${pair}": expected key=value`]);
    out[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return out;
}

/**
 * Runs the selected namespaces until SIGTERM/SIGINT, then stops gracefully: stop fetching, finish
 * in-flight records, commit, close stores, leave the groups. Resolves with the exit code: 0 after a
 * clean stop, 1 when the stop exceeded the shutdown timeout (or a second signal forced it).
 */
export async function runStart(options: StartOptions): Promise<number> {
  const logger = rootLogger();
  const adminPort = adminPortOf(options.adminPort);
  const adminHost = adminHostOf(options.adminHost);
  const documents = readConfigDocuments(options.topology);
  const config = configFromDocuments(documents);
  const shard = options.shard ?? (options.registry ? DEFAULT_SHARD : undefined);
  const namespaces = selectNamespaces(config, options.namespace).filter((ns) => shard === undefined || (ns.shard ?? DEFAULT_SHARD) === shard);
  if (namespaces.length === 0 && !options.registry) {
    throw new ConfigError([`${config.sourceFiles.join(', ')} defines no namespace${shard === undefined ? '' : ` of shard "${shard}"`} (give --registry to run the registry's)`]);
  }
  const instanceId = options.instanceId ?? process.env.WAL_INSTANCE_ID ?? os.hostname();
  const stateDir = options.stateDir ?? process.env.WAL_STATE_DIR ?? DEFAULT_STATE_DIR;
  const timeoutMs = options.shutdownTimeout !== undefined ? parseDuration(options.shutdownTimeout) : 30000;
  if (timeoutMs === undefined || timeoutMs <= 0) throw new ConfigError([`--shutdown-timeout "${options.shutdownTimeout}": expected a duration like 30s`]);
  const settings = parseSettings(options.set);
  const sessionTimeoutMs = options.sessionTimeout !== undefined ? parseDuration(options.sessionTimeout) : undefined;
  if (options.sessionTimeout !== undefined && (sessionTimeoutMs === undefined || sessionTimeoutMs < 6000)) {
    throw new ConfigError([`--session-timeout "${options.sessionTimeout}": expected a duration of at least 6s (the broker's group.min.session.timeout.ms)`]);
  }
  // kafkajs heartbeats every heartbeatInterval; a third of the session keeps the usual ratio.
  const dlqDepthIntervalMs = options.dlqDepthInterval !== undefined ? parseDuration(options.dlqDepthInterval) : DEFAULT_DLQ_DEPTH_INTERVAL_MS;
  if (dlqDepthIntervalMs === undefined || dlqDepthIntervalMs < 0) throw new ConfigError([`--dlq-depth-interval "${options.dlqDepthInterval}": expected a duration like 15s (0 turns the gauge off)`]);
  const tuning = sessionTimeoutMs === undefined ? undefined : { sessionTimeoutMs, heartbeatIntervalMs: Math.floor(sessionTimeoutMs / 3) };

  const clients = new Map<string, Kafka>();
  const clientFor = (alias: string): Kafka => {
    let kafka = clients.get(alias);
    if (!kafka) clients.set(alias, (kafka = createKafkaClient(config.clusters[alias], `wal-${instanceId}`)));
    return kafka;
  };
  const provision = async (ns: NamespaceConfig): Promise<void> => {
    if (ns.queue?.type === 'sqs') logger.info({ namespace: ns.name, queues: await ensureSqsQueues(ns) }, 'SQS queues ready');
    const admin = clientFor(ns.cluster).admin();
    await admin.connect();
    try {
      const result = await applyTopics(admin, planTopics(ns));
      if (result.created.length > 0) logger.info({ namespace: ns.name, created: result.created }, 'created namespace topics');
      for (const drift of result.drift) logger.warn({ namespace: ns.name, topic: drift.topic }, drift.message);
    } finally {
      await admin.disconnect();
    }
  };
  if (options.createTopics) {
    for (const ns of namespaces) await provision(ns);
  }
  const stateIntervalMs = options.stateInterval !== undefined ? parseDuration(options.stateInterval) : DEFAULT_STATE_FOLLOW_INTERVAL_MS;
  if (stateIntervalMs === undefined || stateIntervalMs < 50) throw new ConfigError([`--state-interval "${options.stateInterval}": expected a duration of at least 50ms`]);
  const runnerOf = (ns: NamespaceConfig, resolved: WalConfig): InstanceRunner =>
    runnerFor(ns, { config: resolved, kafka: clientFor, stateDir, instanceId, tuning, logger, persona: options.processor, settings });
  const runners: InstanceRunner[] = namespaces.map((ns) => runnerOf(ns, config));
  // `wal namespace pause|resume`: read before any runner starts, then followed every stateIntervalMs.
  const follower = new NamespaceStateFollower({
    namespaces: namespaces.map((ns, i) => ({ namespace: ns.name, cluster: ns.cluster, runner: runners[i] })),
    kafka: clientFor,
    intervalMs: stateIntervalMs,
    logger: logger.child({ component: 'namespace-state' }),
  });
  const instance = new WalInstance(instanceId, stateDir, runners, logger.child({ instance: instanceId }), follower);
  let admin: AdminServer | undefined;
  let registry: NamespaceRegistry | undefined;
  let watcher: RegistryWatcher | undefined;
  // Only /metrics shows the gauge: without an admin port there is no one to compute it for.
  const dlqDepth =
    dlqDepthIntervalMs > 0 && adminPort !== undefined
      ? new DlqDepthPoller({ namespaces: namespaces.filter((ns) => ns.queue?.type !== 'sqs').map((ns) => ({ namespace: ns, kafka: clientFor(ns.cluster) })), intervalMs: dlqDepthIntervalMs, logger: logger.child({ component: 'dlq-depth' }) })
      : undefined;

  let signalled: (signal: NodeJS.Signals) => void = () => undefined;
  const signal = new Promise<NodeJS.Signals>((resolve) => (signalled = resolve));
  let forced: (code: number) => void = () => undefined;
  const force = new Promise<number>((resolve) => (forced = resolve));
  let received = 0;
  const onSignal = (name: NodeJS.Signals) => {
    received += 1;
    if (received === 1) signalled(name);
    else {
      logger.warn({ signal: name }, 'second signal: exiting without waiting for the shutdown to finish');
      forced(1);
    }
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  try {
    if (adminPort !== undefined) {
      // Up before the runners start, so /ready can answer 503 while they join and restore.
      admin = await startAdminServer({ port: adminPort, host: adminHost, sources: () => instance.runners, logger });
      logger.info({ url: admin.url }, 'admin endpoint: /metrics, /health, /ready');
    }
    await instance.start();
    if (options.registry) {
      const alias = registryAlias(config, typeof options.registry === 'string' ? options.registry : undefined);
      registry = await NamespaceRegistry.open(clientFor(alias), { topic: options.registryTopic ?? DEFAULT_REGISTRY_TOPIC, cluster: alias });
      watcher = new RegistryWatcher({
        registry,
        clusters: clusterDocuments(documents),
        instance,
        shard,
        fromFiles: new Set(namespaces.map((n) => n.name)),
        // A namespace applied to the registry is provisioned by the instances that run it.
        provision,
        runnerFor: runnerOf,
        // …and follows `wal namespace pause|resume` like the others, its state applied before it starts.
        follow: (ns, runner) => follower.add({ namespace: ns.name, cluster: ns.cluster, runner }),
        unfollow: (ns) => follower.remove(ns),
        logger: logger.child({ component: 'registry', registry: registry.topic }),
      });
      await watcher.start();
    }
    logger.info(
      { instanceId, stateDir, shard, namespaces: namespaces.map((n) => n.name), registry: watcher?.runningVersions() },
      'wal started; SIGTERM or SIGINT stops it gracefully',
    );
    dlqDepth?.start();
    logger.info({ instanceId, stateDir, namespaces: namespaces.map((n) => n.name) }, 'wal started; SIGTERM or SIGINT stops it gracefully');
    const name = await signal;
    watcher?.stop();
    logger.info({ signal: name, timeoutMs }, 'shutting down: stop fetching, drain, commit, close stores');
    return await Promise.race([
      instance.stop(timeoutMs).then(
        () => 0,
        (error: unknown) => {
          logger.error({ err: error }, 'shutdown did not complete; uncommitted work is replayed on the next start');
          return 1;
        },
      ),
      force,
    ]);
  } catch (error) {
    watcher?.stop();
    await instance.stop(timeoutMs).catch(() => undefined);
    throw error;
  } finally {
    await registry?.close().catch(() => undefined);
    await admin?.close().catch(() => undefined);
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
  }
}

export function registerStart(program: Command): void {
  program
    .command('start')
    .description('run the stream processors of the configured namespaces (one consumer group wal.<ns> per namespace)')
    .requiredOption('--topology <files...>', 'topology files (YAML or JSON) or directories of them; with --registry they may define only clusters')
    .option('--namespace <names...>', 'only these namespaces (default: all in the files)')
    .option('--instance-id <id>', 'name of this instance in logs and `wal status` (default: $WAL_INSTANCE_ID or the host name)')
    .option('--state-dir <dir>', `local state stores and checkpoints (default: $WAL_STATE_DIR or ./${DEFAULT_STATE_DIR})`)
    .option('--processor <name>', `run this stream persona for every selected namespace (${STREAM_PERSONAS.join(', ')})`)
    .option('--set <key=value...>', 'topology options (passthrough: output=<topic>)')
    .option('--create-topics', 'create missing namespace topics before starting')
    .option('--shutdown-timeout <duration>', 'bound on the graceful shutdown', '30s')
    .option('--session-timeout <duration>', 'how long the group waits for a silent instance before moving its partitions (kafkajs default 30s)')
    .option('--admin-port <port>', 'serve /metrics, /health and /ready on this port (default: $WAL_ADMIN_PORT, else none)')
    .option('--registry [alias]', 'also run the namespaces of the registry on this cluster (default: $WAL_REGISTRY_CLUSTER, else the only cluster), following it live')
    .option('--registry-topic <topic>', 'registry topic', DEFAULT_REGISTRY_TOPIC)
    .option('--shard <name>', `run only the namespaces of this shard (default: all in the files; "${DEFAULT_SHARD}" with --registry)`)
    .option('--state-interval <duration>', 'how often to re-read the namespace state topic (wal namespace pause|resume)', '2s')
    .option('--dlq-depth-interval <duration>', 'how often wal_dlq_depth_records is computed for the namespaces with a DLQ, while --admin-port serves /metrics (0 = never)', '15s')
    .option('--admin-host <host>', `address the admin port binds (default: $WAL_ADMIN_HOST, else ${DEFAULT_ADMIN_HOST}; 127.0.0.1 keeps it local)`)
    .action(async (options: StartOptions) => {
      const code = await runStart(options);
      // kafkajs may leave sockets half-closed for a while; the work is done, so leave now.
      process.exit(code);
    });
}
