import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { mintApiKey } from '../../src/api';
import { applyTopics, createKafkaClient } from '../../src/kafka';
import { loadConfig } from '../../src/namespaces';
import { planTopics } from '../../src/namespaces/topic-plan';
import { uniqueTopic } from '../support/clusters';
import { ordersNamespace, ROOT, startWalApi, WalApiProcess } from '../support/wal-cli';

/**
 * schemathesis (PyPI) fuzzes the running `wal api` from its own OpenAPI document: every documented
 * operation, a bounded number of examples each, every response checked against the document.
 * scripts/install-schemathesis.sh (npm test's pretest) makes .venv-schemathesis; this test runs it too,
 * so that it fails with the installer's reason, never skips, when schemathesis cannot be installed.
 */
const SCHEMATHESIS = path.join(ROOT, '.venv-schemathesis', 'bin', 'schemathesis');
const RUN_TIMEOUT_MS = 90_000;

interface FuzzRun {
  code: number | null;
  output: string;
  summary: string;
}

/**
 * One worker: with several, schemathesis's data generation trips a CPython 3.11 bug ("SystemError: AST
 * constructor recursion depth mismatch" when threads parse lambdas) and reports a Runtime Error.
 */
function schemathesis(args: string[]): Promise<FuzzRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(SCHEMATHESIS, ['run', '--no-color', '--workers', '1', '--generation-database', 'none', ...args], { cwd: os.tmpdir(), env: { ...process.env, NO_COLOR: '1' } });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`schemathesis did not finish within ${RUN_TIMEOUT_MS} ms:\n${output}`));
    }, RUN_TIMEOUT_MS);
    child.on('exit', (code) => {
      clearTimeout(timer);
      const lines = output.split('\n').map((line) => line.trim());
      const cases = lines[lines.indexOf('Test cases:') + 1] ?? '';
      const summary = `${lines.filter((line) => /^=+ .* in [\d.]+s =+$/.test(line)).pop() ?? '(no summary line)'} (${cases})`;
      resolve({ code, output, summary });
    });
  });
}

interface Har {
  log: { entries: Array<{ request: { method: string; url: string }; response: { status: number } }> };
}

describe('schemathesis against a running wal api', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wal-api-fuzz-'));
  const topology = path.join(dir, 'orders.yaml');
  const keys = path.join(dir, 'keys.yaml');
  const key = mintApiKey();
  let api: WalApiProcess;

  beforeAll(async () => {
    const install = spawnSync('bash', [path.join(ROOT, 'scripts', 'install-schemathesis.sh')], { encoding: 'utf8', timeout: 300_000 });
    if (install.status !== 0) throw new Error(`scripts/install-schemathesis.sh failed (${install.status}): ${install.stdout}${install.stderr}`);
    await ordersNamespace(topology, uniqueTopic('api-fuzz-intake'));
    // Every namespace, so that writes reach the writer (an unknown one is its 404), not only 403s; a
    // limit far above what the fuzzer sends, so that it sees the API, not 429s.
    // Admin too, so that the DLQ routes run on the namespace's real (empty) DLQ and marks topics.
    fs.writeFileSync(keys, `keys:\n  - { id: fuzz, hash: "${key.hash}", namespaces: ["*"], roles: [write, admin], rateLimit: { max: 100000, timeWindow: 1m } }\n`);
    const config = loadConfig([topology]);
    const admin = createKafkaClient(config.clusters.A, 'wal-api-fuzz').admin();
    await admin.connect();
    try {
      await applyTopics(admin, planTopics(config.namespaces[0]));
    } finally {
      await admin.disconnect();
    }
    api = await startWalApi(['-t', topology, '--port', '0', '--keys-file', keys], { WAL_LOG_LEVEL: 'error' });
  }, 360_000);

  afterAll(async () => {
    await api?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('finds no server error and no response that violates the document, with a valid key', async () => {
    // All checks but positive_data_acceptance: the writer has rules the schema cannot say (the targets of
    // a namespace, delays given one way, payload or payloadBase64), and a schema-valid body breaking
    // one of them rightly gets 400.
    const run = await schemathesis([`${api.base}/openapi.json`, '--header', `Authorization: Bearer ${key.key}`, '--checks', 'all', '--exclude-checks', 'positive_data_acceptance', '--max-examples', '100', '--seed', '1']);
    process.stdout.write(`schemathesis (with key): ${run.summary}\n`);
    if (run.code !== 0) throw new Error(`schemathesis exited ${run.code}:\n${run.output}`);
    expect(run.summary).not.toMatch(/failure|error/);
    // The document's examples were sent and answered: the writes to 'orders', and the four DLQ admin
    // operations on orders' real (empty) DLQ.
    expect(run.output).toMatch(/Examples \(in [\d.]+s\)\s+✅ 6 passed/);
  }, 120_000);

  it('gets only 401s from the protected operations (writes, DLQ admin) without a key', async () => {
    const har = path.join(dir, 'keyless.har');
    const run = await schemathesis([`${api.base}/openapi.json`, '--include-path-regex', '^/v1/', '--checks', 'not_a_server_error', '--max-examples', '50', '--seed', '2', '--report', 'har', '--report-har-path', har]);
    process.stdout.write(`schemathesis (no key): ${run.summary}\n`);
    if (run.code !== 0) throw new Error(`schemathesis exited ${run.code}:\n${run.output}`);
    // The documented operations; other methods on these paths are 405 for anyone.
    const documented = ({ request: { method, url } }: Har['log']['entries'][number]): boolean => {
      const { pathname } = new URL(url);
      if (method === 'POST') return /^\/v1\/(wal\/write(-batch)?|namespaces\/[^/]+\/dlq\/(replay|purge))$/.test(pathname);
      return method === 'GET' && /^\/v1\/namespaces\/[^/]+\/dlq(\/depth)?$/.test(pathname);
    };
    const entries = (JSON.parse(fs.readFileSync(har, 'utf8')) as Har).log.entries.filter(documented);
    expect(entries.length).toBeGreaterThan(10);
    expect(new Set(entries.map((entry) => new URL(entry.request.url).pathname.split('/')[2]))).toEqual(new Set(['wal', 'namespaces']));
    const statuses = [...new Set(entries.map((entry) => entry.response.status))];
    expect(statuses).toEqual([401]);
  }, 120_000);
});
