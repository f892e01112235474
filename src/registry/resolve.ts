import { parseDocument, stringify } from 'yaml';
import { configFromDocuments, ConfigError, type ConfigDocument, type NamespaceConfig, type WalConfig } from '../namespaces';
import type { RegistryEntry } from './entries';

/** How a registry entry is named in error messages, where a file path would be. */
export function entryLabel(topic: string, entry: Pick<RegistryEntry, 'name' | 'version'>): string {
  return `registry ${topic}: ${entry.name} v${entry.version}`;
}

/**
 * The cluster part of configuration documents, namespaces left out, under the same file names (so
 * `file:` secrets still resolve relative to their file). Registry entries are resolved against it.
 */
export function clusterDocuments(documents: readonly ConfigDocument[]): ConfigDocument[] {
  return documents.map(({ file, text }) => {
    const data: unknown = parseDocument(text).toJS();
    const clusters = data && typeof data === 'object' && 'clusters' in data ? (data).clusters : {};
    return { file, text: stringify({ clusters: clusters ?? {} }) };
  });
}

/** The namespaces (raw mappings, as written) of configuration documents, each with its file. */
export function rawNamespaces(documents: readonly ConfigDocument[]): Array<{ file: string; document: Record<string, unknown> }> {
  return documents.flatMap(({ file, text }) => {
    const data: unknown = parseDocument(text).toJS();
    const list = data && typeof data === 'object' && 'namespaces' in data ? (data).namespaces : [];
    return Array.isArray(list) ? list.filter((n): n is Record<string, unknown> => n !== null && typeof n === 'object').map((document) => ({ file, document })) : [];
  });
}

export interface ResolvedEntries {
  /** The clusters, and every registry namespace that resolved. */
  readonly config: WalConfig;
  /** Entries this environment cannot resolve (a missing env variable, an unknown cluster alias): skipped. */
  readonly problems: Array<{ readonly name: string; readonly version: number; readonly error: ConfigError }>;
}

/**
 * Resolves each registry entry on its own against the cluster documents, so that one entry this
 * instance cannot resolve keeps only itself from running.
 */
export function resolveEntries(clusters: readonly ConfigDocument[], entries: Iterable<RegistryEntry>, topic: string, env: NodeJS.ProcessEnv = process.env): ResolvedEntries {
  const base = configFromDocuments(clusters, env);
  const namespaces: NamespaceConfig[] = [];
  const problems: Array<{ name: string; version: number; error: ConfigError }> = [];
  for (const entry of entries) {
    if (!entry.document) continue;
    try {
      const config = configFromDocuments([...clusters, { file: entryLabel(topic, entry), text: JSON.stringify({ namespaces: [entry.document] }) }], env);
      namespaces.push(config.namespaces[0]);
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      problems.push({ name: entry.name, version: entry.version, error });
    }
  }
  return { config: { ...base, namespaces }, problems };
}
