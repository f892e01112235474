/**
 * Environment interpolation in string values, shell style: `${VAR}` (must be set) and `${VAR:-default}`
 * (default when unset or empty). `$${` is a literal `${`, which is how saveConfig protects stored strings.
 * Runs on parsed YAML/JSON values, so interpolation can never change a document's structure.
 */

const REFERENCE = /\$\$\{|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

export interface InterpolationIssue {
  readonly path: (string | number)[];
  readonly message: string;
}

export function interpolateString(text: string, env: NodeJS.ProcessEnv, onMissing: (variable: string) => void): string {
  return text.replace(REFERENCE, (whole, variable: string | undefined, fallback: string | undefined) => {
    if (whole === '$${') return '${';
    const value = env[variable!];
    if (value !== undefined && value !== '') return value;
    if (fallback !== undefined) return fallback;
    onMissing(variable!);
    return '';
  });
}

/** Interpolates every string (not keys) in a parsed document; unset variables without default become issues. */
export function interpolateEnv(value: unknown, env: NodeJS.ProcessEnv, issues: InterpolationIssue[], path: (string | number)[] = []): unknown {
  if (typeof value === 'string') {
    return interpolateString(value, env, (variable) =>
      issues.push({ path, message: `uses environment variable ${variable}, which is not set (write \${${variable}:-default} to give a default)` }),
    );
  }
  if (Array.isArray(value)) return value.map((item, i) => interpolateEnv(item, env, issues, [...path, i]));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, interpolateEnv(v, env, issues, [...path, k])]));
  }
  return value;
}

/** Makes a resolved string survive a later load unchanged. */
export function escapeInterpolation(text: string): string {
  return text.replace(/\$\{/g, () => '$${');
}
