import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { ConfigError } from './errors';
import type { NamespaceConfig, WalConfig } from './types';

// Provisional: full validation follows; the signatures are the contract.
export function parseConfig(text: string, file: string, _env: NodeJS.ProcessEnv = process.env): WalConfig {
  const raw = parseYaml(text) as Partial<WalConfig> | null;
  if (!raw) throw new ConfigError([`${file}: empty configuration`]);
  return { clusters: raw.clusters ?? {}, namespaces: raw.namespaces ?? [], sourceFiles: [file] };
}

export function loadConfig(paths: string[], env: NodeJS.ProcessEnv = process.env): WalConfig {
  const parts = paths.map((p) => parseConfig(readFileSync(p, 'utf8'), p, env));
  return {
    clusters: Object.assign({}, ...parts.map((p) => p.clusters)),
    namespaces: parts.flatMap((p) => p.namespaces),
    sourceFiles: paths,
  };
}

export function findNamespace(config: WalConfig, name: string): NamespaceConfig | undefined {
  return config.namespaces.find((ns) => ns.name === name);
}
