import type { Path } from './issues';
import { selects, targetTopicName, topicPatternOf } from './mirrored-topics';
import type { ClusterConfig, NamespaceConfig } from './types';

/**
 * A replica namespace (`replicaOf: <origin>`) applies, on its own cluster, the requests written to
 * another namespace and mirrored there: region B applying region A's cache writes. Its intake is the
 * mirror's copy of the origin's intake, and what a request is checked against must agree with the
 * origin: else B would deliver the copy at another time, or dead-letter what A applied.
 */

export interface ReplicaInput {
  readonly ns: NamespaceConfig;
  /** `topics.intake` as written (undefined: the loader's default, which a replica replaces). */
  readonly intakeAsWritten: string | undefined;
  readonly report: (path: Path, problem: string) => void;
}

/** Every namespace, replicas with their intake set to the mirrored copy; problems go to each one's `report`. */
export function resolveReplicas(inputs: readonly ReplicaInput[], clusters: Readonly<Record<string, ClusterConfig>>): NamespaceConfig[] {
  const all = inputs.map((i) => i.ns);
  return inputs.map(({ ns, intakeAsWritten, report }) => {
    if (ns.replicaOf === undefined) return ns;
    const intake = replicaIntake(ns, all, clusters, report);
    if (intake === undefined) return ns;
    if (intakeAsWritten !== undefined && intakeAsWritten !== intake) {
      report(['topics', 'intake'], `must be the mirrored copy of "${ns.replicaOf}"'s intake, "${intake}", or be left out (got "${intakeAsWritten}")`);
    }
    return { ...ns, topics: { ...ns.topics, intake } };
  });
}

function replicaIntake(ns: NamespaceConfig, all: readonly NamespaceConfig[], clusters: Readonly<Record<string, ClusterConfig>>, report: (path: Path, problem: string) => void): string | undefined {
  const originName = ns.replicaOf!;
  const origin = all.find((n) => n.name === originName);
  const refuse = (problem: string): undefined => {
    report(['replicaOf'], problem);
    return undefined;
  };
  if (ns.replication) refuse('cannot be combined with replication: a replica applies requests, a mirror copies topics');
  if (ns.queue?.type === 'sqs') refuse('needs the Kafka queue (queue.type kafka): the replica reads the mirrored intake topic');
  if (!origin) return refuse(`names namespace "${originName}", which is not defined (defined: ${all.map((n) => `"${n.name}"`).join(', ')})`);
  if (origin === ns) return refuse('must name another namespace');
  if (origin.replicaOf !== undefined) return refuse(`names "${originName}", itself a replica of "${origin.replicaOf}": name "${origin.replicaOf}"`);
  if (origin.replication) return refuse(`names "${originName}", a mirror namespace: name the namespace whose intake it mirrors`);
  if (origin.queue?.type === 'sqs') return refuse(`names "${originName}", whose requests wait in SQS, where no mirror reaches them`);

  const source = origin.topics.intake;
  const mirror = all.find((m) => {
    const r = m.replication;
    return r !== undefined && r.source === origin.cluster && r.targets.includes(ns.cluster) && selects(source, new Set(r.topics), topicPatternOf(r));
  });
  if (!mirror) {
    return refuse(
      `no namespace mirrors "${originName}"'s intake "${source}" from cluster "${origin.cluster}" to cluster "${ns.cluster}": ` +
        `add one with replication: { source: ${origin.cluster}, targets: [${ns.cluster}], topics: [${source}] }`,
    );
  }
  const r = mirror.replication!;
  const registries = [clusters[origin.cluster], clusters[ns.cluster]].map((c) => c?.schemaRegistryUrl.replace(/\/+$/, ''));
  if (r.schemas === 'bytes' && registries[0] !== registries[1]) {
    refuse(`reads what namespace "${mirror.name}" mirrors with replication.schemas bytes between two schema registries: the copies' schema ids mean nothing on cluster "${ns.cluster}" (use schemas: copy)`);
  }
  const why = `as "${originName}", whose requests it applies`;
  if (ns.partitions !== origin.partitions) report(['partitions'], `must be ${origin.partitions} ${why} (the mirror keeps each record's partition) (got ${ns.partitions})`);
  if (ns.delay.defaultDelayMs !== origin.delay.defaultDelayMs || ns.delay.maxDelayMs !== origin.delay.maxDelayMs) {
    report(['delay'], `must equal the delay of "${originName}" (${JSON.stringify(origin.delay)}): a request is due at its write time plus its delay on both sides (got ${JSON.stringify(ns.delay)})`);
  }
  if (ns.maxPayloadBytes < origin.maxPayloadBytes) report(['maxPayloadBytes'], `must be at least ${origin.maxPayloadBytes} ${why}, or its larger requests are dead-lettered here (got ${ns.maxPayloadBytes})`);
  for (const target of Object.keys(origin.targets)) {
    if (!(target in ns.targets)) report(['targets'], `lacks target "${target}" of "${originName}": requests naming it would be dead-lettered here`);
  }
  if (ns.defaultTarget !== origin.defaultTarget) report(['defaultTarget'], `must be ${origin.defaultTarget === undefined ? 'left out' : `"${origin.defaultTarget}"`} ${why} (got ${ns.defaultTarget === undefined ? 'nothing' : `"${ns.defaultTarget}"`})`);
  return targetTopicName(source, r.rename, r.source);
}
