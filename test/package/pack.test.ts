import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

/**
 * wal as a user gets it: `npm pack` of this repo, `npm install <tarball>` into a sibling project
 * (dependencies from the npm registry or npm's cache, as for any user; dev dependencies not at all),
 * then `require('wal')`, `import … from 'wal'` and the `wal` bin from there. Needs `npm run build`
 * first (the test command's pretest builds); the pack does not rebuild, so that tests running beside
 * this one keep their dist/.
 */

const REPO = path.resolve(__dirname, '../..');
const TSC = path.join(REPO, 'node_modules', 'typescript', 'bin', 'tsc');

interface PackedFile {
  path: string;
}

/** Runs a command, bounded by `timeoutMs`; a failure carries its output. */
function run(command: string, args: string[], cwd: string, timeoutMs: number, env: NodeJS.ProcessEnv = process.env): string {
  try {
    return execFileSync(command, args, { cwd, env, timeout: timeoutMs, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (error) {
    const e = error as { message: string; stdout?: string; stderr?: string };
    throw new Error(`${command} ${args.join(' ')} (in ${cwd}) failed: ${e.message}\n${e.stdout ?? ''}\n${e.stderr ?? ''}`);
  }
}

/** Exit code and output of a command expected to fail. */
function runFailing(command: string, args: string[], cwd: string, timeoutMs: number, env: NodeJS.ProcessEnv): { status: number; stderr: string } {
  try {
    execFileSync(command, args, { cwd, env, timeout: timeoutMs, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (error) {
    const e = error as { status: number | null; stderr?: string };
    return { status: e.status ?? -1, stderr: e.stderr ?? '' };
  }
  throw new Error(`${command} ${args.join(' ')} succeeded; it was expected to fail`);
}

const CONFIG_YAML = `
clusters:
  primary:
    brokers: 127.0.0.1:9092
    schemaRegistryUrl: http://127.0.0.1:8081/apis/ccompat/v7
namespaces:
  - name: orders
`;

/** Plain JavaScript, as a CommonJS user writes it. */
const CHECK_JS = `
const assert = require('node:assert/strict');
const path = require('node:path');
const wal = require('wal');

(async () => {
  assert.equal(require.resolve('wal'), path.join(__dirname, 'node_modules', 'wal', 'dist', 'index.js'));
  for (const name of ['createWalWriter', 'loadConfig', 'parseConfig', 'findNamespace', 'TopologyBuilder', 'TopologyTestDriver']) {
    assert.equal(typeof wal[name], 'function', name);
  }

  const topology = new wal.TopologyBuilder()
    .addSource('intake', 'orders')
    .addProcessor('upper', () => ({ process() {} }), 'intake')
    .addStore('seen', { changelog: true }, 'upper')
    .addSink('out', 'orders.upper', 'upper')
    .build();
  assert.deepEqual(topology.sourceTopics, ['orders']);
  assert.equal(topology.changelogTopic('seen', 'wal.orders'), 'wal.orders.seen-changelog');
  assert.throws(() => new wal.TopologyBuilder().build(), wal.TopologyError);

  // The test driver runs a topology with no broker: a processor's unit test, as a user writes it.
  const upper = new wal.TopologyBuilder()
    .addSource('in', 'words')
    .addProcessor('upper', () => {
      let context;
      return { init: (c) => { context = c; }, process: (r) => context.forward({ key: r.key, value: Buffer.from(r.value.toString().toUpperCase()) }) };
    }, 'in')
    .addSink('out', 'words.upper', 'upper')
    .build();
  const driver = await wal.TopologyTestDriver.create(upper);
  await driver.pipeInput('words', { key: 'k', value: 'hello' });
  assert.deepEqual(driver.readAllOutput('words.upper').map((r) => r.value.toString()), ['HELLO']);
  await driver.close();

  const config = wal.parseConfig(${JSON.stringify(CONFIG_YAML)}, 'inline.yaml', {});
  assert.equal(wal.findNamespace(config, 'orders').topics.intake, 'wal.orders.intake');
  assert.throws(() => wal.parseConfig('namespaces: 3', 'bad.yaml', {}), wal.ConfigError);

  // No broker here: a namespace the config lacks is refused before any connection.
  const writer = wal.createWalWriter({ config, timeoutMs: 2000 });
  const result = await writer.writeToLog({ namespace: 'missing', payload: { hello: 'world' } });
  assert.equal(result.durable, 'false');
  assert.equal(result.reason, 'unknown-namespace');
  await writer.close();
  console.log('wal ok');
})().catch((error) => {
  console.error(error);
  process.exit(1);
});
`;

/** Strict TypeScript against the packed declarations (package.json "types"). */
const CHECK_TS = `
import {
  createWalWriter,
  parseConfig,
  TopologyBuilder,
  type Durability,
  type KeyValueStore,
  type Processor,
  type ProcessorContext,
  type Topology,
  type WalConfig,
  type WalRecord,
  type WriteResult,
} from 'wal';

class Counting implements Processor {
  private context!: ProcessorContext;
  private store!: KeyValueStore;

  init(context: ProcessorContext): void {
    this.context = context;
    this.store = context.getStore('seen');
  }

  async process(record: WalRecord): Promise<void> {
    if (record.key) await this.store.put(record.key, Buffer.from(String(this.context.now())));
    this.context.forward({ key: record.key, value: record.value });
  }
}

export const topology: Topology = new TopologyBuilder()
  .addSource('intake', 'orders')
  .addProcessor('count', () => new Counting(), 'intake')
  .addStore('seen', { changelog: true }, 'count')
  .addSink('out', 'orders.counted', 'count')
  .build();

const config: WalConfig = parseConfig('clusters: {}', 'x.yaml');

export async function write(): Promise<Durability> {
  const result: WriteResult = await createWalWriter({ config }).writeToLog({ namespace: 'orders', payload: 'hi' });
  return result.durable;
}

// @ts-expect-error durable is 'true' | 'false' | 'unknown', not a boolean (fails to compile if the types were any)
export const wrong: Durability = true;
`;

describe('wal as a user installs it: npm pack, then npm install <tarball> in a sibling project', () => {
  let tmp: string;
  let app: string;
  let shipped: string[];

  beforeAll(() => {
    if (!existsSync(path.join(REPO, 'dist', 'index.js')) || !existsSync(path.join(REPO, 'dist', 'cli', 'main.js'))) {
      throw new Error('dist/ is missing: run `npm run build` first (npm test does)');
    }
    tmp = mkdtempSync(path.join(tmpdir(), 'wal-pack-'));
    const [packed] = JSON.parse(run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', tmp], REPO, 60_000)) as {
      filename: string;
      files: PackedFile[];
    }[];
    shipped = packed.files.map((f) => f.path);
    app = path.join(tmp, 'app');
    mkdirSync(app);
    writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', private: true }));
    run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', path.join(tmp, packed.filename)], app, 240_000);
  }, 320_000);

  afterAll(() => {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('ships the build, the Avro schemas, README and LICENSE; no sources, tests, benches or scratch dirs', () => {
    expect(shipped).toEqual(
      expect.arrayContaining(['package.json', 'README.md', 'LICENSE', 'dist/index.js', 'dist/index.d.ts', 'dist/cli/main.js', 'schemas/WriteToLogRequest.avsc']),
    );
    const unexpected = shipped.filter((f) => !/^(package\.json|README\.md|LICENSE|dist\/.+|schemas\/.+\.avsc)$/.test(f));
    expect(unexpected).toEqual([]);
    expect(shipped.filter((f) => /^dist\/(test|bench|src)\/|\.wal|\.test\./.test(f))).toEqual([]);
  });

  it("require('wal') resolves through package.json main: the writer, the config loader and TopologyBuilder work", () => {
    writeFileSync(path.join(app, 'check.js'), CHECK_JS);
    expect(run(process.execPath, ['check.js'], app, 30_000)).toContain('wal ok');
  });

  it("import from 'wal' type-checks through package.json types (strict TypeScript; a wrong durable value is an error)", () => {
    writeFileSync(path.join(app, 'check.ts'), CHECK_TS);
    // The user's own @types/node; here the repo's, as the app installs nothing but wal. esModuleInterop
    // as `tsc --init` sets it: pino's declarations (the writer's logger option) need it.
    const typeRoots = path.join(REPO, 'node_modules', '@types');
    run(
      process.execPath,
      [TSC, '--noEmit', '--strict', '--target', 'es2022', '--module', 'commonjs', '--moduleResolution', 'node', '--esModuleInterop', '--types', 'node', '--typeRoots', typeRoots, 'check.ts'],
      app,
      120_000,
    );
  });

  it('carries no testcontainers (a dev dependency), and the wal bin loads every command without it', () => {
    expect(existsSync(path.join(app, 'node_modules', 'testcontainers'))).toBe(false);
    expect(() => require.resolve('testcontainers', { paths: [path.join(app, 'node_modules', 'wal')] })).toThrow();
    const help = run(path.join(app, 'node_modules', '.bin', 'wal'), ['--help'], app, 30_000);
    expect(help).toContain('Usage: wal');
    expect(help).toMatch(/^\s+dev\b/m);
  });

  it('wal dev on the Docker path says to install testcontainers', () => {
    const env = { ...process.env, WAL_DEV_MODE: 'docker' };
    const { status, stderr } = runFailing(path.join(app, 'node_modules', '.bin', 'wal'), ['dev', 'up', '--no-targets', '--dir', path.join(tmp, 'dev')], app, 30_000, env);
    expect(status).toBe(1);
    expect(stderr).toContain('install testcontainers');
  });
});
