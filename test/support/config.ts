import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, parseConfig } from '../../src/namespaces';

/** The one cluster, `primary`, that the config tests' topology files start with. */
export const PRIMARY_CLUSTER = `
clusters:
  primary:
    brokers: 127.0.0.1:9092
    schemaRegistryUrl: http://127.0.0.1:8081/apis/ccompat/v7
`;

/** The ConfigError thrown by parsing `text`, or a failure when it parses. */
export function configErrorOf(text: string, file = 'topologies/x.yaml', env: NodeJS.ProcessEnv = {}): ConfigError {
  try {
    parseConfig(text, file, env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error('expected a ConfigError, but the configuration was accepted');
}

/** Makes temp dirs for a test file, removed after its tests: call once, at the file's top level. */
export function tempDirsFor(prefix: string): () => string {
  const dirs: string[] = [];
  afterAll(() => dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));
  return () => {
    const dir = mkdtempSync(join(tmpdir(), prefix));
    dirs.push(dir);
    return dir;
  };
}
