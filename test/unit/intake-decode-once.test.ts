import { TopologyTestDriver } from '../../src/engine';
import { parseConfig } from '../../src/namespaces';
import { namespaceTopology } from '../../src/personas/namespace-topology';
import { CHUNK_HEADERS } from '../../src/wire/headers';
import { encodeRequest, LocalAvroCodec, writeRequest } from '../support/avro-codec';

const T0 = 1_000_000;
const config = parseConfig(
  `
clusters:
  primary: { brokers: 127.0.0.1:9092, schemaRegistryUrl: http://127.0.0.1:8081 }
namespaces:
  - name: shop
    partitions: 1
    delay: { defaultDelayMs: 0 }
    targets:
      orders: { type: kafka, topic: shop.orders }
    runtime: { punctuationIntervalMs: 10 }
`,
  'shop.yaml',
);
const ns = config.namespaces[0];

/** The namespace topology (delay → fan-out) on the driver, counting every Avro decode of a request. */
async function namespaceOnDriver() {
  const codec = new LocalAvroCodec();
  const decode = jest.spyOn(codec, 'decode');
  const driver = await TopologyTestDriver.create(namespaceTopology(ns, { clusters: config.clusters, codec }), { namespace: ns.name, startTime: T0 });
  const mutations = [
    { target: 'orders', key: 'o-1', op: 'PUT' as const, value: Buffer.from('{"total":3}'), sequence: 1 },
    { target: 'orders', key: 'o-2', op: 'PUT' as const, value: Buffer.from('{"total":5}'), sequence: 1 },
  ];
  const record = async (id: string, delayMs: number) => ({
    key: id,
    value: await encodeRequest(codec, ns, writeRequest(ns, id, { lifecycle: { writeTime: T0, delayMs, deliverAt: null }, mutations })),
  });
  return { driver, decode, record };
}

describe('an intake request is read once, at the edge of the topology', () => {
  it('a due request with mutations goes intake → delay → fan-out with one Avro decode', async () => {
    const { driver, decode, record } = await namespaceOnDriver();
    await driver.pipeInput(ns.topics.intake, await record('txn-now', 0));
    const chunks = driver.readAllOutput(ns.topics.targets.orders);
    expect(chunks.map((c) => c.headers[CHUNK_HEADERS.txnId])).toEqual(['txn-now']);
    expect(decode).toHaveBeenCalledTimes(1);
    await driver.close();
  });

  it('a delayed request is read again only from the timer store when it falls due (its bytes are all the store keeps)', async () => {
    const { driver, decode, record } = await namespaceOnDriver();
    await driver.pipeInput(ns.topics.intake, await record('txn-later', 50));
    expect(decode).toHaveBeenCalledTimes(1);
    expect(driver.readAllOutput(ns.topics.targets.orders)).toEqual([]);
    await driver.advanceWallClockTime(60);
    expect(driver.readAllOutput(ns.topics.targets.orders).map((c) => c.headers[CHUNK_HEADERS.txnId])).toEqual(['txn-later']);
    expect(decode).toHaveBeenCalledTimes(2);
    await driver.close();
  });
});
