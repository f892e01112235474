import type { RawCluster, RawNamespace } from './schema';
import { fieldPath, type Path } from './issues';
import { resolveReplicas, type ReplicaInput } from './replicas';
import { readSecret, resolveClusterSecurity, resolveTargetTls } from './security';
import type { ClusterConfig, NamespaceConfig, NamespaceTopics, ReplicationConfig, TargetConfig, WalConfig } from './types';

/**
 * Second stage of loading: after every file passed the schema and the files were merged, apply the defaults
 * that depend on other fields (topic names, target clusters) and check what one field alone cannot tell.
 */

export interface Sourced<T> {
  readonly file: string;
  readonly value: T;
}

export interface Resolution {
  readonly config: WalConfig;
  readonly issues: string[];
}

export function resolveConfig(
  clusters: Map<string, Sourced<RawCluster>>,
  namespaces: Sourced<RawNamespace>[],
  sourceFiles: string[],
  brokenClusters: ReadonlySet<string> = new Set(),
): Resolution {
  const issues: string[] = [];
  const resolvedClusters: Record<string, ClusterConfig> = {};
  for (const [alias, { file, value }] of clusters) {
    if (value.name !== undefined && value.name !== alias) {
      issues.push(`${file}: cluster "${alias}": name must equal the alias "${alias}" (got "${value.name}")`);
    }
    const security = resolveClusterSecurity(value, file, (path, problem) => issues.push(`${file}: cluster "${alias}": ${fieldPath(path)} ${problem}`));
    resolvedClusters[alias] = {
      name: alias,
      brokers: value.brokers,
      ...security,
      ...(value.clientId !== undefined ? { clientId: value.clientId } : {}),
    };
  }

  const seen = new Map<string, string>();
  const checked: ReplicaInput[] = [];
  for (const { file, value: raw } of namespaces) {
    const report = (path: Path, problem: string) =>
      issues.push(`${file}: namespace "${raw.name}": ${fieldPath(path)} ${problem}`);
    const earlier = seen.get(raw.name);
    if (earlier !== undefined) {
      issues.push(`${file}: namespace "${raw.name}" is defined more than once (also in ${earlier})`);
      continue;
    }
    seen.set(raw.name, file);

    const ns = resolveNamespace(raw, file, report);
    checkNamespace(ns, raw, clusters, brokenClusters, report);
    checked.push({ ns, intakeAsWritten: raw.topics.intake, report });
  }
  // A replica's intake is known once every namespace is (its origin and the mirror may come later).
  const resolved = resolveReplicas(checked, resolvedClusters);
  const owners = new Map<string, string>(); // "<cluster>/<topic>" → namespace that owns it
  resolved.forEach((ns, i) => {
    for (const [path, topic] of ownedTopics(ns)) {
      const key = `${ns.cluster}/${topic}`;
      const owner = owners.get(key);
      if (owner !== undefined) checked[i].report(path, `topic "${topic}" is already used by ${owner} on cluster "${ns.cluster}"`);
      else owners.set(key, `namespace "${ns.name}" (${fieldPath(path)})`);
    }
  });
  return { config: { clusters: resolvedClusters, namespaces: resolved, sourceFiles }, issues };
}

function resolveNamespace(raw: RawNamespace, file: string, report: (path: Path, problem: string) => void): NamespaceConfig {
  const prefix = `wal.${raw.name}`;
  const targets: Record<string, TargetConfig> = {};
  for (const [name, target] of Object.entries(raw.targets)) {
    if (target.type === 'kafka') {
      targets[name] = { type: 'kafka', topic: target.topic, cluster: target.cluster ?? raw.cluster, partitions: target.partitions ?? raw.partitions };
    } else if (target.type === 'redis') {
      targets[name] = { type: 'redis', url: target.url, keyPrefix: target.keyPrefix, ...(target.ttlSeconds !== undefined ? { ttlSeconds: target.ttlSeconds } : {}) };
    } else if (target.type === 'memcached') {
      const { sasl, ...rest } = target;
      const password = sasl && readSecret(sasl.password, file, ['targets', name, 'sasl', 'password'], report);
      targets[name] = { ...rest, ...(sasl ? { sasl: { username: sasl.username, password: password ?? '' } } : {}) };
    } else if (target.type === 'cassandra') {
      const { auth, ssl, ...rest } = target;
      const password = auth && readSecret(auth.password, file, ['targets', name, 'auth', 'password'], report);
      const tls = resolveTargetTls(ssl, file, ['targets', name], report);
      targets[name] = { ...rest, ...(auth ? { auth: { username: auth.username, password: password ?? '' } } : {}), ...(tls ? { ssl: tls } : {}) };
    } else {
      targets[name] = target;
    }
  }
  const topics: NamespaceTopics = {
    intake: raw.topics.intake ?? `${prefix}.intake`,
    dlq: raw.topics.dlq ?? `${prefix}.dlq`,
    timersChangelog: raw.topics.timersChangelog ?? `${prefix}.timers-changelog`,
    completions: raw.topics.completions ?? `${prefix}.completions`,
    targets: Object.fromEntries(Object.keys(targets).map((t) => [t, raw.topics.targets[t] ?? `${prefix}.target.${t}`])),
  };
  let replication: ReplicationConfig | undefined;
  if (raw.replication) {
    const r = raw.replication;
    replication = {
      source: r.source ?? raw.cluster,
      targets: r.targets,
      topics: r.topics,
      ...(r.topicPattern !== undefined ? { topicPattern: r.topicPattern } : {}),
      rename: r.rename,
      groups: r.groups,
      checkpointIntervalMs: r.checkpointIntervalMs,
      schemas: r.schemas,
      syncGroupOffsets: r.syncGroupOffsets,
    };
  }
  return {
    name: raw.name,
    cluster: raw.cluster,
    partitions: raw.partitions,
    replicationFactor: raw.replicationFactor,
    topics,
    delay: raw.delay,
    maxPayloadBytes: raw.maxPayloadBytes,
    backoff: raw.backoff,
    maxRetries: raw.maxRetries,
    idempotency: raw.idempotency,
    dlq: raw.dlq,
    targets,
    ...(raw.defaultTarget !== undefined ? { defaultTarget: raw.defaultTarget } : {}),
    chunking: raw.chunking,
    ...(replication ? { replication } : {}),
    ...(raw.replicaOf !== undefined ? { replicaOf: raw.replicaOf } : {}),
    processingGuarantee: raw.processingGuarantee,
    queue: raw.queue,
    shard: raw.shard,
    runtime: raw.runtime,
  };
}

