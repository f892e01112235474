import os from 'node:os';
import { Command } from 'commander';
import { ConfigError, loadConfig, type NamespaceConfig, type WalConfig } from '../../namespaces';
import { createKafkaClient } from '../../kafka';
import { DEFAULT_NAMESPACE_STATE, NAMESPACE_STATE_TOPIC, type NamespaceState, type NamespaceStateChange } from '../../namespaces/namespace-state';
import { readNamespaceStates, writeNamespaceState } from '../../namespaces/namespace-state-topic';
import { DEFAULT_TOPOLOGY_FILES, loadNamespace, selectNamespaces } from '../namespace';

/** `user@host` of whoever runs the command, for the record's `by`. */
function whoAmI(): string {
  let user = process.env.USER ?? 'unknown';
  try {
    user = os.userInfo().username;
  } catch {
    // No passwd entry (some containers): keep $USER.
  }
  return `${user}@${os.hostname()}`;
}

export interface NamespaceStateRow extends NamespaceState {
  readonly namespace: string;
  readonly cluster: string;
}

/** The state of each namespace, read from the state topic of its cluster (one read per cluster). */
export async function readStates(config: WalConfig, namespaces: readonly NamespaceConfig[]): Promise<NamespaceStateRow[]> {
  const byCluster = new Map<string, ReadonlyMap<string, NamespaceState>>();
  for (const alias of new Set(namespaces.map((ns) => ns.cluster))) {
    byCluster.set(alias, await readNamespaceStates(createKafkaClient(config.clusters[alias], 'wal-namespace-cli')));
  }
  return namespaces.map((ns) => ({ namespace: ns.name, cluster: ns.cluster, ...(byCluster.get(ns.cluster)?.get(ns.name) ?? DEFAULT_NAMESPACE_STATE) }));
}

export function formatStates(rows: readonly NamespaceStateRow[]): string[] {
  const header = ['NAMESPACE', 'CLUSTER', 'STATE', 'BYPASS', 'UPDATED', 'BY'];
  const cells = [header, ...rows.map((r) => [r.namespace, r.cluster, r.paused ? 'paused' : 'running', r.bypass ? 'on' : 'off', r.updatedAt || '-', r.by || '-'])];
  const widths = header.map((_, i) => Math.max(...cells.map((c) => c[i].length)));
  return cells.map((c) => c.map((v, i) => v.padEnd(widths[i])).join('  ').trimEnd());
}

/** Sets one namespace's state and says what changed; the instances and writers follow within their refresh interval. */
export async function changeState(files: string[], name: string, change: NamespaceStateChange, by: string, print: (line: string) => void): Promise<NamespaceState> {
  const { config, namespace } = loadNamespace(files, name);
  const kafka = createKafkaClient(config.clusters[namespace.cluster], 'wal-namespace-cli');
  const written = await writeNamespaceState(kafka, { namespace: namespace.name, cluster: namespace.cluster, replicationFactor: namespace.replicationFactor }, change, by);
  if (written.createdTopic) print(`created ${NAMESPACE_STATE_TOPIC} on cluster ${namespace.cluster}`);
  for (const drift of written.drift) print(`warning: ${drift.message}`);
  const describe = (s: NamespaceState) => `${s.paused ? 'paused' : 'running'}, bypass ${s.bypass ? 'on' : 'off'}`;
  print(`namespace ${namespace.name}: ${describe(written.state)} (was ${describe(written.previous)}); set by ${by}`);
  return written.state;
}

export function registerNamespace(program: Command): void {
  const command = program
    .command('namespace')
    .description('operate a namespace on every instance at once: pause/resume all processing, bypass writers, show the state (kept in the compacted wal.namespace-state topic)');
  const withTopology = (c: Command): Command =>
    c.option('-t, --topology <files...>', 'topology files or directories', DEFAULT_TOPOLOGY_FILES).option('--by <who>', 'who sets it, recorded with the state (default: user@host)');
  const print = (line: string) => process.stdout.write(`${line}\n`);

  withTopology(
    command
      .command('pause')
      .argument('<namespace>')
      .description(
        'stop all processing of the namespace on every `wal start` instance (delayed queue, fan-out appliers, mirror links): nothing is fetched, no timer fires, nothing is delivered; writes are still taken and stay in Kafka. Persists across restarts. (`wal queue pause` is finer: it keeps taking records into the timer store and only holds delivery.)',
      ),
  ).action(async (name: string, options: { topology: string[]; by?: string }) => {
    await changeState(options.topology, name, { paused: true }, options.by ?? whoAmI(), print);
  });

  withTopology(command.command('resume').argument('<namespace>').description('let every instance process the namespace again, from where it stopped')).action(
    async (name: string, options: { topology: string[]; by?: string }) => {
      await changeState(options.topology, name, { paused: false }, options.by ?? whoAmI(), print);
    },
  );

  withTopology(
    command
      .command('bypass')
      .argument('<namespace>')
      .description("switch the WAL off (--on) or on (--off) for writers: in bypass every write is refused (durable 'false', reason namespace-bypassed, HTTP 409), so callers write to their target directly"),
  )
    .option('--on', 'refuse writes to the namespace')
    .option('--off', 'take writes again')
    .action(async (name: string, options: { topology: string[]; by?: string; on?: boolean; off?: boolean }) => {
      if (options.on === options.off) throw new ConfigError(['wal namespace bypass: give exactly one of --on or --off']);
      await changeState(options.topology, name, { bypass: options.on === true }, options.by ?? whoAmI(), print);
    });

  command
    .command('state')
    .argument('[namespaces...]', 'only these (default: every namespace of the topology files)')
    .description('show whether each namespace is paused or in bypass, and who set it when')
    .option('-t, --topology <files...>', 'topology files or directories', DEFAULT_TOPOLOGY_FILES)
    .option('--json', 'print JSON')
    .action(async (names: string[], options: { topology: string[]; json?: boolean }) => {
      const config = loadConfig(options.topology);
      const rows = await readStates(config, selectNamespaces(config, names));
      if (options.json) print(JSON.stringify({ namespaces: rows }, null, 2));
      else for (const line of formatStates(rows)) print(line);
    });
}
