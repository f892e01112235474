import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { createWalWriter } from '../../src/api';
import { parseConfig } from '../../src/namespaces';
import { readInstanceStatuses } from '../../src/ops/instance';
import { testCluster, uniqueTopic } from '../support/clusters';
import { collect, header, stopCollectors } from '../support/delayed-queue';
import { eventually } from '../support/timing';
import { killStartedWal, runWal, startWalApi, startWalProcess, type WalApiProcess, type WalProcess } from '../support/wal-cli';

jest.setTimeout(180_000);

/**
 * The namespace registry on the real broker: `wal namespace apply` stores validated namespaces in a
 * compacted topic, and `wal start --registry` instances run them live, without a restart.
 */
const cluster = testCluster('A');
const kafka = new Kafka({ clientId: 'registry-test', brokers: cluster.brokers, logLevel: logLevel.NOTHING });
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wal-registry-'));
const registryTopic = uniqueTopic('registry');
const clustersFile = path.join(dir, 'clusters.yaml');
const other = testCluster('B');
fs.writeFileSync(
  clustersFile,
  [
    'clusters:',
    `  primary: { brokers: "${cluster.brokers.join(',')}", schemaRegistryUrl: "${cluster.registryUrl}" }`,
    `  other: { brokers: "${other.brokers.join(',')}", schemaRegistryUrl: "${other.registryUrl}" }`,
    '',
  ].join('\n'),
);
const common = ['--topology', clustersFile, '--registry', 'primary', '--registry-topic', registryTopic];
const registryArgs = ['--registry', 'primary', '--registry-topic', registryTopic];
const started: WalProcess[] = [];

let api: WalApiProcess | undefined;
afterAll(async () => {
  await api?.stop().catch(() => undefined);
  killStartedWal();
  await stopCollectors();
});

/** A delayed-queue namespace file: delay 0, a Kafka target per name in `targets`, the first the default. */
function namespaceFile(name: string, targets: Record<string, string>, extra: string[] = []): string {
  const file = path.join(dir, `${name}-${Object.keys(targets).join('-')}-${extra.length}.yaml`);
  fs.writeFileSync(
    file,
    [
      'namespaces:',
      `  - name: ${name}`,
      '    partitions: 2',
      '    targets:',
      ...Object.entries(targets).map(([t, topic]) => `      ${t}: { type: kafka, topic: ${topic} }`),
      `    defaultTarget: ${Object.keys(targets)[0]}`,
      '    runtime: { commitIntervalMs: 200, punctuationIntervalMs: 50 }',
      ...extra.map((line) => `    ${line}`),
      '',
    ].join('\n'),
  );
  return file;
}

async function apply(file: string, ...args: string[]) {
  return runWal('namespace', ['apply', '-f', file, ...common, ...args]);
}

