import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Kafka } from 'kafkajs';
import { createWalWriter, type WalWriter } from '../../src/api';
import { saveConfig } from '../../src/namespaces';
import type { InstanceStatus } from '../../src/ops/instance';
import { testCluster, uniqueTopic } from '../support/clusters';
import { collect, delayedQueueNamespace, header, stopCollectors, type Collected } from '../support/delayed-queue';
import { createTopic, eventually, kafkaFor, mirrorConfig, produceRecords } from '../support/mirror-fixture';
import { killStartedWal, runWal, startWalProcess, type WalProcess } from '../support/wal-cli';

jest.setTimeout(180_000);

/** Short enough that a test does not wait long for a pause to apply, long enough to be a real interval. */
const FOLLOW = ['--state-interval', '300ms', '--admin-port', '0', '--admin-host', '127.0.0.1'];
/** How long "nothing is delivered" is watched: many punctuation (100 ms) and fetch (200 ms) rounds. */
const QUIET_MS = 3000;

const writers: WalWriter[] = [];
afterAll(async () => {
  killStartedWal();
  await Promise.all(writers.map((w) => w.close()));
  await stopCollectors();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function endOffsets(kafka: Kafka, topic: string): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    return (await admin.fetchTopicOffsets(topic)).reduce((sum, p) => sum + Number(p.high), 0);
  } finally {
    await admin.disconnect();
  }
}

/** The admin URL a `wal start --admin-port 0` logged. */
function adminUrlOf(wal: WalProcess): string {
  const match = /"url":"(http:\/\/127\.0\.0\.1:\d+)"[^\n]*admin endpoint/.exec(wal.output());
  if (!match) throw new Error(`no admin endpoint in the wal start log:\n${wal.output().slice(-2000)}`);
  return match[1];
}

interface ReadyNamespace {
  namespace: string;
  ready: boolean;
  paused: boolean;
  reason?: string;
}

async function readyOf(url: string, namespace: string): Promise<{ status: number; ns: ReadyNamespace | undefined }> {
  const response = await fetch(`${url}/ready`, { signal: AbortSignal.timeout(5000) });
  const body = (await response.json()) as { details: { namespaces: ReadyNamespace[] } };
  return { status: response.status, ns: body.details.namespaces.find((n) => n.namespace === namespace) };
}

/** Waits until /ready answers 200 with the namespace paused (or running), i.e. the instance applied the state. */
async function untilReady(url: string, namespace: string, paused: boolean): Promise<ReadyNamespace> {
  return eventually(
    async () => {
      const { status, ns } = await readyOf(url, namespace);
      return status === 200 && ns?.ready && ns.paused === paused ? ns : undefined;
    },
    20_000,
    `${namespace} ready and ${paused ? 'paused' : 'running'} on ${url}/ready`,
  );
}

async function namespaceCli(args: string[]): Promise<string> {
  const run = await runWal('namespace', args);
  if (run.code !== 0) throw new Error(`wal namespace ${args.join(' ')} exited ${run.code}: ${run.stderr}${run.stdout}`);
  return run.stdout;
}

function ids(collected: Collected): string[] {
  return collected.messages.map((m) => header(m, 'wal-id') ?? '?').sort();
}

