import { ConfigError, findNamespace, loadConfig, type NamespaceConfig, type WalConfig } from '../namespaces';

/** Topology files a command reads when none are given. */
export const DEFAULT_TOPOLOGY_FILES = ['topologies'];

/** The named namespaces (all when none are named), with an error that lists the ones there are. */
export function selectNamespaces(config: WalConfig, names: string | readonly string[] | undefined): NamespaceConfig[] {
  const wanted = names === undefined ? [] : typeof names === 'string' ? [names] : names;
  if (wanted.length === 0) return config.namespaces;
  return wanted.map((name) => {
    const ns = findNamespace(config, name);
    if (!ns) {
      const known = config.namespaces.map((n) => `"${n.name}"`).join(', ') || 'none';
      throw new ConfigError([`namespace "${name}" is not in ${config.sourceFiles.join(', ')} (defined: ${known})`]);
    }
    return ns;
  });
}

/** Loads the topology files and finds one namespace. */
export function loadNamespace(files: string[], name: string): { config: WalConfig; namespace: NamespaceConfig } {
  const config = loadConfig(files);
  const [namespace] = selectNamespaces(config, name);
  return { config, namespace: namespace };
}

/** Where `wal dlq` and the HTTP admin routes read instants: one parser for both. */
export { parseInstant } from '../dlq/dead-letters';
