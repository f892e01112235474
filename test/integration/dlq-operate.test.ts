import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Kafka } from 'kafkajs';
import { createWalWriter, mintApiKey } from '../../src/api';
import type { NamespaceConfig, WalConfig } from '../../src/namespaces';
import { dlqMarksTopic } from '../../src/namespaces/topic-plan';
import { DLQ_HEADERS, KAFKA_TARGET_HEADERS } from '../../src/wire/headers';
import { collect, configFile, delayedQueueNamespace, header, stopCollectors, type Collected } from '../support/delayed-queue';
import { respond, startHttpTargetServer, type HttpTargetServer } from '../support/http-target';
import { orTimeout } from '../support/timing';
import { killStartedWal, runWal, startWalApi, startWalProcess, type WalApiProcess, type WalProcess } from '../support/wal-cli';

jest.setTimeout(120_000);

/**
 * The DLQ operated as a person would: `wal start` dead-letters requests its HTTP target refuses, then
 * `wal dlq list/purge/replay/depth` and the HTTP admin routes act on them, and the depth gauge on
 * `wal start`'s /metrics follows. Each step asserts on the DLQ topic, the marks topic and the targets.
 */

interface Listed {
  id: string;
  kind: string;
  offset: string;
  mark?: string;
  value: string | null;
}

let server: HttpTargetServer;
let config: WalConfig;
let ns: NamespaceConfig;
let kafka: Kafka;
let out: string;
let topology: string;
let wal: WalProcess;
let adminUrl: string;
let outTopic: Collected;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wal-dlq-operate-'));