function checkNamespace(
  ns: NamespaceConfig,
  raw: RawNamespace,
  clusters: Map<string, Sourced<RawCluster>>,
  brokenClusters: ReadonlySet<string>,
  report: (path: Path, problem: string) => void,
): void {
  const known = [...clusters.keys()];
  const checkCluster = (path: Path, alias: string) => {
    if (!clusters.has(alias) && !brokenClusters.has(alias)) {
      report(path, `names cluster "${alias}", which is not defined (defined: ${known.length ? known.map((k) => `"${k}"`).join(', ') : 'none'})`);
    }
  };
  checkCluster(['cluster'], ns.cluster);

  if (ns.backoff.maxMs < ns.backoff.initialMs) {
    report(['backoff', 'maxMs'], `must be ≥ backoff.initialMs (${ns.backoff.initialMs}) (got ${ns.backoff.maxMs})`);
  }
  if (ns.delay.maxDelayMs !== null && ns.delay.maxDelayMs < ns.delay.defaultDelayMs) {
    report(['delay', 'maxDelayMs'], `must be ≥ delay.defaultDelayMs (${ns.delay.defaultDelayMs}) (got ${ns.delay.maxDelayMs})`);
  }
  if (ns.queue?.type === 'sqs' && ns.processingGuarantee === 'exactly-once') {
    report(['processingGuarantee'], 'exactly-once needs the Kafka queue (queue.type kafka): an SQS queue delivers at least once');
  }
  if (ns.queue?.type === 'sqs' && ns.replication) {
    report(['queue', 'type'], 'sqs cannot be combined with replication (the mirror copies Kafka topics)');
  }
  if (ns.defaultTarget !== undefined && !(ns.defaultTarget in ns.targets)) {
    report(['defaultTarget'], `names target "${ns.defaultTarget}", which is not defined (defined: ${listOrNone(Object.keys(ns.targets))})`);
  }
  for (const name of Object.keys(raw.topics.targets)) {
    if (!(name in ns.targets)) report(['topics', 'targets', name], `names target "${name}", which is not defined (defined: ${listOrNone(Object.keys(ns.targets))})`);
  }
  for (const [name, target] of Object.entries(ns.targets)) {
    if (target.type === 'kafka') checkCluster(['targets', name, 'cluster'], target.cluster);
  }

  const r = ns.replication;
  if (r) {
    checkCluster(['replication', 'source'], r.source);
    r.targets.forEach((alias, i) => {
      checkCluster(['replication', 'targets', i], alias);
      if (alias === r.source) report(['replication', 'targets', i], `must differ from replication.source (got "${alias}")`);
    });
    if (r.topics.length === 0 && r.topicPattern === undefined) {
      report(['replication'], 'must name topics or a topicPattern');
    }
    if (r.topicPattern !== undefined) {
      try {
        new RegExp(r.topicPattern);
      } catch (error) {
        report(['replication', 'topicPattern'], `is not a valid regular expression: ${(error as Error).message}`);
      }
    }
  }
}

/** Topics a namespace creates and owns, with the field that names each. */
export function ownedTopics(ns: NamespaceConfig): [Path, string][] {
  return [
    [['topics', 'intake'], ns.topics.intake],
    [['topics', 'dlq'], ns.topics.dlq],
    [['topics', 'timersChangelog'], ns.topics.timersChangelog],
    [['topics', 'completions'], ns.topics.completions],
    ...Object.entries(ns.topics.targets).map(([t, topic]): [Path, string] => [['topics', 'targets', t], topic]),
  ];
}

function listOrNone(names: string[]): string {
  return names.length ? names.map((n) => `"${n}"`).join(', ') : 'none';
}
