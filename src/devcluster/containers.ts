import fs from 'node:fs';
import { MissingToolError } from './errors';
import { freePort } from './ports';
import { ClusterEndpoints } from './types';

/**
 * True when a Docker engine answers on its socket (DOCKER_HOST or /var/run/docker.sock). A client
 * binary alone (as on these build machines) is not enough.
 */
export async function dockerEngineAnswers(): Promise<boolean> {
  const host = process.env.DOCKER_HOST;
  if (host && !host.startsWith('unix://')) return true; // remote engines: let testcontainers decide
  const socket = host ? host.slice('unix://'.length) : '/var/run/docker.sock';
  if (!fs.existsSync(socket)) return false;
  const http = await import('node:http');
  return new Promise((resolve) => {
    const request = http.request({ socketPath: socket, path: '/_ping', timeout: 2000 }, (response) => {
      response.resume();
      resolve(response.statusCode === 200);
    });
    request.on('timeout', () => {
      request.destroy();
      resolve(false);
    });
    request.on('error', () => resolve(false));
    request.end();
  });
}

/**
 * testcontainers is a dev dependency: a repo checkout has it, an installed wal package and the Docker
 * image do not. So it is resolved here, only when the Docker path is taken, never at module load.
 */
export function testcontainersInstalled(): boolean {
  try {
    require.resolve('testcontainers');
    return true;
  } catch {
    return false;
  }
}

export function requireTestcontainers(): void {
  if (!testcontainersInstalled()) {
    throw new MissingToolError(
      'the Docker path needs testcontainers, a dev dependency of wal that is not installed here: install testcontainers (`npm install --no-save testcontainers`) to use the Docker path, or use the JVM path (WAL_DEV_MODE=jvm)',
    );
  }
}

/**
 * Kafka (official apache/kafka image, KRaft combined mode) and Apicurio Registry as containers.
 * The broker advertises the host port it is published on, so clients outside Docker can reach it.
 */
export async function startContainerCluster(
  name: string,
  kafkaVersion: string,
  registryVersion: string,
): Promise<{ endpoints: ClusterEndpoints; stop: () => Promise<void> }> {
  requireTestcontainers();
  const { GenericContainer, Wait } = await import('testcontainers');
  const hostPort = await freePort();
  const kafka = await new GenericContainer(`apache/kafka:${kafkaVersion}`)
    .withExposedPorts({ container: 9092, host: hostPort })
    .withEnvironment({
      KAFKA_NODE_ID: '1',
      KAFKA_PROCESS_ROLES: 'broker,controller',
      KAFKA_LISTENERS: 'PLAINTEXT://:9092,CONTROLLER://:9093',
      KAFKA_ADVERTISED_LISTENERS: `PLAINTEXT://127.0.0.1:${hostPort}`,
      KAFKA_CONTROLLER_LISTENER_NAMES: 'CONTROLLER',
      KAFKA_LISTENER_SECURITY_PROTOCOL_MAP: 'CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
      KAFKA_CONTROLLER_QUORUM_VOTERS: '1@localhost:9093',
      KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR: '1',
      KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR: '1',
      KAFKA_TRANSACTION_STATE_LOG_MIN_ISR: '1',
      KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS: '0',
      KAFKA_AUTO_CREATE_TOPICS_ENABLE: 'false',
    })
    .withWaitStrategy(Wait.forLogMessage(/Kafka Server started/))
    .withStartupTimeout(120000)
    .start();
  const registry = await new GenericContainer(`apicurio/apicurio-registry:${registryVersion}`)
    .withExposedPorts(8080)
    .withWaitStrategy(Wait.forHttp('/apis/ccompat/v7/subjects', 8080))
    .withStartupTimeout(120000)
    .start();
  return {
    endpoints: {
      name,
      brokers: [`127.0.0.1:${hostPort}`],
      registryUrl: `http://${registry.getHost()}:${registry.getMappedPort(8080)}/apis/ccompat/v7`,
      source: 'testcontainers',
      kafkaVersion,
      registryVersion: `Apicurio Registry ${registryVersion}`,
    },
    stop: async () => {
      await Promise.allSettled([kafka.stop(), registry.stop()]);
    },
  };
}
