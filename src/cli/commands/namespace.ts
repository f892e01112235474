import os from 'node:os';
import { writeFileSync } from 'node:fs';
import { Command } from 'commander';
import { stringify } from 'yaml';
import { configFromDocuments, ConfigError, readConfigDocuments, saveConfig, type ConfigDocument, type NamespaceConfig, type WalConfig } from '../../namespaces';
import { createKafkaClient } from '../../kafka';
import { DEFAULT_NAMESPACE_STATE, NAMESPACE_STATE_TOPIC, type NamespaceState, type NamespaceStateChange } from '../../namespaces/namespace-state';
import { readNamespaceStates, writeNamespaceState } from '../../namespaces/namespace-state-topic';
import { DEFAULT_REGISTRY_TOPIC, NamespaceRegistry, type RegistryEntry } from '../../registry';
import { describeChange, RegistryAdmin } from '../../registry/operations';
import { clusterDocuments, resolveEntries } from '../../registry/resolve';
import { countPendingTimers } from '../../ops/pending-timers';
import { DEFAULT_TOPOLOGY_FILES, selectNamespaces } from '../namespace';
import { configWithRegistry, REGISTRY_OPTION, registryAlias, type LiveOptions } from '../live';
import { createLogger } from '../../observability/logger';

export { registryAlias } from '../live';

function progress(read: number, total: number): void {
  if (process.stderr.isTTY) process.stderr.write(`\rcounting pending timers: ${read}/${total} changelog records`);
}

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
export async function changeState(options: LiveOptions, name: string, change: NamespaceStateChange, by: string, print: (line: string) => void): Promise<NamespaceState> {
  const { config, live } = await configWithRegistry(options, createLogger({ component: 'namespace' }));
  try {
    const [namespace] = selectNamespaces(config, name);
    const kafka = createKafkaClient(config.clusters[namespace.cluster], 'wal-namespace-cli');
    const written = await writeNamespaceState(kafka, { namespace: namespace.name, cluster: namespace.cluster, replicationFactor: namespace.replicationFactor }, change, by);
    if (written.createdTopic) print(`created ${NAMESPACE_STATE_TOPIC} on cluster ${namespace.cluster}`);
    for (const drift of written.drift) print(`warning: ${drift.message}`);
    const describe = (s: NamespaceState) => `${s.paused ? 'paused' : 'running'}, bypass ${s.bypass ? 'on' : 'off'}`;
    print(`namespace ${namespace.name}: ${describe(written.state)} (was ${describe(written.previous)}); set by ${by}`);
    return written.state;
  } finally {
    await live?.close();
  }
}

