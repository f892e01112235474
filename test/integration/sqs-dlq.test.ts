import { SendMessageCommand } from '@aws-sdk/client-sqs';
import type { Kafka } from 'kafkajs';
import { createWalWriter } from '../../src/api';
import { dlqDepth } from '../../src/dlq/operations';
import type { NamespaceConfig, WalConfig } from '../../src/namespaces';
import { rootLogger } from '../../src/observability/logger';
import { SqsRunner } from '../../src/sqs';
import { DLQ_HEADERS, KAFKA_TARGET_HEADERS } from '../../src/wire/headers';
import { collect, configFile, header, stopCollectors } from '../support/delayed-queue';
import { respond, startHttpTargetServer, type HttpTargetServer } from '../support/http-target';
import { receiveAll, removeSqsQueues, sqsNamespace } from '../support/sqs';
import { eventually } from '../support/timing';
import { killStartedWal, runWal, startWalApi, type WalApiProcess } from '../support/wal-cli';

jest.setTimeout(180_000);

/**
 * `wal dlq purge`, `depth` and `replay --to-target`, and the HTTP admin routes, on a namespace whose
 * DLQ is an SQS queue of ElasticMQ: a real SqsRunner dead-letters what its HTTP target refuses, then
 * the operations act on the queue and the assertions read the queue and the targets.
 */

const runners: SqsRunner[] = [];
const servers: HttpTargetServer[] = [];
const apis: WalApiProcess[] = [];
afterEach(async () => {
  await Promise.allSettled(apis.splice(0).map((a) => a.stop()));
  await Promise.allSettled(runners.splice(0).map((r) => r.stop()));
  await Promise.allSettled(servers.splice(0).map((s) => s.close()));
  await stopCollectors();
  await removeSqsQueues();
});
afterAll(() => killStartedWal());

interface Dead {
  config: WalConfig;
  ns: NamespaceConfig;
  file: string;
  kafka: Kafka;
  out: string;
  server: HttpTargetServer;
  dlqUrl: string;
  client: Awaited<ReturnType<typeof sqsNamespace>>['client'];
}

/** An SQS namespace whose HTTP target always answers 503, no retries: `ids` dead-lettered as exhausted, plus one poison body. */
async function deadLettered(ids: string[]): Promise<Dead> {
  const server = await startHttpTargetServer(respond.always(503));
  servers.push(server);
  const { config, namespace, kafka, out, client, queueUrl, dlqUrl } = await sqsNamespace({ targets: `      hook: { type: http, url: ${server.url} }` });
  const ns: NamespaceConfig = { ...namespace, maxRetries: 0, defaultTarget: 'hook' };
  const withNs: WalConfig = { ...config, namespaces: [ns] };
  const runner = new SqsRunner({ namespace: ns, clusters: withNs.clusters, logger: rootLogger().child({ test: 'sqs-dlq' }), depthIntervalMs: 0 });
  runners.push(runner);
  await runner.start();
  await client.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: 'not json at all' }));
  const writer = createWalWriter({ config: withNs });
  for (const id of ids) expect((await writer.writeToLog({ namespace: ns.name, id, target: 'hook', payload: { id } })).durable).toBe('true');
  await writer.close();
  const scope = { kafka, namespace: ns };
  await eventually(async () => ((await dlqDepth(scope)).depth === ids.length + 1 ? true : undefined), 30_000, `${ids.length + 1} dead letters on the SQS DLQ`);
  return { config: withNs, ns, file: configFile(withNs), kafka, out, server, dlqUrl, client };
}

function dlq(d: Dead, command: string, ...args: string[]) {
  return runWal('dlq', [command, '-n', d.ns.name, '-t', d.file, ...args], 60_000);
}

/** The request ids on the DLQ now (received and left there: visible again after the test's 60 s). */
async function idsOnDlq(d: Dead, count: number): Promise<string[]> {
  return (await receiveAll(d.client, d.dlqUrl, count, 3000)).map((m) => m.MessageAttributes?.[DLQ_HEADERS.id]?.StringValue ?? `(${m.MessageAttributes?.[DLQ_HEADERS.kind]?.StringValue})`).sort();
}

