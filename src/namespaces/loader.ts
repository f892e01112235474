import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseDocument } from 'yaml';
import { interpolateEnv, type InterpolationIssue } from './env';
import { ConfigError } from './errors';
import type { z } from 'zod';
import { describeZodIssue, fieldPath, formatIssue, UNKNOWN_FIELD, type Path } from './issues';
import { closestField, knownFields } from './suggest';
import { resolveConfig, type Sourced } from './resolve';
import { clusterSchema, fileSchema, NAME_PATTERN, namespaceSchema, SECRET_FIELDS, type RawCluster, type RawNamespace } from './schema';
import type { NamespaceConfig, WalConfig } from './types';

/**
 * Loading is two stages: each file alone (YAML/JSON syntax, env interpolation, schema), then the merge of all
 * files (clusters by alias, namespace names unique, cross-references). Every issue of a load is collected
 * into one ConfigError, one line each, naming file, namespace and field.
 */

interface ParsedFile {
  readonly clusters: [string, RawCluster][];
  readonly namespaces: RawNamespace[];
  /** Aliases defined but invalid: not reported again as "not defined" where namespaces name them. */
  readonly brokenClusters: string[];
}

const CONFIG_EXTENSIONS = /\.(ya?ml|json)$/i;

/** Parses one file's text; `issues` collects what is wrong. Entries that pass are returned even when others fail. */
function parseFile(text: string, file: string, env: NodeJS.ProcessEnv, issues: string[]): ParsedFile {
  const parsed: ParsedFile = { clusters: [], namespaces: [], brokenClusters: [] };
  const document = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (document.errors.length > 0) {
    for (const error of document.errors) issues.push(`${file}: ${error.message.split('\n')[0].replace(/:$/, '')}`);
    return parsed;
  }
  const data: unknown = document.toJS() ?? {};
  const top = fileSchema.safeParse(data, { reportInput: true });
  if (!top.success) {
    for (const { path, problem } of top.error.issues.flatMap(describeZodIssue)) {
      issues.push(formatIssue(file, path, problem === UNKNOWN_FIELD ? explainUnknownField(fileSchema, path, data) : problem, []));
    }
    return parsed;
  }
  const namespaceNames = top.data.namespaces.map((n) => (n && typeof n === 'object' ? (n as { name?: unknown }).name : undefined));

  const check = <T>(schema: z.ZodType<T>, value: unknown, at: Path): T | undefined => {
    const envIssues: InterpolationIssue[] = [];
    const interpolated = interpolateEnv(value, env, envIssues, [...at]);
    for (const issue of envIssues) issues.push(formatIssue(file, issue.path, issue.message, namespaceNames));
    const result = schema.safeParse(interpolated, { reportInput: true });
    if (!result.success) {
      for (const { path, problem: described } of result.error.issues.flatMap(describeZodIssue)) {
        const full = [...at, ...path];
        const explained = described === UNKNOWN_FIELD ? explainUnknownField(schema, path, interpolated) : described;
        // A password or key is never echoed back, not even a malformed one.
        const problem = full.some((p) => typeof p === 'string' && SECRET_FIELDS.has(p)) ? explained.replace(/ \(got [^]*\)$/, '') : explained;
        // A field whose env variable is missing was already reported; its empty value is no second problem.
        if (envIssues.some((e) => fieldPath(e.path) === fieldPath(full))) continue;
        issues.push(formatIssue(file, full, problem, namespaceNames));
      }
      return undefined;
    }
    return envIssues.length > 0 ? undefined : result.data;
  };

  for (const [alias, raw] of Object.entries(top.data.clusters)) {
    const aliasOk = NAME_PATTERN.test(alias);
    if (!aliasOk) issues.push(`${file}: cluster "${alias}": alias must match ^[a-zA-Z0-9._-]+$`);
    const cluster = check(clusterSchema, raw, ['clusters', alias]);
    if (cluster && aliasOk) parsed.clusters.push([alias, cluster]);
    else parsed.brokenClusters.push(alias);
  }
  top.data.namespaces.forEach((raw, i) => {
    const ns = check(namespaceSchema, raw, ['namespaces', i]);
    if (ns) parsed.namespaces.push(ns);
  });
  return parsed;
}

