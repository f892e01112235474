import { connect as tlsConnect } from 'node:tls';
import type { ClusterConfig } from './cluster';

/** A topic could not be created or inspected. Retriable when the broker said a retry may help. */
export class TopicProvisioningError extends Error {
  readonly retriable: boolean;
  readonly topics: string[];

  constructor(message: string, topics: string[], retriable: boolean, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TopicProvisioningError';
    this.topics = topics;
    this.retriable = retriable;
  }
}

/**
 * A cluster refused the connection as configured (credentials, TLS). Not retriable: the same settings fail
 * the same way until someone changes them or the listener.
 */
export abstract class ClusterAccessError extends Error {
  readonly retriable = false;

  constructor(
    message: string,
    readonly cluster: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The cluster refused wal's credentials. */
export class ClusterAuthenticationError extends ClusterAccessError {}

/** No TLS session with the cluster: an untrusted certificate, or one side speaking TLS and the other not. */
export class ClusterTlsError extends ClusterAccessError {}

interface ErrorLike {
  readonly name?: string;
  readonly message?: string;
  readonly cause?: unknown;
  readonly originalError?: unknown;
}

/** An error and its causes (kafkajs keeps them in `originalError`, Node in `cause`). */
function chainOf(error: unknown): ErrorLike[] {
  const chain: ErrorLike[] = [];
  let current = error as ErrorLike | undefined;
  while (current && typeof current === 'object' && !chain.includes(current) && chain.length < 10) {
    chain.push(current);
    current = (current.originalError ?? current.cause) as ErrorLike | undefined;
  }
  return chain;
}

const CLIENT_CERTIFICATE_REFUSED = /alert certificate required|alert bad certificate|alert unknown ca|CERTIFICATE_REQUIRED/i;
const UNTRUSTED_CERTIFICATE = /certificate|self[- ]signed|unable to verify|ERR_TLS_CERT/i;
const TLS_TO_PLAINTEXT = /before secure TLS connection|wrong version number|packet length too long/i;
const DROPPED = /Connection closed|Closed connection|ECONNRESET|timed? ?out|Connection timeout/i;

/**
 * Says what a failed connect means given how the cluster is secured: a refused password, an untrusted
 * certificate, TLS spoken to a plaintext listener or the reverse. Undefined when the failure is none of
 * these (a broker down, a refused port). Messages name the cluster and never hold a secret. A plaintext
 * connection the broker dropped is told apart from a broker in trouble by one TLS handshake (bounded by
 * `probeTimeoutMs`) with the first broker.
 */
export async function explainConnectError(
  error: unknown,
  cluster: Pick<ClusterConfig, 'name' | 'brokers' | 'ssl' | 'sasl'>,
  probeTimeoutMs = 1000,
): Promise<ClusterAuthenticationError | ClusterTlsError | undefined> {
  const chain = chainOf(error);
  const messages = chain.map((e) => e.message ?? '');
  const last = messages.filter((m) => m !== '').pop() ?? String(error);
  if (chain.some((e) => e.name === 'KafkaJSSASLAuthenticationError')) {
    const sasl = cluster.sasl;
    const who = sasl ? `user '${sasl.username}' on cluster '${cluster.name}' (${sasl.mechanism.toUpperCase()})` : `cluster '${cluster.name}'`;
    return new ClusterAuthenticationError(`authentication failed for ${who}: ${last}`, cluster.name, { cause: error });
  }
  if (cluster.ssl && messages.some((m) => CLIENT_CERTIFICATE_REFUSED.test(m))) {
    const given = cluster.ssl.cert ? 'refused the client certificate of ssl.cert' : 'requires a client certificate: set ssl.cert and ssl.key';
    return new ClusterTlsError(`cluster '${cluster.name}' ${given} (${last})`, cluster.name, { cause: error });
  }
  if (cluster.ssl && messages.some((m) => UNTRUSTED_CERTIFICATE.test(m))) {
    return new ClusterTlsError(`the certificate of cluster '${cluster.name}' is not trusted (${last}): set ssl.ca to the CA that signed it`, cluster.name, {
      cause: error,
    });
  }
  if (cluster.ssl && messages.some((m) => TLS_TO_PLAINTEXT.test(m))) {
    return new ClusterTlsError(
      `no TLS session with cluster '${cluster.name}' at ${cluster.brokers.join(',')} (${last}): ssl is set, but the listener does not speak TLS`,
      cluster.name,
      { cause: error },
    );
  }
  if (!cluster.ssl && messages.some((m) => DROPPED.test(m)) && (await speaksTls(cluster.brokers[0], probeTimeoutMs))) {
    return new ClusterTlsError(
      `cluster '${cluster.name}' at ${cluster.brokers[0]} speaks TLS, but ssl is not set for it (${last}): set ssl (and sasl if the listener is SASL_SSL)`,
      cluster.name,
      { cause: error },
    );
  }
  return undefined;
}

/** True when `broker` ("host:port") completes a TLS handshake (any certificate) within `timeoutMs`. */
function speaksTls(broker: string | undefined, timeoutMs: number): Promise<boolean> {
  const match = broker ? /^(.*):(\d+)$/.exec(broker) : null;
  if (!match) return Promise.resolve(false);
  return new Promise((resolve) => {
    const socket = tlsConnect({ host: match[1], port: Number(match[2]), rejectUnauthorized: false, timeout: timeoutMs });
    const done = (answer: boolean) => {
      socket.destroy();
      resolve(answer);
    };
    socket.once('secureConnect', () => done(true));
    socket.once('error', () => done(false));
    socket.once('timeout', () => done(false));
  });
}
