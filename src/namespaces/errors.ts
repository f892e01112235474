/**
 * A configuration that cannot be used. Never retriable: the same file fails the same way until someone edits it.
 * `issues` holds every problem found in one load, each naming file, namespace and field path.
 */
export class ConfigError extends Error {
  readonly retriable = false;
  readonly issues: string[];

  constructor(issues: string[]) {
    super(issues.length === 1 ? issues[0] : `invalid configuration (${issues.length} issues):\n${issues.map((i) => `  - ${i}`).join('\n')}`);
    this.name = 'ConfigError';
    this.issues = issues;
  }
}