/** Writes `id` to `name` as a client with the namespace's file would, and waits until it reaches `topic`. */
async function writeAndAwait(name: string, file: string, topic: string, id: string, timeoutMs = 60_000): Promise<number> {
  const config = parseConfig(`${fs.readFileSync(clustersFile, 'utf8')}\n${fs.readFileSync(file, 'utf8')}`, file);
  const writer = createWalWriter({ config });
  const delivered = await collect(kafka, topic);
  const started = Date.now();
  try {
    expect(await writer.writeToLog({ namespace: name, id, payload: `payload ${id}` })).toMatchObject({ durable: 'true' });
    const deadline = started + timeoutMs;
    while (!delivered.messages.some((m) => header(m, 'wal-id') === id)) {
      if (Date.now() > deadline) throw new Error(`${id} did not reach ${topic} within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 100));
    }
    return Date.now() - started;
  } finally {
    await delivered.stop();
    await writer.close();
  }
}

async function namespacesOf(stateDir: string): Promise<string[]> {
  const statuses = await readInstanceStatuses(stateDir);
  return statuses.flatMap((s) => s.namespaces.map((n) => n.namespace)).sort();
}

/** Polls `probe` until `ok` holds for its value (the shared poller, test/support/timing.ts). */
function until<T>(what: string, probe: () => Promise<T>, ok: (value: T) => boolean, timeoutMs = 30_000): Promise<T> {
  return eventually(async () => {
    const value = await probe();
    return ok(value) ? value : undefined;
  }, timeoutMs, what);
}

describe('namespace registry (real broker)', () => {
  const name = uniqueTopic('live');
  const first = `${name}.first`;
  const second = `${name}.second`;
  const stateDir = path.join(dir, 'state-default');

  it('runs a namespace applied after the instance started, then a change of it, without a restart; delete stops it', async () => {
    const instance = await startWalProcess({ configFile: clustersFile, stateDir, instanceId: 'reg-1', extraArgs: registryArgs });
    started.push(instance);
    expect(await namespacesOf(stateDir)).toEqual([]);

    const v1 = namespaceFile(name, { first });
    const applied = await apply(v1);
    expect([applied.code, applied.stdout]).toEqual([0, expect.stringContaining(`namespace ${name}: created (v1)`)]);
    const appliedAt = Date.now();
    await until('namespace started', () => namespacesOf(stateDir), (names) => names.includes(name));
    const firstDelivery = await writeAndAwait(name, v1, first, 'one');
    process.stdout.write(`registry: apply → first delivery ${Date.now() - appliedAt} ms (write → delivery ${firstDelivery} ms)\n`);

    // Unchanged: nothing stored.
    expect((await apply(v1)).stdout).toContain(`namespace ${name}: unchanged (v1)`);

    // A new default target: the instance restarts only that namespace.
    const v2 = namespaceFile(name, { second, first });
    expect((await apply(v2)).stdout).toContain(`namespace ${name}: updated v1 → v2`);
    await until('change taken', async () => instance.output().includes('"version":2') && instance.output().includes('registry: namespace started'), Boolean);
    await writeAndAwait(name, v2, second, 'two');
    expect(instance.child.exitCode).toBeNull();

    // A registry namespace is paused and resumed like one from the files.
    const pausedRun = await runWal('namespace', ['pause', name, ...common]);
    expect([pausedRun.code, pausedRun.stdout]).toEqual([0, expect.stringContaining(`namespace ${name}: paused`)]);
    const pausedOf = async () => (await readInstanceStatuses(stateDir)).flatMap((st) => st.namespaces).find((n) => n.namespace === name)?.paused;
    await until('paused on the instance', pausedOf, (p) => p === true);
    expect((await runWal('namespace', ['resume', name, ...common])).code).toBe(0);
    await until('resumed on the instance', pausedOf, (p) => p === false);

    const history = await runWal('namespace', ['history', name, ...common, '--json']);
    expect(history.stdout.trim().split('\n').map((l) => (JSON.parse(l) as { version: number }).version)).toEqual([1, 2]);
    const got = await runWal('namespace', ['get', name, ...common]);
    expect(got.stdout).toContain(`topic: ${second}`);

    // A timer still pending: delete asks for --force and says how many.
    const config = parseConfig(`${fs.readFileSync(clustersFile, 'utf8')}\n${fs.readFileSync(v2, 'utf8')}`, v2);
    const writer = createWalWriter({ config });
    expect(await writer.writeToLog({ namespace: name, id: 'later', payload: 'x', lifecycle: { delayMs: 600_000 } })).toMatchObject({ durable: 'true' });
    await writer.close();
    const refused = await until(
      'pending timer committed',
      () => runWal('namespace', ['delete', name, ...common, '--dry-run']),
      (run) => run.code !== 0,
    );
    expect(refused.stderr).toContain(`namespace "${name}" still has 1 pending timer(s)`);
    expect((await runWal('namespace', ['delete', name, ...common])).code).not.toBe(0);
    const deleted = await runWal('namespace', ['delete', name, ...common, '--force']);
    expect([deleted.code, deleted.stdout]).toEqual([0, expect.stringContaining(`namespace ${name}: deleted (v3)`)]);
    await until('namespace stopped', () => namespacesOf(stateDir), (names) => !names.includes(name));
    expect((await runWal('namespace', ['list', ...common])).stdout).not.toContain(`${name} `);
    expect((await runWal('namespace', ['history', name, ...common])).stdout).toContain('deleted');
  });

  it('refuses invalid applies, shrinking partitions and moving cluster, storing nothing', async () => {
    const victim = uniqueTopic('kept');
    const good = namespaceFile(victim, { out: `${victim}.out` });
    expect((await apply(good)).code).toBe(0);

    const bad = namespaceFile(victim, { out: `${victim}.out` }, ['maxRetries: lots']);
    const refused = await apply(bad);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain(`${bad}: namespace "${victim}": maxRetries must be a number (got "lots")`);

    const shrink = path.join(dir, 'shrink.yaml');
    fs.writeFileSync(shrink, fs.readFileSync(good, 'utf8').replace('partitions: 2', 'partitions: 1'));
    const shrunk = await apply(shrink);
    expect(shrunk.code).not.toBe(0);
    expect(shrunk.stderr).toContain('partitions: 2 → 1 would shrink its topics');

    const moved = await apply(namespaceFile(victim, { out: `${victim}.out` }, ['cluster: other']));
    expect(moved.code).not.toBe(0);
    expect(moved.stderr).toContain('cluster: "primary" → "other" would leave its topics, timers and DLQ behind');

    const history = await runWal('namespace', ['history', victim, ...common, '--json']);
    expect(history.stdout.trim().split('\n')).toHaveLength(1);
    const dry = await apply(namespaceFile(victim, { out: `${victim}.out`, more: `${victim}.more` }), '--dry-run');
    expect(dry.stdout).toContain(`namespace ${victim}: would be updated v1 → v2`);
    expect((await runWal('namespace', ['history', victim, ...common, '--json'])).stdout.trim().split('\n')).toHaveLength(1);
    expect((await runWal('namespace', ['delete', victim, ...common])).code).toBe(0);
  });

  it('runs on each shard only the namespaces of that shard', async () => {
    const [a, b] = [uniqueTopic('shard-a'), uniqueTopic('shard-b')];
    const dirA = path.join(dir, 'state-a');
    const dirB = path.join(dir, 'state-b');
    started.push(await startWalProcess({ configFile: clustersFile, stateDir: dirA, instanceId: 'shard-a', extraArgs: [...registryArgs, '--shard', 'alpha'] }));
    started.push(await startWalProcess({ configFile: clustersFile, stateDir: dirB, instanceId: 'shard-b', extraArgs: [...registryArgs, '--shard', 'beta'] }));
    const fileA = namespaceFile(a, { out: `${a}.out` }, ['shard: alpha']);
    const fileB = namespaceFile(b, { out: `${b}.out` }, ['shard: beta']);
    expect((await apply(fileA)).code).toBe(0);
    expect((await apply(fileB)).code).toBe(0);
    await until('shard alpha', () => namespacesOf(dirA), (names) => names.includes(a));
    await until('shard beta', () => namespacesOf(dirB), (names) => names.includes(b));
    expect(await namespacesOf(dirA)).toEqual([a]);
    expect(await namespacesOf(dirB)).toEqual([b]);
    await writeAndAwait(b, fileB, `${b}.out`, 'on-beta');

    // Moving a namespace to the other shard: the old one stops it, the new one starts it.
    const moved = namespaceFile(a, { out: `${a}.out` }, ['shard: beta']);
    expect((await apply(moved)).code).toBe(0);
    await until('moved to beta', () => namespacesOf(dirB), (names) => names.includes(a));
    await until('left alpha', () => namespacesOf(dirA), (names) => !names.includes(a));
    await writeAndAwait(a, moved, `${a}.out`, 'moved');
  });

  it('takes writes for a namespace applied a moment ago, and applies, shows and deletes namespaces over HTTP (wal api --registry)', async () => {
    api = await startWalApi(['-t', clustersFile, '--port', '0', ...registryArgs]);
    const fresh = uniqueTopic('http-ns');
    const url = `${api.base}/v1/namespaces/${fresh}`;
    const put = (body: unknown, query = '') => fetch(`${url}${query}`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const document = { partitions: 2, targets: { out: { type: 'kafka', topic: `${fresh}.out` } }, defaultTarget: 'out' };

    const dry = await put(document, '?dryRun=true');
    expect([dry.status, await dry.json()]).toEqual([200, expect.objectContaining({ action: 'created', version: 1, dryRun: true })]);
    expect((await fetch(url)).status).toBe(404);
    const created = await put(document);
    expect([created.status, await created.json()]).toEqual([200, expect.objectContaining({ action: 'created', version: 1, message: `namespace ${fresh}: created (v1)` })]);

    // Its intake topic is created by the instances that run it; none runs here, so create it as they would.
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: `wal.${fresh}.intake`, numPartitions: 2 }], waitForLeaders: true });
    await admin.disconnect();
    // The API server and a one-shot wal write both know the namespace stored a moment ago.
    const write = await fetch(`${api.base}/v1/wal/write`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ namespace: fresh, id: 'via-http', payload: { a: 1 } }) });
    expect([write.status, await write.json()]).toEqual([200, expect.objectContaining({ durable: 'true', id: 'via-http' })]);
    const cli = await runWal('write', ['-n', fresh, '-p', '{"b":2}', '--id', 'via-cli', '-t', clustersFile, ...registryArgs]);
    expect([cli.code, JSON.parse(cli.stdout)]).toEqual([0, expect.objectContaining({ durable: 'true', id: 'via-cli' })]);
    const unknown = await runWal('write', ['-n', `${fresh}-nope`, '-p', '{}', '-t', clustersFile, ...registryArgs]);
    expect([unknown.code, JSON.parse(unknown.stdout)]).toEqual([1, expect.objectContaining({ durable: 'false', reason: 'unknown-namespace' })]);

    const invalid = await put({ ...document, maxRetries: 'lots' });
    const invalidBody = (await invalid.json()) as { issues: string[] };
    expect(invalid.status).toBe(400);
    expect(invalidBody.issues).toEqual([expect.stringContaining(`namespace "${fresh}": maxRetries must be a number`)]);
    const shrink = await put({ ...document, partitions: 1 });
    expect([shrink.status, ((await shrink.json()) as { message: string }).message]).toEqual([409, expect.stringContaining('partitions: 2 → 1 would shrink its topics')]);
    const renamed = await put({ ...document, name: 'other-name' });
    expect(renamed.status).toBe(400);

    const got = (await (await fetch(url)).json()) as { version: number; document: Record<string, unknown>; appliedBy: string };
    expect(got).toMatchObject({ version: 1, document: { ...document, name: fresh }, appliedBy: 'api:keyless' });
    const history = (await (await fetch(`${url}/history`)).json()) as { versions: unknown[] };
    expect(history.versions).toHaveLength(1);

    const deleted = await fetch(url, { method: 'DELETE' });
    expect([deleted.status, await deleted.json()]).toEqual([200, expect.objectContaining({ action: 'deleted', version: 2 })]);
    expect((await fetch(url)).status).toBe(404);
    expect((await fetch(url, { method: 'DELETE' })).status).toBe(404);
  });
});
