import { Command } from 'commander';
import { loadConfig } from '../../namespaces';
import { applyTopics, createKafkaClient, type TopicSpec } from '../../kafka';
import { planTopics } from '../../namespaces/topic-plan';
import { selectNamespaces } from '../namespace';

/** Exit code of `wal topics apply` when some topic differs from its configuration. */
export const DRIFT_EXIT_CODE = 2;

function byCluster(specs: TopicSpec[]): Map<string, TopicSpec[]> {
  const groups = new Map<string, TopicSpec[]>();
  for (const spec of specs) groups.set(spec.cluster, [...(groups.get(spec.cluster) ?? []), spec]);
  return groups;
}

function describeSpec(spec: TopicSpec): string {
  const policy = spec.configs['cleanup.policy'] === 'compact' ? ', compacted' : '';
  return `${spec.topic} (${spec.role}, ${spec.partitions} partitions, rf ${spec.replicationFactor}${policy})`;
}

/** Creates missing topics of the selected namespaces on every cluster they use; returns the exit code. */
export async function runTopicsApply(files: string[], options: { namespace?: string }, print: (line: string) => void): Promise<number> {
  const config = loadConfig(files);
  const specs = selectNamespaces(config, options.namespace).flatMap(planTopics);
  let driftCount = 0;
  for (const [alias, clusterSpecs] of byCluster(specs)) {
    const cluster = config.clusters[alias];
    print(`cluster ${alias} (${cluster.brokers.join(',')}):`);
    const admin = createKafkaClient(cluster, 'wal-topics').admin();
    await admin.connect();
    try {
      const result = await applyTopics(admin, clusterSpecs);
      const spec = (topic: string) => clusterSpecs.find((s) => s.topic === topic)!;
      for (const topic of result.created) print(`  created    ${describeSpec(spec(topic))}`);
      for (const topic of result.unchanged) print(`  unchanged  ${topic}`);
      for (const drift of result.drift) print(`  DRIFT      ${drift.message}`);
      driftCount += result.drift.length;
    } finally {
      await admin.disconnect();
    }
  }
  if (driftCount > 0) print(`${driftCount} topic setting(s) differ from the configuration; nothing was changed on them.`);
  return driftCount > 0 ? DRIFT_EXIT_CODE : 0;
}

export function registerTopics(program: Command): void {
  const topics = program.command('topics').description("provision the Kafka topics of configured namespaces");

  topics
    .command('plan')
    .description('print the topics the namespaces need, without connecting to Kafka')
    .argument('<files...>', 'topology files (YAML or JSON) or directories of them')
    .option('--namespace <name>', 'only this namespace')
    .action((files: string[], options: { namespace?: string }) => {
      const config = loadConfig(files);
      for (const spec of selectNamespaces(config, options.namespace).flatMap(planTopics)) {
        const configs = Object.entries(spec.configs).map(([k, v]) => `${k}=${v}`).join(' ');
        process.stdout.write(`${spec.cluster}\t${describeSpec(spec)}\t${configs}\n`);
      }
    });

  topics
    .command('apply')
    .description(`create missing topics; report (never change) topics whose partitions or cleanup.policy differ (exit ${DRIFT_EXIT_CODE})`)
    .argument('<files...>', 'topology files (YAML or JSON) or directories of them')
    .option('--namespace <name>', 'only this namespace')
    .action(async (files: string[], options: { namespace?: string }) => {
      process.exitCode = await runTopicsApply(files, options, (line) => process.stdout.write(`${line}\n`));
    });
}
