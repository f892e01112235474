import os from 'node:os';
import { writeFileSync } from 'node:fs';
import { isDeepStrictEqual } from 'node:util';
import { Command } from 'commander';
import { stringify } from 'yaml';
import { createKafkaClient } from '../../kafka';
import { configFromDocuments, ConfigError, readConfigDocuments, saveConfig, type ConfigDocument, type WalConfig } from '../../namespaces';
import { changeRefusals, DEFAULT_REGISTRY_TOPIC, NamespaceRegistry, type RegistryEntry } from '../../registry';
import { clusterDocuments, rawNamespaces, resolveEntries } from '../../registry/resolve';
import { countPendingTimers } from '../../ops/pending-timers';
import { DEFAULT_TOPOLOGY_FILES } from '../namespace';

function progress(read: number, total: number): void {
  if (process.stderr.isTTY) process.stderr.write(`\rcounting pending timers: ${read}/${total} changelog records`);
}

interface RegistryCliOptions {
  topology: string[];
  registry?: string;
  registryTopic: string;
}

/** `--registry <alias>`, else $WAL_REGISTRY_CLUSTER, else the one cluster the files define. */
export function registryAlias(config: Pick<WalConfig, 'clusters' | 'sourceFiles'>, flag: string | undefined, env = process.env.WAL_REGISTRY_CLUSTER): string {
  const aliases = Object.keys(config.clusters);
  const alias = flag ?? (env || undefined) ?? (aliases.length === 1 ? aliases[0] : undefined);
  if (alias === undefined) {
    throw new ConfigError([`which cluster holds the namespace registry? Give --registry <alias> or $WAL_REGISTRY_CLUSTER (clusters in ${config.sourceFiles.join(', ')}: ${aliases.join(', ') || 'none'})`]);
  }
  if (!config.clusters[alias]) throw new ConfigError([`--registry "${alias}": no such cluster in ${config.sourceFiles.join(', ')} (defined: ${aliases.join(', ') || 'none'})`]);
  return alias;
}

/** Who is applying: $WAL_USER, else user@host. */
function appliedBy(): string {
  return process.env.WAL_USER || `${os.userInfo().username}@${os.hostname()}`;
}

async function withRegistry<T>(options: RegistryCliOptions, extra: readonly ConfigDocument[], run: (registry: NamespaceRegistry, clusters: ConfigDocument[], config: WalConfig) => Promise<T>): Promise<T> {
  const clusters = clusterDocuments([...readConfigDocuments(options.topology), ...extra]);
  const config = configFromDocuments(clusters);
  const alias = registryAlias(config, options.registry);
  const registry = await NamespaceRegistry.open(createKafkaClient(config.clusters[alias], 'wal-registry-cli'), { topic: options.registryTopic, cluster: alias });
  try {
    return await run(registry, clusters, config);
  } finally {
    await registry.close();
  }
}

function describeEntry(entry: RegistryEntry): string {
  const doc = entry.document ?? {};
  return `${entry.name}  v${entry.version}  shard=${typeof doc.shard === 'string' ? doc.shard : 'default'}  cluster=${typeof doc.cluster === 'string' ? doc.cluster : 'primary'}  ${entry.deleted ? 'deleted' : 'applied'} ${entry.appliedAt} by ${entry.appliedBy} from ${entry.source}`;
}