export function registerNamespace(program: Command): void {
  const command = program
    .command('namespace')
    .description(
      'manage namespaces: the registry (apply, list, get, history, delete, export; a compacted topic instances follow live) and their state on every instance (pause/resume all processing, bypass writers; the compacted wal.namespace-state topic)',
    );
  addRegistryCommands(command);
  const withRegistry_ = (c: Command): Command =>
    c
      .option('-t, --topology <files...>', 'topology files or directories', DEFAULT_TOPOLOGY_FILES)
      .option(...REGISTRY_OPTION)
      .option('--registry-topic <topic>', 'registry topic', DEFAULT_REGISTRY_TOPIC);
  const withTopology = (c: Command): Command => withRegistry_(c).option('--by <who>', 'who sets it, recorded with the state (default: user@host)');
  const print = (line: string) => process.stdout.write(`${line}\n`);

  withTopology(
    command
      .command('pause')
      .argument('<namespace>')
      .description(
        'stop all processing of the namespace on every `wal start` instance (delayed queue, fan-out appliers, mirror links): nothing is fetched, no timer fires, nothing is delivered; writes are still taken and stay in Kafka. Persists across restarts. (`wal queue pause` is finer: it keeps taking records into the timer store and only holds delivery.)',
      ),
  ).action(async (name: string, options: LiveOptions & { by?: string }) => {
    await changeState(options, name, { paused: true }, options.by ?? whoAmI(), print);
  });

  withTopology(command.command('resume').argument('<namespace>').description('let every instance process the namespace again, from where it stopped')).action(
    async (name: string, options: LiveOptions & { by?: string }) => {
      await changeState(options, name, { paused: false }, options.by ?? whoAmI(), print);
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
    .action(async (name: string, options: LiveOptions & { by?: string; on?: boolean; off?: boolean }) => {
      if (options.on === options.off) throw new ConfigError(['wal namespace bypass: give exactly one of --on or --off']);
      await changeState(options, name, { bypass: options.on === true }, options.by ?? whoAmI(), print);
    });

  withRegistry_(
    command
      .command('state')
      .argument('[namespaces...]', 'only these (default: every namespace of the topology files, and of the registry with --registry)')
      .description('show whether each namespace is paused or in bypass, and who set it when'),
  )
    .option('--json', 'print JSON')
    .action(async (names: string[], options: LiveOptions & { json?: boolean }) => {
      const { config, live } = await configWithRegistry(options, createLogger({ component: 'namespace' }));
      try {
        const rows = await readStates(config, selectNamespaces(config, names));
        if (options.json) print(JSON.stringify({ namespaces: rows }, null, 2));
        else for (const line of formatStates(rows)) print(line);
      } finally {
        await live?.close();
      }
    });
}

interface RegistryCliOptions {
  topology: string[];
  registry?: string;
  registryTopic: string;
}

/** Who is applying: $WAL_USER, else user@host. */
function appliedBy(): string {
  return process.env.WAL_USER || whoAmI();
}

async function withRegistry<T>(options: RegistryCliOptions, extra: readonly ConfigDocument[], run: (admin: RegistryAdmin) => Promise<T>): Promise<T> {
  const clusters = clusterDocuments([...readConfigDocuments(options.topology), ...extra]);
  const config = configFromDocuments(clusters);
  const alias = registryAlias(config, options.registry);
  const registry = await NamespaceRegistry.open(createKafkaClient(config.clusters[alias], 'wal-registry-cli'), { topic: options.registryTopic, cluster: alias });
  try {
    return await run(new RegistryAdmin(registry, clusters, pendingTimersOf(config)));
  } finally {
    await registry.close();
  }
}

/** Counts a namespace's pending timers from its timers changelog (progress on a terminal). */
export function pendingTimersOf(config: Pick<WalConfig, 'clusters'>): (ns: NamespaceConfig) => Promise<number> {
  return (ns) => countPendingTimers(createKafkaClient(config.clusters[ns.cluster], 'wal-registry-cli'), ns.topics.timersChangelog, progress);
}

function describeEntry(entry: RegistryEntry): string {
  const doc = entry.document ?? {};
  return `${entry.name}  v${entry.version}  shard=${typeof doc.shard === 'string' ? doc.shard : 'default'}  cluster=${typeof doc.cluster === 'string' ? doc.cluster : 'primary'}  ${entry.deleted ? 'deleted' : 'applied'} ${entry.appliedAt} by ${entry.appliedBy} from ${entry.source}`;
}

/** Adds list, get, apply, delete, history and export to the `wal namespace` command. */
export function addRegistryCommands(namespace: Command): void {
  const withOptions = (command: Command): Command =>
    command
      .option('-t, --topology <files...>', 'files defining the clusters (their namespaces are not read)', DEFAULT_TOPOLOGY_FILES)
      .option('--registry <alias>', 'cluster holding the registry (default: $WAL_REGISTRY_CLUSTER, else the only cluster)')
      .option('--registry-topic <topic>', 'registry topic', DEFAULT_REGISTRY_TOPIC);

  withOptions(namespace.command('apply').description('validate namespaces from files and store them in the registry; running instances pick them up'))
    .requiredOption('-f, --file <files...>', 'YAML or JSON files with namespaces (clusters in them are used to validate, not stored)')
    .option('--dry-run', 'validate and show what would change; store nothing')
    .action(async (options: RegistryCliOptions & { file: string[]; dryRun?: boolean }) => {
      const files = readConfigDocuments(options.file);
      await withRegistry(options, files, async (admin) => {
        const plan = await admin.apply(files, appliedBy(), options.dryRun === true);
        for (const change of plan) process.stdout.write(`${describeChange(change, options.dryRun)}\n`);
        const stored = plan.filter((p) => p.action !== 'unchanged').length;
        process.stdout.write(`${options.dryRun ? 'dry run: nothing stored' : `${stored} change(s) stored in ${admin.topic}`}\n`);
      });
    });

  withOptions(namespace.command('list').description('namespaces in the registry'))
    .option('--json', 'one JSON object per line')
    .action(async (options: RegistryCliOptions & { json?: boolean }) => {
      await withRegistry(options, [], async ({ registry }) => {
        const entries = [...registry.view.entries().values()].sort((a, b) => a.name.localeCompare(b.name));
        for (const entry of entries) process.stdout.write(options.json ? `${JSON.stringify(entry)}\n` : `${describeEntry(entry)}\n`);
        if (!options.json) process.stdout.write(`${entries.length} namespace(s) in ${registry.topic}\n`);
      });
    });

  withOptions(namespace.command('get').description('one namespace as applied').argument('<name>'))
    .option('-o, --output <format>', 'yaml or json', 'yaml')
    .action(async (name: string, options: RegistryCliOptions & { output: string }) => {
      await withRegistry(options, [], async ({ registry }) => {
        const entry = registry.view.get(name);
        if (!entry) throw new ConfigError([`namespace "${name}" is not in the registry ${registry.topic} (${registry.view.entries().size} namespace(s) there; \`wal namespace list\`)`]);
        const document = { namespaces: [entry.document] };
        process.stdout.write(options.output === 'json' ? `${JSON.stringify(entry, null, 2)}\n` : `# ${describeEntry(entry)}\n${stringify(document)}`);
      });
    });

  withOptions(namespace.command('history').description('every version of a namespace, deletes included').argument('<name>'))
    .option('--json', 'one JSON object per line')
    .action(async (name: string, options: RegistryCliOptions & { json?: boolean }) => {
      await withRegistry(options, [], async ({ registry }) => {
        const history = registry.view.history(name);
        if (history.length === 0) throw new ConfigError([`namespace "${name}" was never applied to ${registry.topic}`]);
        for (const entry of history) process.stdout.write(options.json ? `${JSON.stringify(entry)}\n` : `${describeEntry(entry)}\n`);
      });
    });

  withOptions(namespace.command('delete').description('remove a namespace from the registry; running instances stop it').argument('<name>'))
    .option('--dry-run', 'say what would happen; store nothing')
    .option('--force', 'delete even while timers are pending (they would not be delivered until the namespace is applied again)')
    .action(async (name: string, options: RegistryCliOptions & { dryRun?: boolean; force?: boolean }) => {
      await withRegistry(options, [], async (admin) => {
        const { entry, pending } = await admin.delete(name, appliedBy(), 'cli', { force: options.force, dryRun: options.dryRun });
        if (pending > 0) process.stderr.write(`deleting with ${pending} pending timer(s) (--force)\n`);
        process.stdout.write(`namespace ${name}: ${options.dryRun ? 'would be deleted' : `deleted (v${entry.version}); its topics are kept`}\n`);
      });
    });

  withOptions(namespace.command('export').description("write the registry's namespaces to a YAML file, as applied (secrets by reference stay references)"))
    .requiredOption('-o, --out <file>', 'file to write (.yaml, or .json)')
    .option('--resolved', 'write the resolved configuration instead: clusters too, every default explicit, secrets inline (handle the file like the secrets)')
    .action(async (options: RegistryCliOptions & { out: string; resolved?: boolean }) => {
      await withRegistry(options, [], async ({ registry, clusters }) => {
        const entries = [...registry.view.entries().values()].sort((a, b) => a.name.localeCompare(b.name));
        if (options.resolved) {
          const { config, problems } = resolveEntries(clusters, entries, registry.topic);
          if (problems.length > 0) throw new ConfigError(problems.flatMap((p) => p.error.issues));
          saveConfig(config, options.out);
        } else {
          const document = { namespaces: entries.map((e) => e.document) };
          writeFileSync(options.out, /\.json$/i.test(options.out) ? `${JSON.stringify(document, null, 2)}\n` : stringify(document));
        }
        process.stdout.write(`${entries.length} namespace(s) written to ${options.out}\n`);
      });
    });
}
