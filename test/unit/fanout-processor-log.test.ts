import net from 'node:net';
import { Writable } from 'node:stream';
import pino from 'pino';
import { parseConfig } from '../../src/namespaces';
import { chunkSinkName, FANOUT_DLQ_SINK, FANOUT_EVENTS_SINK, FanoutProcessor, FanoutRetryError } from '../../src/mutations';
import { TopologyBuilder, TopologyTestDriver } from '../../src/engine';
import { formatWireFormat } from '../../src/wire';
import { intakeDecoderSupplier } from '../../src/wire/intake-record';

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
    const ns = config.namespaces[0];
    const lines: Record<string, unknown>[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        for (const line of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(line) as Record<string, unknown>);
        done();
      },
    });
    const topology = new TopologyBuilder()
      .addSource('intake', ns.topics.intake, { decoder: intakeDecoderSupplier(ns, config.clusters, { controlCommands: false }) })
      .addProcessor('fanout', () => new FanoutProcessor({ namespace: ns, clusters: config.clusters, logger: pino({ level: 'info' }, sink) }), 'intake')
      .addSink(chunkSinkName('events'), ns.topics.targets.events, 'fanout')
      .addSink(FANOUT_EVENTS_SINK, ns.topics.completions, 'fanout')
      .addSink(FANOUT_DLQ_SINK, ns.topics.dlq, 'fanout')
      .build();
    const driver = await TopologyTestDriver.create(topology, { namespace: ns.name, partition: 2, startTime: 1000 });
    const input = { key: 'k', value: formatWireFormat(7, Buffer.from([0])), timestamp: 0, offset: 41 };
    await expect(driver.pipeInput(ns.topics.intake, input)).rejects.toThrow(FanoutRetryError);
    expect(driver.outputTopics()).toEqual([]);
    await driver.close();
    await new Promise((resolve) => setImmediate(resolve));
    const warn = lines.find((l) => l.msg === 'fan-out could not read a request; the task re-reads it from its last commit');
    expect(warn).toMatchObject({ level: 40, component: 'fanout', namespace: 'shop', partition: 2, topic: ns.topics.intake, offset: '41' });
    expect(String((warn?.err as { message?: string })?.message)).toMatch(/schema registry .* is unavailable/);
  });
});
