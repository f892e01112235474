import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { ProcessStartError, ReadinessTimeoutError } from './errors';
import { kafkaClasspath, registryJar } from './maven';
import { freePort, portAnswers } from './ports';
import { ManagedProcess, runSync, sleep, spawnManaged, stopProcessGroup, tailFile } from './process';
import { ClusterEndpoints } from './types';

/** What the JVM path records about a cluster it started, so `wal dev down` can stop it later. */
export interface JvmClusterRecord extends ClusterEndpoints {
  readonly brokerPid: number;
  readonly registryPid: number;
  readonly dir: string;
}

export interface JvmClusterOptions {
  name: string;
  dir: string;
  kafkaVersion: string;
  registryVersion: string;
  detach: boolean;
  onProgress: (message: string) => void;
  /** Fixed ports (e.g. for `wal dev up`); free ones are picked when absent. */
  brokerPort?: number;
  registryPort?: number;
}

const BROKER_READY_TIMEOUT_MS = Number(process.env.WAL_BROKER_READY_TIMEOUT_MS ?? 90000);
const REGISTRY_READY_TIMEOUT_MS = Number(process.env.WAL_REGISTRY_READY_TIMEOUT_MS ?? 120000);

/**
 * One single-node KRaft broker (combined broker + controller) and one Apicurio Registry, both from
 * Maven Central jars, on loopback ports. Storage is formatted on first start and reused afterwards.
 */
export async function startJvmCluster(options: JvmClusterOptions): Promise<{ record: JvmClusterRecord; processes: ManagedProcess[] }> {
  const [classpath, jar] = await Promise.all([
    kafkaClasspath(options.kafkaVersion, options.onProgress),
    registryJar(options.registryVersion, options.onProgress),
  ]);
  fs.mkdirSync(options.dir, { recursive: true });

  const brokerPort = options.brokerPort ?? (await freePort());
  const controllerPort = await freePort();
  const registryPort = options.registryPort ?? (await freePort());
  for (const [what, port] of [
    ['broker', brokerPort],
    ['registry', registryPort],
  ] as const) {
    if (await portAnswers(port)) {
      throw new ProcessStartError(`cluster ${options.name}: ${what} port ${port} is already in use on 127.0.0.1`);
    }
  }

  const broker = startBroker(options, classpath, brokerPort, controllerPort);
  const registry = spawnManaged({
    command: 'java',
    args: [
      '-Xmx384m',
      `-Dquarkus.http.port=${registryPort}`,
      '-Dquarkus.http.host=127.0.0.1',
      '-Dquarkus.log.level=WARN',
      // Schema ids stay small and predictable; deletes allowed so tests can clean up subjects.
      '-Dapicurio.rest.deletion.artifact.enabled=true',
      '-Dapicurio.rest.deletion.artifact-version.enabled=true',
      '-jar',
      jar,
    ],
    cwd: options.dir,
    logFile: path.join(options.dir, 'registry.log'),
    detach: options.detach,
  });

  const brokers = [`127.0.0.1:${brokerPort}`];
  const registryUrl = `http://127.0.0.1:${registryPort}/apis/ccompat/v7`;
  try {
    await Promise.all([
      waitForBroker(options.name, brokers, broker),
      waitForRegistry(options.name, registryUrl, registry),
    ]);
  } catch (error) {
    await Promise.all([broker, registry].map((p) => stopProcessGroup(p.pid, 5000)));
    throw error;
  }
  return {
    record: {
      name: options.name,
      brokers,
      registryUrl,
      source: 'jvm',
      kafkaVersion: options.kafkaVersion,
      registryVersion: `Apicurio Registry ${options.registryVersion}`,
      brokerPid: broker.pid,
      registryPid: registry.pid,
      dir: options.dir,
    },
    processes: [broker, registry],
  };
}

/**
 * A SASL_SSL listener beside the PLAINTEXT one (which stays the inter-broker listener, on loopback), taking
 * SCRAM-SHA-512, SCRAM-SHA-256 and PLAIN: the SCRAM credentials of `users` are created when the storage is
 * formatted, PLAIN checks them against the listener's JAAS entry; the certificate comes from a PEM file.
 */
export interface SaslSslListener {
  readonly port: number;
  /** PEM file holding the broker's unencrypted PKCS#8 private key followed by its certificate chain. */
  readonly keystorePemFile: string;
  /** Names and passwords of letters, digits, '-' and '_' (they go into a JAAS entry and a format argument unquoted). */
  readonly users: readonly { readonly name: string; readonly password: string }[];
}

const SCRAM_MECHANISMS = ['SCRAM-SHA-512', 'SCRAM-SHA-256'];

/** An SSL listener that requires a client certificate signed by a CA of `truststorePemFile` (mutual TLS). */
export interface MutualTlsListener {
  readonly port: number;
  readonly keystorePemFile: string;
  readonly truststorePemFile: string;
}

export interface JvmBrokerOptions extends Pick<JvmClusterOptions, 'name' | 'dir' | 'kafkaVersion' | 'detach' | 'onProgress'> {
  readonly saslSsl?: Omit<SaslSslListener, 'port'>;
  readonly mutualTls?: Omit<MutualTlsListener, 'port'>;
}

