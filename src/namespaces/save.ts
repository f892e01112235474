import { writeFileSync } from 'node:fs';
import { stringify } from 'yaml';
import { escapeInterpolation } from './env';
import type { WalConfig } from './types';

/**
 * Writes a resolved configuration (all defaults explicit) as YAML, or JSON when the file ends in .json.
 * Strings are escaped against env interpolation so that loading the file gives back an equal WalConfig
 * (apart from sourceFiles). Secrets (passwords, keys) are written as resolved, so the file needs the care the
 * originals had.
 */
export function saveConfig(config: WalConfig, file: string): void {
  const document = {
    clusters: Object.fromEntries(
      Object.entries(config.clusters).map(([alias, { name: _name, schemaRegistryUrl, schemaRegistry, ...cluster }]) => [
        alias,
        schemaRegistry ? { ...cluster, schemaRegistry: { url: schemaRegistryUrl, ...schemaRegistry } } : { ...cluster, schemaRegistryUrl },
      ]),
    ),
    namespaces: config.namespaces,
  };
  const escaped = escapeStrings(document);
  writeFileSync(file, /\.json$/i.test(file) ? `${JSON.stringify(escaped, null, 2)}\n` : stringify(escaped, { lineWidth: 0 }));
}

function escapeStrings(value: unknown): unknown {
  if (typeof value === 'string') return escapeInterpolation(value);
  if (Array.isArray(value)) return value.map(escapeStrings);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value)
        .filter(([, v]) => v !== undefined)
        .map(([k, v]) => [k, escapeStrings(v)]),
    );
  }
  return value;
}
