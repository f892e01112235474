export { changeRefusals, currentKey, decodeEntry, DEFAULT_REGISTRY_TOPIC, encodeEntry, RegistryView, versionKey, type RegistryEntry } from './entries';
export { NamespaceRegistry, type RegistryOptions } from './registry';
export { clusterDocuments, entryLabel, rawNamespaces, resolveEntries, type ResolvedEntries } from './resolve';