export interface JvmBroker {
  /** The PLAINTEXT listener. */
  readonly brokers: string[];
  /** The SASL_SSL listener, when asked for. */
  readonly saslSslBrokers: string[];
  /** The mutual-TLS listener, when asked for. */
  readonly mutualTlsBrokers: string[];
  readonly process: ManagedProcess;
}

/** One KRaft broker without a registry (e.g. a secured broker beside the shared test clusters). */
export async function startJvmBroker(options: JvmBrokerOptions): Promise<JvmBroker> {
  const classpath = await kafkaClasspath(options.kafkaVersion, options.onProgress);
  fs.mkdirSync(options.dir, { recursive: true });
  const [brokerPort, controllerPort, saslSslPort, mutualTlsPort] = [await freePort(), await freePort(), await freePort(), await freePort()];
  const saslSsl = options.saslSsl && { ...options.saslSsl, port: saslSslPort };
  const mutualTls = options.mutualTls && { ...options.mutualTls, port: mutualTlsPort };
  const broker = startBroker(options, classpath, brokerPort, controllerPort, { saslSsl, mutualTls });
  const brokers = [`127.0.0.1:${brokerPort}`];
  try {
    await waitForBroker(options.name, brokers, broker);
  } catch (error) {
    await stopProcessGroup(broker.pid, 5000);
    throw error;
  }
  return {
    brokers,
    saslSslBrokers: saslSsl ? [`127.0.0.1:${saslSslPort}`] : [],
    mutualTlsBrokers: mutualTls ? [`127.0.0.1:${mutualTlsPort}`] : [],
    process: broker,
  };
}

/** Listeners beside PLAINTEXT and CONTROLLER: `listeners` entries, protocol map entries and their properties. */
function securedListeners(secured: { saslSsl?: SaslSslListener; mutualTls?: MutualTlsListener }): { listeners: string; protocols: string; properties: Record<string, string> } {
  const { saslSsl, mutualTls } = secured;
  const entries = [...(saslSsl ? [`SASL_SSL://127.0.0.1:${saslSsl.port}`] : []), ...(mutualTls ? [`SSL://127.0.0.1:${mutualTls.port}`] : [])];
  const protocols = [...(saslSsl ? ['SASL_SSL:SASL_SSL'] : []), ...(mutualTls ? ['SSL:SSL'] : [])];
  return {
    listeners: entries.map((e) => `,${e}`).join(''),
    protocols: protocols.map((p) => `,${p}`).join(''),
    properties: {
      ...saslSslProperties(saslSsl),
      ...(mutualTls
        ? {
            'listener.name.ssl.ssl.keystore.type': 'PEM',
            'listener.name.ssl.ssl.keystore.location': mutualTls.keystorePemFile,
            'listener.name.ssl.ssl.truststore.type': 'PEM',
            'listener.name.ssl.ssl.truststore.location': mutualTls.truststorePemFile,
            'listener.name.ssl.ssl.client.auth': 'required',
          }
        : {}),
    },
  };
}

function saslSslProperties(listener: SaslSslListener | undefined): Record<string, string> {
  if (!listener) return {};
  const scramLogin = 'org.apache.kafka.common.security.scram.ScramLoginModule required;';
  const plainUsers = listener.users.map((u) => ` user_${u.name}="${u.password}"`).join('');
  return {
    'sasl.enabled.mechanisms': [...SCRAM_MECHANISMS, 'PLAIN'].join(','),
    ...Object.fromEntries(SCRAM_MECHANISMS.map((m) => [`listener.name.sasl_ssl.${m.toLowerCase()}.sasl.jaas.config`, scramLogin])),
    'listener.name.sasl_ssl.plain.sasl.jaas.config': `org.apache.kafka.common.security.plain.PlainLoginModule required${plainUsers};`,
    'listener.name.sasl_ssl.ssl.keystore.type': 'PEM',
    'listener.name.sasl_ssl.ssl.keystore.location': listener.keystorePemFile,
  };
}

