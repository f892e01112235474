import type { Logger } from '../observability/logger';
import { createKafkaClient } from '../kafka';
import { ConfigError, configFromDocuments, readConfigDocuments, type WalConfig } from '../namespaces';
import { DEFAULT_REGISTRY_TOPIC } from '../registry';
import { LiveConfig } from '../registry/live-config';

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

export interface LiveOptions {
  readonly topology: string[];
  /** Follow the namespace registry on this cluster alias (`true`: the default one). */
  readonly registry?: string | boolean;
  readonly registryTopic?: string;
}

/** The files' config and, with --registry, the live view that adds the registry's namespaces. */
export async function configWithRegistry(options: LiveOptions, logger: Logger): Promise<{ config: WalConfig; live?: LiveConfig }> {
  const documents = readConfigDocuments(options.topology);
  const config = configFromDocuments(documents);
  if (!options.registry) return { config };
  const alias = registryAlias(config, typeof options.registry === 'string' ? options.registry : undefined);
  const live = await LiveConfig.open(createKafkaClient(config.clusters[alias], 'wal-registry-reader'), {
    topic: options.registryTopic ?? DEFAULT_REGISTRY_TOPIC,
    cluster: alias,
    files: config,
    documents,
    logger,
  });
  return { config: live.current(), live };
}

export const REGISTRY_OPTION = ['--registry [alias]', 'also take namespaces from the registry on this cluster, followed live (default: $WAL_REGISTRY_CLUSTER, else the only cluster)'] as const;
