import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { DEFAULT_KAFKA_VERSION, startJvmBroker, type JvmBroker } from '../../src/devcluster';
import { stopProcessGroup } from '../../src/devcluster/process';
import { kafkaSecurity } from '../../src/kafka';
import type { ClusterConfig } from '../../src/namespaces';
import { createCertificates, createClientCertificate, type TestCertificates } from './certificates';
import { testCluster } from './clusters';

/** The user the secured broker knows (SCRAM-SHA-512, SCRAM-SHA-256 and PLAIN). */
export const SECURED_USER = { name: 'wal', password: 'wal-secret-5f3a' } as const;

/**
 * A broker of its own (beside the shared clusters A and B) with a SASL_SSL listener: a CA and a broker
 * certificate generated with openssl, SCRAM users created when its storage is formatted (PLAIN users from
 * the listener's JAAS entry). The PLAINTEXT listener stays for inter-broker traffic (and for the "TLS to a
 * plaintext port" test); an SSL listener beside it requires a client certificate (mutual TLS).
 * Its registry is cluster A's (plain Apicurio).
 */
export interface SecuredBroker {
  readonly dir: string;
  readonly certs: TestCertificates;
  /** SASL_SSL listener. */
  readonly saslSsl: string[];
  /** SSL listener that requires a client certificate signed by the test CA (no SASL). */
  readonly mutualTls: string[];
  /** A client certificate and key the mutual-TLS listener accepts. */
  readonly client: { readonly certFile: string; readonly keyFile: string };
  /** PLAINTEXT listener. */
  readonly plaintext: string[];
  readonly registryUrl: string;
  readonly startupMs: number;
  /** The YAML of a `clusters.<alias>` entry for the SASL_SSL listener; `ssl`/`sasl` values can be replaced, or left out with null. */
  clusterYaml(alias: string, overrides?: { brokers?: string[]; ssl?: string | null; sasl?: string | null }): string;
  stop(): Promise<void>;
}

export async function startSecuredBroker(): Promise<SecuredBroker> {
  const started = Date.now();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wal-secured-'));
  const certs = createCertificates(dir, 'broker');
  const keystorePemFile = path.join(dir, 'broker-keystore.pem');
  fs.writeFileSync(keystorePemFile, certs.key + certs.cert);
  const client = createClientCertificate(dir, 'broker', 'wal-client');
  let broker: JvmBroker;
  try {
    broker = await startJvmBroker({
      name: 'S',
      dir: path.join(dir, 'kafka'),
      kafkaVersion: process.env.WAL_KAFKA_VERSION ?? DEFAULT_KAFKA_VERSION,
      detach: false,
      onProgress: () => undefined,
      saslSsl: { keystorePemFile, users: [SECURED_USER] },
      mutualTls: { keystorePemFile, truststorePemFile: certs.caFile },
    });
  } catch (error) {
    fs.rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  const registryUrl = testCluster('A').registryUrl;
  return {
    dir,
    certs,
    saslSsl: broker.saslSslBrokers,
    mutualTls: broker.mutualTlsBrokers,
    client: { certFile: client.certFile, keyFile: client.keyFile },
    plaintext: broker.brokers,
    registryUrl,
    startupMs: Date.now() - started,
    clusterYaml: (alias, overrides = {}) =>
      [
        `  ${alias}:`,
        `    brokers: ${(overrides.brokers ?? broker.saslSslBrokers).join(',')}`,
        `    schemaRegistryUrl: ${registryUrl}`,
        overrides.ssl === null ? '' : `    ssl: ${overrides.ssl ?? `{ ca: "file:${certs.caFile}" }`}`,
        overrides.sasl === null ? '' : `    sasl: ${overrides.sasl ?? '{ mechanism: scram-sha-512, username: wal, password: "${WAL_KAFKA_PASSWORD}" }'}`,
      ]
        .filter(Boolean)
        .join('\n'),
    stop: async () => {
      await stopProcessGroup(broker.process.pid, 15_000);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The environment the secured cluster entries read their password from. */
export const SECURED_ENV = { WAL_KAFKA_PASSWORD: SECURED_USER.password };

/** A quiet kafkajs client for a configured (secured) cluster, for reading and checking in tests. */
export function quietKafka(cluster: ClusterConfig, clientId: string): Kafka {
  return new Kafka({ clientId, brokers: cluster.brokers, logLevel: logLevel.NOTHING, ...kafkaSecurity(cluster) });
}