function startBroker(
  options: Pick<JvmClusterOptions, 'name' | 'dir' | 'detach'>,
  classpath: string,
  brokerPort: number,
  controllerPort: number,
  secured: { saslSsl?: SaslSslListener; mutualTls?: MutualTlsListener } = {},
): ManagedProcess {
  const dataDir = path.join(options.dir, 'kafka-data');
  const configFile = path.join(options.dir, 'server.properties');
  const { saslSsl } = secured;
  const extra = securedListeners(secured);
  const properties = {
    'process.roles': 'broker,controller',
    'node.id': '1',
    'controller.quorum.voters': `1@127.0.0.1:${controllerPort}`,
    listeners: `PLAINTEXT://127.0.0.1:${brokerPort},CONTROLLER://127.0.0.1:${controllerPort}${extra.listeners}`,
    'advertised.listeners': `PLAINTEXT://127.0.0.1:${brokerPort}${extra.listeners}`,
    'controller.listener.names': 'CONTROLLER',
    'listener.security.protocol.map': `PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT${extra.protocols}`,
    'inter.broker.listener.name': 'PLAINTEXT',
    ...extra.properties,
    'log.dirs': dataDir,
    'num.partitions': '1',
    'offsets.topic.replication.factor': '1',
    'offsets.topic.num.partitions': '10',
    'transaction.state.log.replication.factor': '1',
    'transaction.state.log.min.isr': '1',
    'transaction.state.log.num.partitions': '10',
    'share.coordinator.state.topic.replication.factor': '1',
    'share.coordinator.state.topic.min.isr': '1',
    // A single-node dev cluster has nobody to wait for; tests rebalance often.
    'group.initial.rebalance.delay.ms': '0',
    'auto.create.topics.enable': 'false',
    'log.cleaner.backoff.ms': '1000',
  };
  fs.writeFileSync(configFile, Object.entries(properties).map(([k, v]) => `${k}=${v}`).join('\n') + '\n');
  fs.writeFileSync(path.join(options.dir, 'log4j2.yaml'), LOG4J_CONFIG);

  // Formatting is idempotent in spirit: only the first start of a data dir needs it.
  if (!fs.existsSync(path.join(dataDir, 'meta.properties'))) {
    // Kafka's cluster id is 16 random bytes, base64url without padding (what `random-uuid` prints); like
    // Kafka's Uuid.randomUuid, never one starting with "-", which the tool's argument parser takes for an option.
    let clusterId = randomBytes(16).toString('base64url');
    while (clusterId.startsWith('-')) clusterId = randomBytes(16).toString('base64url');
    const scram = (saslSsl?.users ?? []).flatMap((u) => SCRAM_MECHANISMS.flatMap((m) => ['--add-scram', `${m}=[name=${u.name},password=${u.password}]`]));
    const format = runSync('java', ['-cp', classpath, 'kafka.tools.StorageTool', 'format', '-t', clusterId, '-c', configFile, ...scram]);
    if (format.code !== 0) {
      throw new ProcessStartError(`cluster ${options.name}: formatting KRaft storage failed:\n${format.output}`);
    }
  }
  return spawnManaged({
    command: 'java',
    args: [
      '-Xms256m',
      '-Xmx768m',
      '-XX:+UseG1GC',
      '-Djava.awt.headless=true',
      `-Dlog4j2.configurationFile=${path.join(options.dir, 'log4j2.yaml')}`,
      '-cp',
      classpath,
      'kafka.Kafka',
      configFile,
    ],
    cwd: options.dir,
    logFile: path.join(options.dir, 'broker.log'),
    detach: options.detach,
  });
}

const LOG4J_CONFIG = `Configuration:
  Appenders:
    Console:
      name: STDOUT
      PatternLayout:
        pattern: "[%d] %p %m (%c)%n"
  Loggers:
    Root:
      level: WARN
      AppenderRef:
        - ref: STDOUT
    Logger:
      - name: kafka.server.KafkaRaftServer
        level: INFO
`;

/** Ready means a metadata request answers with a broker, not merely that the port is open. */
async function waitForBroker(name: string, brokers: string[], broker: ManagedProcess): Promise<void> {
  const deadline = Date.now() + BROKER_READY_TIMEOUT_MS;
  const kafka = new Kafka({ brokers, clientId: 'wal-devcluster', logLevel: logLevel.NOTHING, retry: { retries: 0 }, connectionTimeout: 1000 });
  while (Date.now() < deadline) {
    if (broker.hasExited()) {
      throw new ProcessStartError(`cluster ${name}: the Kafka broker exited during start-up; last lines of ${broker.logFile}:\n${tailFile(broker.logFile)}`);
    }
    const admin = kafka.admin();
    try {
      await admin.connect();
      const cluster = await admin.describeCluster();
      if (cluster.brokers.length > 0 && cluster.controller !== null) return;
    } catch {
      /* not up yet */
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
    await sleep(500);
  }
  throw new ReadinessTimeoutError(
    `cluster ${name}: the Kafka broker at ${brokers.join(',')} did not answer a metadata request within ${BROKER_READY_TIMEOUT_MS} ms; see ${broker.logFile}`,
  );
}

/** Ready means the Confluent-compatible API lists subjects. */
async function waitForRegistry(name: string, registryUrl: string, registry: ManagedProcess): Promise<void> {
  const deadline = Date.now() + REGISTRY_READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (registry.hasExited()) {
      throw new ProcessStartError(`cluster ${name}: the schema registry exited during start-up; last lines of ${registry.logFile}:\n${tailFile(registry.logFile)}`);
    }
    try {
      const response = await fetch(`${registryUrl}/subjects`, { signal: AbortSignal.timeout(2000) });
      if (response.ok) return;
    } catch {
      /* not up yet */
    }
    await sleep(500);
  }
  throw new ReadinessTimeoutError(`cluster ${name}: the schema registry at ${registryUrl} did not answer within ${REGISTRY_READY_TIMEOUT_MS} ms; see ${registry.logFile}`);
}