async function poll<T>(what: string, probe: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last = await probe();
  while (!done(last)) {
    if (Date.now() > deadline) throw new Error(`${what}: still ${JSON.stringify(last)} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 250));
    last = await probe();
  }
  return last;
}

async function dlq(command: string, ...args: string[]) {
  return runWal('dlq', [command, '--namespace', ns.name, '--topology', topology, ...args], 60_000);
}

async function listed(...args: string[]): Promise<Listed[]> {
  const run = await dlq('list', '--json', ...args);
  if (run.code !== 0) throw new Error(`wal dlq list exited ${run.code}: ${run.stderr}`);
  return run.stdout
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as { offset: string; value: string | null; headers: Record<string, string>; mark?: { action: string } })
    .map((r) => ({ id: r.headers[DLQ_HEADERS.id], kind: r.headers[DLQ_HEADERS.kind], offset: r.offset, mark: r.mark?.action, value: r.value }));
}

const ids = (records: readonly Listed[]) => records.map((r) => r.id).sort();

async function depth(): Promise<number> {
  const run = await dlq('depth', '--json');
  if (run.code !== 0) throw new Error(`wal dlq depth exited ${run.code}: ${run.stderr}`);
  return (JSON.parse(run.stdout) as { depth: number }).depth;
}

async function dlqBounds(): Promise<{ low: string; high: string }> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const [p0] = await admin.fetchTopicOffsets(ns.topics.dlq);
    return { low: p0.low, high: p0.high };
  } finally {
    await admin.disconnect();
  }
}

async function gauge(): Promise<number | undefined> {
  const text = await (await fetch(`${adminUrl}/metrics`)).text();
  const match = new RegExp(`^wal_dlq_depth_records\\{namespace="${ns.name}",backend="kafka"\\} (\\d+)$`, 'm').exec(text);
  return match ? Number(match[1]) : undefined;
}

beforeAll(async () => {
  server = await startHttpTargetServer(respond.always(400));
  ({ config, namespace: ns, kafka, out } = await delayedQueueNamespace({
    partitions: 1,
    targets: `      hook: { type: http, url: "${server.url}", method: POST, timeoutMs: 2s }`,
    defaultTarget: 'hook',
  }));
  topology = configFile(config);
  wal = await startWalProcess({ configFile: topology, stateDir: path.join(dir, 'state'), instanceId: 'dlq-operate', extraArgs: ['--admin-port', '0', '--admin-host', '127.0.0.1', '--dlq-depth-interval', '500ms'] });
  adminUrl = /"url":"(http:\/\/[^"]+)"[^\n]*admin endpoint/.exec(wal.output())![1];
  outTopic = await collect(kafka, out);

  // Offset 0 of the DLQ: a record that is not Avro (poison); then six requests the target refuses (400).
  const deadLetters = await collect(kafka, ns.topics.dlq);
  const producer = kafka.producer();
  await producer.connect();
  await producer.send({ topic: ns.topics.intake, messages: [{ key: 'junk', value: Buffer.from('not avro') }] });
  await producer.disconnect();
  await deadLetters.waitFor(1, 30_000);
  const writer = createWalWriter({ config });
  for (let i = 1; i <= 6; i += 1) expect((await writer.writeToLog({ namespace: ns.name, id: `r-${i}`, payload: `payload ${i}` })).durable).toBe('true');
  await writer.close();
  await deadLetters.waitFor(7, 30_000);
  await deadLetters.stop();
}, 180_000);

afterAll(async () => {
  if (wal && wal.child.exitCode === null) {
    wal.child.kill('SIGTERM');
    await orTimeout(wal.exited, 20_000, 'still running');
  }
  killStartedWal();
  await stopCollectors();
  await server?.close();
});

describe('wal dlq list / purge / replay / depth on a real DLQ', () => {
  it('plans the compacted marks topic beside the DLQ, lists every dead letter and counts them all', async () => {
    const admin = kafka.admin();
    await admin.connect();
    const described = await admin.describeConfigs({ resources: [{ type: 2, name: dlqMarksTopic(ns.topics.dlq), configNames: ['cleanup.policy'] }], includeSynonyms: false });
    await admin.disconnect();
    expect(described.resources[0].configEntries[0]).toMatchObject({ configName: 'cleanup.policy', configValue: 'compact' });

    const all = await listed();
    expect(all.map((r) => `${r.offset} ${r.id} ${r.kind}`)).toEqual(['0 offset-0-0 poison', '1 r-1 permanent', '2 r-2 permanent', '3 r-3 permanent', '4 r-4 permanent', '5 r-5 permanent', '6 r-6 permanent']);
    expect(await depth()).toBe(7);
    expect(await poll('the depth gauge', gauge, (v) => v === 7)).toBe(7);
  });

  it('purge --dry-run prints the selection and marks nothing', async () => {
    const run = await dlq('purge', '--kind', 'poison', '--dry-run');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('id=offset-0-0  kind=poison');
    expect(run.stdout).toContain(`would purge 1 record(s) of ${ns.topics.dlq}`);
    expect((await listed('--all')).filter((r) => r.mark)).toEqual([]);
    expect(await depth()).toBe(7);
    expect(await dlqBounds()).toEqual({ low: '0', high: '7' });
  });

  it('purge with a filter marks only what it selects: hidden from list, shown by --all, depth down by as many, nothing unselected deleted', async () => {
    const run = await dlq('purge', '--id', 'r-3', 'r-4', '--reason', 'HTTP 40[0-9]');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('purged 2 record(s)');
    expect(run.stderr).toContain('purged 2/2');
    expect(ids(await listed())).toEqual(['offset-0-0', 'r-1', 'r-2', 'r-5', 'r-6']);
    const all = await listed('--all');
    expect(all.map((r) => `${r.id} ${r.mark ?? '-'}`)).toEqual(['offset-0-0 -', 'r-1 -', 'r-2 -', 'r-3 purged', 'r-4 purged', 'r-5 -', 'r-6 -']);
    expect(await depth()).toBe(5);
    // Offset 0 is unmarked: no prefix of marked records, so nothing was deleted.
    expect(await dlqBounds()).toEqual({ low: '0', high: '7' });
  });

  it("deletes a partition's contiguous marked prefix once the record at its start is purged, and only that", async () => {
    const run = await dlq('purge', '--kind', 'poison');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('purged 1 record(s)');
    expect(run.stdout).toContain('deleted the marked prefix of [0] below 1');
    // r-1 (offset 1) is unmarked: the cut stops there, although r-3 and r-4 are marked.
    expect(await dlqBounds()).toEqual({ low: '1', high: '7' });
    expect((await listed('--all')).map((r) => `${r.id} ${r.mark ?? '-'}`)).toEqual(['r-1 -', 'r-2 -', 'r-3 purged', 'r-4 purged', 'r-5 -', 'r-6 -']);
    expect(await depth()).toBe(4);
  });

  it('replay --to-target refuses a target the namespace does not have, listing those it has, and sends nothing', async () => {
    const received = server.received.length;
    const run = await dlq('replay', '--id', 'r-1', '--to-target', 'nope');
    expect(run.code).not.toBe(0);
    expect(run.stderr).toContain(`namespace "${ns.name}" has no target "nope"; its targets: out, hook`);
    expect(await depth()).toBe(4);
    expect(server.received.length).toBe(received);
  });

  it('replay --to-target delivers only to the named target and marks the record replayed', async () => {
    const received = server.received.length;
    const run = await dlq('replay', '--id', 'r-1', '--to-target', 'out');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`replayed 1 record(s) to ${ns.topics.intake} for target out`);
    await outTopic.waitFor(1, 30_000);
    expect(outTopic.messages.map((m) => header(m, KAFKA_TARGET_HEADERS.id))).toEqual(['r-1']);
    expect(outTopic.messages[0].value?.toString()).toBe('payload 1');
    // Delivered to out, so it was routed: the hook (the request's own target) never saw it again.
    expect(server.received.slice(received).map((r) => r.headers['idempotency-key'])).toEqual([]);
    expect((await listed('--all', '--id', 'r-1')).map((r) => r.mark)).toEqual(['replayed']);
    expect(await depth()).toBe(3);
  });

  it('replay without an override sends a record to its own target once it accepts, and marks it', async () => {
    server.script(respond.ok());
    const received = server.received.length;
    const run = await dlq('replay', '--kind', 'permanent', '--id', 'r-2');
    expect(run).toMatchObject({ code: 0, stdout: expect.stringContaining('replayed 1 record(s)') });
    await poll('the hook receiving r-2', async () => server.received.slice(received).map((r) => String(r.headers['idempotency-key'])), (got) => got.length >= 1);
    expect(server.received.slice(received).map((r) => String(r.headers['idempotency-key']))).toEqual(['r-2']);
    expect(ids(await listed())).toEqual(['r-5', 'r-6']);
    expect(await depth()).toBe(2);
    expect(await poll('the depth gauge', gauge, (v) => v === 2)).toBe(2);
    expect((await dlqBounds()).high).toBe('7');
  });
});

describe('the DLQ admin routes of wal api (admin role)', () => {
  const admin = mintApiKey();
  const writer = mintApiKey();
  let api: WalApiProcess;

  beforeAll(async () => {
    const keysFile = path.join(dir, 'keys.yaml');
    fs.writeFileSync(
      keysFile,
      ['keys:', `  - { id: ops, hash: "${admin.hash}", namespaces: ["*"], roles: [admin] }`, `  - { id: app, hash: "${writer.hash}", namespaces: ["*"], roles: [write] }`, ''].join('\n'),
    );
    api = await startWalApi(['-t', topology, '--port', '0', '--host', '127.0.0.1', '--keys-file', keysFile]);
  });
  afterAll(async () => {
    await api?.stop();
  });

  const call = async (method: 'GET' | 'POST', route: string, key?: string, body?: unknown) => {
    const response = await fetch(`${api.base}/v1/namespaces/${route}`, {
      method,
      headers: { ...(key ? { authorization: `Bearer ${key}` } : {}), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };

  it('answers 401 without a key and 403 to a key without the admin role, on every route', async () => {
    for (const [method, route] of [['GET', 'dlq'], ['GET', 'dlq/depth'], ['POST', 'dlq/replay'], ['POST', 'dlq/purge']] as const) {
      const body = method === 'POST' ? {} : undefined;
      expect((await call(method, `${ns.name}/${route}`, undefined, body)).status).toBe(401);
      const refused = await call(method, `${ns.name}/${route}`, writer.key, body);
      expect(refused).toMatchObject({ status: 403, body: { message: expect.stringContaining("does not have the admin role") } });
    }
    expect(await depth()).toBe(2);
    // A path with a :namespace parameter is a known path: another method is 405, not 404.
    const wrongMethod = await fetch(`${api.base}/v1/namespaces/${ns.name}/dlq/depth`, { method: 'DELETE', headers: { authorization: `Bearer ${admin.key}` } });
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.headers.get('allow')).toBe('GET, HEAD');
  });

  it('lists (values base64, marked ones with all=true), reports the depth, and refuses an unknown namespace and a bad regular expression', async () => {
    const list = await call('GET', `${ns.name}/dlq`, admin.key);
    expect(list.status).toBe(200);
    const records = list.body.records as Array<{ headers: Record<string, string>; value: string }>;
    expect(records.map((r) => r.headers[DLQ_HEADERS.id])).toEqual(['r-5', 'r-6']);
    expect(records[0].value).toBe((await listed('--id', 'r-5'))[0].value);
    expect(Buffer.from(records[0].value, 'base64').toString()).toContain('payload 5');
    const all = await call('GET', `${ns.name}/dlq?all=true&kind=permanent`, admin.key);
    expect((all.body.records as Array<{ mark?: { action: string } }>).map((r) => r.mark?.action ?? '-')).toEqual(['replayed', 'replayed', 'purged', 'purged', '-', '-']);
    expect(await call('GET', `${ns.name}/dlq/depth`, admin.key)).toMatchObject({ status: 200, body: { depth: 2, topic: ns.topics.dlq } });
    expect(await call('GET', 'no-such-ns/dlq', admin.key)).toMatchObject({ status: 404, body: { message: expect.stringContaining("unknown namespace 'no-such-ns'") } });
    expect(await call('GET', `${ns.name}/dlq?reason=${encodeURIComponent('(unclosed')}`, admin.key)).toMatchObject({ status: 400, body: { message: expect.stringContaining('not a regular expression') } });
  });

  it('purges (dry run first) and replays to a named target, through the same marks as the CLI', async () => {
    const dry = await call('POST', `${ns.name}/dlq/purge`, admin.key, { filters: { ids: ['r-5'] }, dryRun: true });
    expect(dry).toMatchObject({ status: 200, body: { dryRun: true, selected: 1, purged: 0 } });
    expect(await depth()).toBe(2);
    // Offsets 1-4 are marked already (replayed r-1, r-2; purged r-3, r-4): with r-5 the marked prefix reaches r-6.
    expect(await call('POST', `${ns.name}/dlq/purge`, admin.key, { filters: { ids: ['r-5'] } })).toMatchObject({
      status: 200,
      body: { selected: 1, purged: 1, deleted: [{ partition: 0, upTo: '6' }] },
    });
    expect(await dlqBounds()).toEqual({ low: '6', high: '7' });
    expect((await listed('--all')).map((r) => `${r.id} ${r.mark ?? '-'}`)).toEqual(['r-6 -']);
    // The marks of deleted records are tombstoned: the marks topic stays as small as the DLQ.
    const marks = await collect(kafka, dlqMarksTopic(ns.topics.dlq));
    const live = () => {
      const latest = new Map<string, boolean>();
      for (const m of marks.messages) latest.set(String(m.key), m.value !== null && m.value.length > 0);
      return [...latest].filter(([, present]) => present).map(([key]) => key);
    };
    await poll('the marks of deleted records being tombstoned', async () => ({ keys: marks.messages.length, live: live() }), (seen) => seen.keys >= 6 && seen.live.length === 0);
    await marks.stop();

    expect(await call('POST', `${ns.name}/dlq/replay`, admin.key, { filters: { ids: ['r-6'] }, toTarget: 'nope' })).toMatchObject({
      status: 400,
      body: { message: expect.stringContaining('has no target "nope"; its targets: out, hook') },
    });
    const replay = await call('POST', `${ns.name}/dlq/replay`, admin.key, { filters: { ids: ['r-6'] }, toTarget: 'out' });
    expect(replay).toMatchObject({ status: 200, body: { selected: 1, replayed: 1, toTarget: 'out' } });
    await outTopic.waitFor(2, 30_000);
    expect(outTopic.messages.map((m) => header(m, KAFKA_TARGET_HEADERS.id))).toEqual(['r-1', 'r-6']);
    expect(await call('GET', `${ns.name}/dlq/depth`, admin.key)).toMatchObject({ status: 200, body: { depth: 0 } });
    expect(await poll('the depth gauge', gauge, (v) => v === 0)).toBe(0);
  });
});
