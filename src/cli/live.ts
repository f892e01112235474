import type { Logger } from '../observability/logger';
import { createKafkaClient } from '../kafka';
import { configFromDocuments, readConfigDocuments, type WalConfig } from '../namespaces';
import { DEFAULT_REGISTRY_TOPIC } from '../registry';
import { LiveConfig } from '../registry/live-config';
import { registryAlias } from './commands/namespace';

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
