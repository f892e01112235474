import net from 'node:net';
import { Writable } from 'node:stream';
import pino from 'pino';
import { parseConfig } from '../../src/namespaces';
import { FanoutProcessor, FanoutRetryError } from '../../src/mutations';
import type { OutputRecord, ProcessorContext } from '../../src/engine/api';
import { formatWireFormat } from '../../src/wire';

/** A port nothing listens on: the schema registry is "away". */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('fan-out processor logs', () => {
  it('names namespace, partition, topic and offset when a request cannot be read for a passing reason', async () => {
    const config = parseConfig(
      `
clusters:
  primary: { brokers: 127.0.0.1:9092, schemaRegistryUrl: "http://127.0.0.1:${await closedPort()}" }
namespaces:
  - name: shop
    partitions: 4
    targets:
      events: { type: kafka, topic: shop.events }
`,
      'shop.yaml',
    );
    const ns = config.namespaces[0]!;
    const lines: Record<string, unknown>[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        for (const line of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(line) as Record<string, unknown>);
        done();
      },
    });
    const forwarded: OutputRecord[] = [];
    const context: ProcessorContext = {
      namespace: ns.name,
      partition: 2,
      topic: ns.topics.intake,
      offset: '41',
      headers: {},
      timestamp: 0,
      forward: (record) => void forwarded.push(record),
      schedule: () => ({ cancel: () => undefined }),
      getStore: () => {
        throw new Error('no store');
      },
      now: () => 1000,
    };
    const processor = new FanoutProcessor({ namespace: ns, clusters: config.clusters, logger: pino({ level: 'info' }, sink) });
    processor.init(context);
    await processor.process({ key: Buffer.from('k'), value: formatWireFormat(7, Buffer.from([0])), headers: {}, timestamp: 0, topic: ns.topics.intake, partition: 2, offset: '41' });
    expect(() => processor.flush()).toThrow(FanoutRetryError);
    expect(forwarded).toEqual([]);
    await new Promise((resolve) => setImmediate(resolve));
    const warn = lines.find((l) => l.msg === 'fan-out could not read a request; the task re-reads it from its last commit');
    expect(warn).toMatchObject({ level: 40, component: 'fanout', namespace: 'shop', partition: 2, topic: ns.topics.intake, offset: '41' });
    expect(String((warn?.err as { message?: string })?.message)).toMatch(/schema registry .* is unavailable/);
  });
});
