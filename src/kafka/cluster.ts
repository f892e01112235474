/** Where and how to reach one Kafka cluster; the namespace config names clusters by alias. */
export interface ClusterConfig {
  readonly name: string;
  readonly brokers: string[];
  /** Confluent-compatible registry base URL (e.g. http://host:port/apis/ccompat/v7), without credentials. */
  readonly schemaRegistryUrl: string;
  /** How to authenticate to the registry and which CA to trust for it (HTTPS); absent = anonymous, system CAs. */
  readonly schemaRegistry?: RegistryAccess;
  readonly clientId?: string;
  /** TLS to the brokers; absent = plaintext. */
  readonly ssl?: ClusterTls;
  /** SASL authentication to the brokers; absent = none. */
  readonly sasl?: ClusterSasl;
}

/** PEM text (already read from files or the environment by the config loader). */
export interface ClusterTls {
  /** CA certificate(s) to trust instead of the system's. */
  readonly ca?: string;
  /** Client certificate and key, for brokers that ask for one (mutual TLS). */
  readonly cert?: string;
  readonly key?: string;
  readonly passphrase?: string;
  /** false accepts any broker certificate: for tests only. */
  readonly rejectUnauthorized: boolean;
}

export type SaslMechanism = 'plain' | 'scram-sha-256' | 'scram-sha-512';

export interface ClusterSasl {
  readonly mechanism: SaslMechanism;
  readonly username: string;
  readonly password: string;
}

export interface RegistryAccess {
  readonly basicAuth?: { readonly username: string; readonly password: string };
  /** PEM CA certificate(s) to trust for an https:// registry. */
  readonly ca?: string;
}

/** How a cluster's connection is secured, in words for messages: "SASL_SSL (SCRAM-SHA-512 as 'wal')". Holds no secret. */
export function describeSecurity(cluster: Pick<ClusterConfig, 'ssl' | 'sasl'>): string {
  const protocol = `${cluster.sasl ? 'SASL_' : ''}${cluster.ssl ? 'SSL' : 'PLAINTEXT'}`;
  return cluster.sasl ? `${protocol} (${cluster.sasl.mechanism.toUpperCase()} as '${cluster.sasl.username}')` : protocol;
}
