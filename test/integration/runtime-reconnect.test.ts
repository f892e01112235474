import { writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { Kafka, logLevel, type ISocketFactory } from 'kafkajs';
import pino from 'pino';
import { NamespaceRunner } from '../../src/engine';
import { testCluster, uniqueTopic } from '../support/clusters';
import { countingTopology, testNamespace } from '../support/runtime-fixtures/counting';
import { addCounts, consumeUntil, countsReached, createTopics, describeCounts, produceKeyed } from '../support/runtime-fixtures/topics';
import { engineOptionsOf } from '../../src/personas';

jest.setTimeout(120_000);

const cluster = testCluster('A');
const healthy = new Kafka({ clientId: 'runtime-reconnect-test', brokers: cluster.brokers, logLevel: logLevel.NOTHING });

/** A network between the engine and the (real) broker that the test can cut and restore. */
function cuttableNetwork() {
  const sockets = new Set<net.Socket>();
  let down = false;
  const socketFactory: ISocketFactory = ({ host, port, onConnect }) => {
    const socket = new net.Socket();
    if (down) {
      setImmediate(() => socket.destroy(Object.assign(new Error('network cut by test'), { code: 'ECONNREFUSED' })));
      return socket;
    }
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.setKeepAlive(true, 1000);
    return socket.connect({ host, port }, onConnect);
  };
  return {
    socketFactory,
    cut() {
      down = true;
      // As a broker crash looks to a client: the connection is reset.
      for (const s of sockets) s.destroy(Object.assign(new Error('connection reset by test'), { code: 'ECONNRESET' }));
    },
    restore() {
      down = false;
    },
  };
}

describe('the engine when it loses the broker', () => {
  let stateDir: string;
  beforeEach(async () => {
    stateDir = await mkdtemp(path.join(os.tmpdir(), 'wal-reconnect-'));
  });
  afterEach(() => rm(stateDir, { recursive: true, force: true }));

  it('logs that it lost the cluster, backs off, reconnects and carries on without losing records', async () => {
    const ns = uniqueTopic('reconnect');
    const input = `${ns}.in`;
    const output = `${ns}.out`;
    await createTopics(healthy, [
      { topic: input, partitions: 2 },
      { topic: output, partitions: 2 },
    ]);
    const network = cuttableNetwork();
    const lines: string[] = [];
    const engineKafka = new Kafka({
      clientId: 'engine',
      brokers: cluster.brokers,
      logLevel: process.env.WAL_TEST_LOG_FILE ? logLevel.INFO : logLevel.NOTHING,
      logCreator: () => (entry) => lines.push(`${JSON.stringify({ kafkajs: entry.namespace, level: entry.level, msg: entry.log.message, error: entry.log.error })}\n`),
      socketFactory: network.socketFactory,
      retry: { initialRetryTime: 200, maxRetryTime: 2000, retries: 5 },
      connectionTimeout: 1000,
      requestTimeout: 5000,
    });
    const logger = pino(
      { level: 'info' },
      new Writable({
        write(chunk: Buffer, _encoding, done) {
          lines.push(chunk.toString());
          done();
        },
      }),
    );
    const runner = new NamespaceRunner({
      kafka: engineKafka,
      engine: engineOptionsOf(testNamespace(ns, { intake: input, partitions: 2 })),
      topology: countingTopology(input, output),
      stateDir,
      instanceId: 'flaky',
      logger,
      tuning: { sessionTimeoutMs: 6000, heartbeatIntervalMs: 1000, restartBackoffMs: { initial: 500, max: 4000 } },
    });
    await runner.start();
    try {
      let expected = await produceKeyed(healthy, input, 500, 10);
      await consumeUntil(healthy, output, countsReached(expected, true), 30_000, describeCounts(expected));

      network.cut();
      expected = addCounts(expected, await produceKeyed(healthy, input, 500, 10, 500));
      await sleep(8000);
      network.restore();

      await consumeUntil(healthy, output, countsReached(expected, false), 60_000, describeCounts(expected));
      const log = lines.join('');
      expect(log).toMatch(/engine error/);
    } finally {
      network.restore();
      if (process.env.WAL_TEST_LOG_FILE) writeFileSync(process.env.WAL_TEST_LOG_FILE, lines.join(''));
      await runner.stop();
    }
  });
});