describe('wal namespace pause | resume (real broker, wal start processes)', () => {
  it('holds the delayed queue and the fan-out of a namespace, through a kill -9 and restart, then delivers everything once on resume', async () => {
    const mutTopic = uniqueTopic('mut');
    const { config, namespace, out, kafka } = await delayedQueueNamespace({ partitions: 1, targets: `      mut: { type: kafka, topic: ${mutTopic} }` });
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wal-pause-'));
    const configFile = path.join(dir, 'ns.yaml');
    saveConfig(config, configFile);
    const stateDir = path.join(dir, 'state');
    const writer = createWalWriter({ config });
    writers.push(writer);
    const write = async (id: string, extra: { delayMs?: number; mutations?: boolean } = {}) => {
      const result = await writer.writeToLog({
        namespace: namespace.name,
        id,
        ...(extra.mutations
          ? { mutations: [1, 2, 3].map((n) => ({ target: 'mut', key: `${id}-k${n}`, op: 'PUT' as const, value: `v${n}`, sequence: n })) }
          : { payload: `payload of ${id}` }),
        lifecycle: { delayMs: extra.delayMs ?? 0 },
      });
      expect(result).toMatchObject({ durable: 'true', id });
    };

    let wal = await startWalProcess({ configFile, stateDir, instanceId: 'pause-1', extraArgs: FOLLOW });
    let admin = adminUrlOf(wal);
    const delivered = await collect(kafka, out);
    const applied = await collect(kafka, mutTopic);

    // Running: the pipeline works (so "nothing arrives" below means something).
    await write('warm-1');
    await delivered.waitFor(1, 30_000);
    await untilReady(admin, namespace.name, false);
    // A timer that falls due while paused: it is in the timer store before the pause.
    const dueAt = Date.now() + 12_000;
    await write('timer-1', { delayMs: 12_000 });
    await eventually(
      async () => {
        const status = JSON.parse((await runWal('status', ['--state-dir', stateDir, '--json'])).stdout) as { instances: InstanceStatus[] };
        const offsets = status.instances[0]?.namespaces[0]?.tasks[0]?.offsets[namespace.topics.intake];
        return offsets?.processed === '2' ? true : undefined;
      },
      20_000,
      'timer-1 taken into the timer store',
    );

    expect(await namespaceCli(['pause', namespace.name, '-t', configFile, '--by', 'pause-test'])).toMatch(new RegExp(`namespace ${namespace.name}: paused, bypass off \\(was running, bypass off\\)`));
    const ready = await untilReady(admin, namespace.name, true);
    // The premise of what follows: the timer falls due while the namespace is paused.
    expect({ pausedBeforeDue: Date.now() < dueAt }).toEqual({ pausedBeforeDue: true });
    expect(ready.reason).toMatch(/paused/);
    expect((await runWal('status', ['--admin', admin])).stdout).toMatch(new RegExp(`${namespace.name}\\s+yes \\(paused\\)`));
    // The status file is rewritten every 2 s.
    await eventually(
      async () => (new RegExp(`namespace ${namespace.name} \\(.*PAUSED\\)`).test((await runWal('status', ['--state-dir', stateDir])).stdout) ? true : undefined),
      10_000,
      'wal status showing PAUSED',
    );
    const state = JSON.parse(await namespaceCli(['state', namespace.name, '-t', configFile, '--json'])) as { namespaces: unknown[] };
    expect(state.namespaces).toEqual([expect.objectContaining({ namespace: namespace.name, paused: true, bypass: false, by: 'pause-test' })]);

    // Paused: writes are still taken (durable on the intake) but nothing reaches a target.
    const intakeBefore = await endOffsets(kafka, namespace.topics.intake);
    for (let i = 1; i <= 10; i++) await write(`paused-${i}`);
    await write('txn-1', { mutations: true });
    expect(await endOffsets(kafka, namespace.topics.intake)).toBe(intakeBefore + 11);
    await sleep(Math.max(QUIET_MS, dueAt - Date.now() + QUIET_MS));
    expect(ids(delivered)).toEqual(['warm-1']);
    expect(applied.messages).toHaveLength(0);

    // kill -9 and a new process: it reads the state before starting its runner, so it starts paused.
    wal.child.kill('SIGKILL');
    await wal.exited;
    wal = await startWalProcess({ configFile, stateDir, instanceId: 'pause-2', extraArgs: FOLLOW });
    admin = adminUrlOf(wal);
    await untilReady(admin, namespace.name, true);
    await sleep(QUIET_MS);
    expect(ids(delivered)).toEqual(['warm-1']);
    expect(applied.messages).toHaveLength(0);

    // Resume: the due timer, the ten writes and the mutations, each once.
    await namespaceCli(['resume', namespace.name, '-t', configFile]);
    await untilReady(admin, namespace.name, false);
    const expected = ['warm-1', 'timer-1', ...Array.from({ length: 10 }, (_, i) => `paused-${i + 1}`)].sort();
    await delivered.waitFor(expected.length, 30_000);
    await applied.waitFor(3, 30_000);
    await sleep(1000);
    expect(ids(delivered)).toEqual(expected);
    expect(applied.messages.map((m) => m.key?.toString()).sort()).toEqual(['txn-1-k1', 'txn-1-k2', 'txn-1-k3']);
    killStartedWal();
  });

  it('holds a mirror namespace: nothing is mirrored while paused, everything once resumed', async () => {
    const A = testCluster('A');
    const B = testCluster('B');
    const kafkaA = kafkaFor(A);
    const kafkaB = kafkaFor(B);
    const topic = uniqueTopic('paused-src');
    await createTopic(kafkaA, topic, 1);
    const name = uniqueTopic('mirror-pause');
    const { config } = mirrorConfig([A, B], { namespace: name, source: 'A', target: 'B', topics: [topic] });
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wal-pause-mirror-'));
    const configFile = path.join(dir, 'ns.yaml');
    saveConfig(config, configFile);

    const wal = await startWalProcess({ configFile, stateDir: path.join(dir, 'state'), instanceId: 'pause-mirror', extraArgs: FOLLOW });
    const admin = adminUrlOf(wal);
    const mirrored = `A.${topic}`;
    await produceRecords(kafkaA, topic, { count: 5, partitions: 1, tag: 'before' });
    await eventually(async () => ((await endOffsets(kafkaB, mirrored).catch(() => 0)) === 5 ? true : undefined), 30_000, '5 records mirrored');
    await untilReady(admin, name, false);

    await namespaceCli(['pause', name, '-t', configFile]);
    await untilReady(admin, name, true);
    await produceRecords(kafkaA, topic, { count: 10, partitions: 1, tag: 'paused', start: 5 });
    await sleep(QUIET_MS);
    expect(await endOffsets(kafkaB, mirrored)).toBe(5);

    await namespaceCli(['resume', name, '-t', configFile]);
    await untilReady(admin, name, false);
    await eventually(async () => ((await endOffsets(kafkaB, mirrored)) === 15 ? true : undefined), 30_000, '15 records mirrored after resume');
    killStartedWal();
  });
});
