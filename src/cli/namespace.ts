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

/** "30s", "2h", "3d" ago, or an ISO instant, as epoch ms. */
export function parseInstant(text: string, now = Date.now()): number {
  const relative = /^(\d+)\s*(ms|s|m|h|d)$/.exec(text.trim());
  if (relative) {
    const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[relative[2] as 'ms' | 's' | 'm' | 'h' | 'd'];
    return now - Number(relative[1]) * unit;
  }
  const instant = Date.parse(text);
  if (Number.isNaN(instant)) throw new Error(`"${text}" is neither a duration ago (30s, 2h, 3d) nor an ISO date-time`);
  return instant;
}