/** `is not a known field (did you mean "maxRetries"?)`, or the list of known fields when nothing is close. */
function explainUnknownField(schema: z.ZodType, path: Path, value: unknown): string {
  const known = knownFields(schema, path.slice(0, -1), value);
  const suggestion = closestField(String(path[path.length - 1]), known);
  if (suggestion) return `${UNKNOWN_FIELD} (did you mean "${suggestion}"?)`;
  return known.length ? `${UNKNOWN_FIELD} (known: ${known.join(', ')})` : UNKNOWN_FIELD;
}

function merge(files: { file: string; parsed: ParsedFile }[], issues: string[]): WalConfig {
  const clusters = new Map<string, Sourced<RawCluster>>();
  const namespaces: Sourced<RawNamespace>[] = [];
  const brokenClusters = new Set<string>();
  for (const { file, parsed } of files) {
    for (const alias of parsed.brokenClusters) brokenClusters.add(alias);
    for (const [alias, cluster] of parsed.clusters) {
      const earlier = clusters.get(alias);
      if (earlier && JSON.stringify(earlier.value) !== JSON.stringify(cluster)) {
        issues.push(`${file}: cluster "${alias}" is defined differently in ${earlier.file}`);
      } else if (!earlier) {
        clusters.set(alias, { file, value: cluster });
      }
    }
    for (const ns of parsed.namespaces) namespaces.push({ file, value: ns });
  }
  const { config, issues: resolveIssues } = resolveConfig(clusters, namespaces, files.map((f) => f.file), brokenClusters);
  issues.push(...resolveIssues);
  return config;
}

/** Configuration text and the name it is known by in error messages (a file path, or a registry entry). */
export interface ConfigDocument {
  readonly file: string;
  readonly text: string;
}

/** Parses configuration text as if read from `file` (the name is used in error messages only). */
export function parseConfig(text: string, file: string, env: NodeJS.ProcessEnv = process.env): WalConfig {
  return configFromDocuments([{ file, text }], env);
}

/** Parses and merges documents as if each were a file; throws ConfigError listing every problem found. */
export function configFromDocuments(documents: readonly ConfigDocument[], env: NodeJS.ProcessEnv = process.env): WalConfig {
  const issues: string[] = [];
  const config = merge(
    documents.map(({ file, text }) => ({ file, parsed: parseFile(text, file, env, issues) })),
    issues,
  );
  if (issues.length > 0) throw new ConfigError(issues);
  return config;
}

/** Reads configuration files (a directory stands for its config files in name order) as documents. */
export function readConfigDocuments(paths: string[]): ConfigDocument[] {
  const issues: string[] = [];
  if (paths.length === 0) throw new ConfigError(['no configuration files given']);
  const documents: ConfigDocument[] = [];
  for (const file of expand(paths, issues)) {
    try {
      documents.push({ file, text: readFileSync(file, 'utf8') });
    } catch (error) {
      issues.push(`${file}: cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
    }
  }
  if (issues.length > 0) throw new ConfigError(issues);
  return documents;
}

/**
 * Loads and merges configuration files (YAML or JSON). A directory stands for its *.yaml, *.yml and *.json
 * files in name order. Throws ConfigError listing every problem found.
 */
export function loadConfig(paths: string[], env: NodeJS.ProcessEnv = process.env): WalConfig {
  return configFromDocuments(readConfigDocuments(paths), env);
}

function expand(paths: string[], issues: string[]): string[] {
  return paths.flatMap((path) => {
    let isDirectory = false;
    try {
      isDirectory = statSync(path).isDirectory();
    } catch {
      return [path]; // reported when read
    }
    if (!isDirectory) return [path];
    const found = readdirSync(path).filter((name) => CONFIG_EXTENSIONS.test(name)).sort().map((name) => join(path, name));
    if (found.length === 0) issues.push(`${path}: directory holds no .yaml, .yml or .json files`);
    return found;
  });
}

export function findNamespace(config: WalConfig, name: string): NamespaceConfig | undefined {
  return config.namespaces.find((ns) => ns.name === name);
}