describe('wal dlq on an SQS namespace (ElasticMQ)', () => {
  it('reports the depth, and purges only the selected dead letters (a dry run counts and deletes nothing)', async () => {
    const d = await deadLettered(['p-1', 'p-2']);
    const depth = await dlq(d, 'depth');
    expect(depth).toMatchObject({ code: 0, stdout: expect.stringMatching(/^3 record\(s\) waiting in SQS queue \S+-dlq\n$/) });
    const json = JSON.parse((await dlq(d, 'depth', '--json')).stdout) as { depth: number; topic: string; partitions: unknown[]; inFlight: number };
    expect(json).toMatchObject({ namespace: d.ns.name, depth: 3, partitions: [], inFlight: 0 });

    const dry = await dlq(d, 'purge', '--kind', 'poison', '--dry-run');
    expect(dry.code).toBe(0);
    expect(dry.stdout).toMatch(/kind=poison/);
    expect(dry.stdout).toMatch(/would purge 1 record\(s\) of SQS queue/);
    expect((await dlq(d, 'depth', '--json')).stdout).toMatch(/"depth":3/);

    const purge = await dlq(d, 'purge', '--kind', 'poison');
    expect(purge).toMatchObject({ code: 0, stdout: expect.stringMatching(/^purged 1 record\(s\) of SQS queue \S+-dlq\n$/) });
    const byId = await dlq(d, 'purge', '--id', 'p-2');
    expect(byId.stdout).toMatch(/purged 1 record/);
    const listed = await dlq(d, 'list');
    expect(listed.stdout).toMatch(/id=p-1 {2}kind=exhausted/);
    expect(listed.stdout).toMatch(/^1 record\(s\) in SQS queue/m);
    expect((await dlq(d, 'depth', '--json')).stdout).toMatch(/"depth":1/);
    expect(await idsOnDlq(d, 2)).toEqual(['p-1']);
  });

  it('replays --to-target: the re-sent request is delivered to the named target, not the one it named', async () => {
    const d = await deadLettered(['t-1', 't-2']);
    const received = await collect(d.kafka, d.out);
    const hookCalls = d.server.received.length;
    const unknown = await dlq(d, 'replay', '--id', 't-1', '--to-target', 'nope');
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr).toMatch(/has no target "nope"; its targets: out, hook/);

    const replay = await dlq(d, 'replay', '--id', 't-1', '--to-target', 'out');
    expect(replay).toMatchObject({ code: 0, stdout: expect.stringMatching(/replayed 1 record\(s\) to SQS queue \S+ for target out/) });
    await received.waitFor(1, 20_000);
    expect(received.messages.map((m) => header(m, KAFKA_TARGET_HEADERS.id))).toEqual(['t-1']);
    expect(d.server.received.length).toBe(hookCalls);
    // t-2 and the poison body stay; a replay without --to-target goes to the request's own target again.
    expect(await idsOnDlq(d, 3)).toEqual(['(poison)', 't-2']);
  });

  it('serves the HTTP admin routes of wal api for an SQS namespace: list, depth, purge, replay to a target', async () => {
    const d = await deadLettered(['h-1', 'h-2']);
    const api = await startWalApi(['-t', d.file, '--port', '0', '--host', '127.0.0.1']);
    apis.push(api);
    const call = async (method: 'GET' | 'POST', route: string, body?: unknown) => {
      const response = await fetch(`${api.base}/v1/namespaces/${d.ns.name}/${route}`, {
        method,
        headers: body === undefined ? {} : { 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      return { status: response.status, body: (await response.json()) as Record<string, unknown> };
    };
    const list = await call('GET', 'dlq?kind=exhausted');
    expect(list).toMatchObject({ status: 200, body: { count: 2, topic: expect.stringMatching(/^SQS queue \S+-dlq$/) } });
    const records = list.body.records as Array<{ headers: Record<string, string>; value: string }>;
    expect(records.map((r) => r.headers[DLQ_HEADERS.id]).sort()).toEqual(['h-1', 'h-2']);
    expect(JSON.parse(Buffer.from(records[0].value, 'base64').toString()).request.id).toBe(records[0].headers[DLQ_HEADERS.id]);
    expect(await call('GET', 'dlq/depth')).toMatchObject({ status: 200, body: { depth: 3, partitions: [] } });

    expect(await call('POST', 'dlq/purge', { filters: { kinds: ['poison'] }, dryRun: true })).toMatchObject({ status: 200, body: { dryRun: true, selected: 1, purged: 0 } });
    expect(await call('POST', 'dlq/purge', { filters: { kinds: ['poison'] } })).toMatchObject({ status: 200, body: { selected: 1, purged: 1, deleted: [] } });

    const received = await collect(d.kafka, d.out);
    const replay = await call('POST', 'dlq/replay', { filters: { ids: ['h-2'] }, toTarget: 'out' });
    expect(replay).toMatchObject({ status: 200, body: { selected: 1, replayed: 1, toTarget: 'out', intake: expect.stringMatching(/^SQS queue /) } });
    await received.waitFor(1, 20_000);
    expect(received.messages.map((m) => header(m, KAFKA_TARGET_HEADERS.id))).toEqual(['h-2']);
    expect(await call('GET', 'dlq/depth')).toMatchObject({ status: 200, body: { depth: 1 } });
  });
});