export function registerNamespace(program: Command): void {
  addRegistryCommands(program.command('namespace').description('manage namespaces in the registry (a compacted topic): apply, list, get, history, delete, export'));
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
      await withRegistry(options, files, async (registry, clusters) => {
        // Everything validates first, against the same schema and messages as the files at `wal start`.
        const applied = configFromDocuments([...clusters, ...files]);
        const raws = rawNamespaces(files);
        const plan: Array<{ entry: RegistryEntry; action: string }> = [];
        const refusals: string[] = [];
        for (const { file, document } of raws) {
          const name = String(document.name);
          const current = registry.view.get(name);
          if (current && isDeepStrictEqual(current.document, document)) {
            plan.push({ entry: current, action: `unchanged (v${current.version})` });
            continue;
          }
          if (current) {
            const before = resolveEntries(clusters, [current], registry.topic).config.namespaces[0];
            const after = applied.namespaces.find((n) => n.name === name)!;
            if (before) refusals.push(...changeRefusals(before, after).map((r) => `${file}: namespace "${name}": ${r}`));
          }
          const version = registry.view.lastVersion(name) + 1;
          const entry: RegistryEntry = { name, version, document, appliedAt: new Date().toISOString(), appliedBy: appliedBy(), source: file };
          plan.push({ entry, action: current ? `updated v${current.version} → v${version}` : `created (v${version})` });
        }
        if (refusals.length > 0) throw new ConfigError(refusals);
        const writes = plan.filter((p) => !p.action.startsWith('unchanged')).map((p) => p.entry);
        if (!options.dryRun) await registry.write(writes);
        for (const { entry, action } of plan) process.stdout.write(`namespace ${entry.name}: ${options.dryRun && !action.startsWith('unchanged') ? `would be ${action}` : action}\n`);
        process.stdout.write(`${options.dryRun ? 'dry run: nothing stored' : `${writes.length} change(s) stored in ${registry.topic}`}\n`);
      });
    });

  withOptions(namespace.command('list').description('namespaces in the registry'))
    .option('--json', 'one JSON object per line')
    .action(async (options: RegistryCliOptions & { json?: boolean }) => {
      await withRegistry(options, [], async (registry) => {
        const entries = [...registry.view.entries().values()].sort((a, b) => a.name.localeCompare(b.name));
        for (const entry of entries) process.stdout.write(options.json ? `${JSON.stringify(entry)}\n` : `${describeEntry(entry)}\n`);
        if (!options.json) process.stdout.write(`${entries.length} namespace(s) in ${registry.topic}\n`);
      });
    });

  withOptions(namespace.command('get').description('one namespace as applied').argument('<name>'))
    .option('-o, --output <format>', 'yaml or json', 'yaml')
    .action(async (name: string, options: RegistryCliOptions & { output: string }) => {
      await withRegistry(options, [], async (registry) => {
        const entry = registry.view.get(name);
        if (!entry) throw new ConfigError([`namespace "${name}" is not in the registry ${registry.topic} (${registry.view.entries().size} namespace(s) there; \`wal namespace list\`)`]);
        const document = { namespaces: [entry.document] };
        process.stdout.write(options.output === 'json' ? `${JSON.stringify(entry, null, 2)}\n` : `# ${describeEntry(entry)}\n${stringify(document)}`);
      });
    });

  withOptions(namespace.command('history').description('every version of a namespace, deletes included').argument('<name>'))
    .option('--json', 'one JSON object per line')
    .action(async (name: string, options: RegistryCliOptions & { json?: boolean }) => {
      await withRegistry(options, [], async (registry) => {
        const history = registry.view.history(name);
        if (history.length === 0) throw new ConfigError([`namespace "${name}" was never applied to ${registry.topic}`]);
        for (const entry of history) process.stdout.write(options.json ? `${JSON.stringify(entry)}\n` : `${describeEntry(entry)}\n`);
      });
    });

  withOptions(namespace.command('delete').description('remove a namespace from the registry; running instances stop it').argument('<name>'))
    .option('--dry-run', 'say what would happen; store nothing')
    .option('--force', 'delete even while timers are pending (they would not be delivered until the namespace is applied again)')
    .action(async (name: string, options: RegistryCliOptions & { dryRun?: boolean; force?: boolean }) => {
      await withRegistry(options, [], async (registry, clusters, config) => {
        const current = registry.view.get(name);
        if (!current) throw new ConfigError([`namespace "${name}" is not in the registry ${registry.topic}`]);
        const ns = resolveEntries(clusters, [current], registry.topic).config.namespaces[0];
        if (ns && !ns.replication) {
          const pending = await countPendingTimers(createKafkaClient(config.clusters[ns.cluster], 'wal-registry-cli'), ns.topics.timersChangelog, progress);
          if (pending > 0 && !options.force) {
            throw new ConfigError([
              `namespace "${name}" still has ${pending} pending timer(s) in ${ns.topics.timersChangelog}: deleting it stops their delivery (its topics are kept; applying it again picks them up). Pass --force to delete anyway`,
            ]);
          }
          if (pending > 0) process.stderr.write(`deleting with ${pending} pending timer(s) (--force)\n`);
        }
        const entry: RegistryEntry = { name, version: registry.view.lastVersion(name) + 1, deleted: true, appliedAt: new Date().toISOString(), appliedBy: appliedBy(), source: 'cli' };
        if (!options.dryRun) await registry.write([entry]);
        process.stdout.write(`namespace ${name}: ${options.dryRun ? 'would be deleted' : `deleted (v${entry.version}); its topics are kept`}\n`);
      });
    });

  withOptions(namespace.command('export').description("write the registry's namespaces to a YAML file, as applied (secrets by reference stay references)"))
    .requiredOption('-o, --out <file>', 'file to write (.yaml, or .json)')
    .option('--resolved', 'write the resolved configuration instead: clusters too, every default explicit, secrets inline (handle the file like the secrets)')
    .action(async (options: RegistryCliOptions & { out: string; resolved?: boolean }) => {
      await withRegistry(options, [], async (registry, clusters) => {
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
