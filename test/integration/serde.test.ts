import net from 'node:net';
import {
  createAvroCodec,
  decodeIntakeRecord,
  formatWireFormat,
  InvalidWriteRequestError,
  MalformedRecordError,
  RegistryUnavailableError,
  schemaPath,
  SchemaRejectedError,
  UnknownSchemaIdError,
  valueSubject,
  WriteToLogRequest,
} from '../../src/wire';
import { testCluster, uniqueTopic } from '../support/clusters';

const cluster = testCluster('A');

const request: WriteToLogRequest = {
  namespace: 'orders',
  id: 'req-1',
  lifecycle: { writeTime: 1795420000000, delayMs: 30000, deliverAt: null },
  payload: Buffer.from('{"order":42}'),
  contentType: 'application/json',
  target: null,
  headers: { tenant: 'acme' },
  mutations: [{ target: 'orders', key: '42', op: 'PUT', value: Buffer.from('x'), sequence: 7 }],
};

const orderV1 = { type: 'record' as const, name: 'Order', namespace: 'test.serde', fields: [{ name: 'id', type: 'string' }] };
const orderV2 = { ...orderV1, fields: [...orderV1.fields, { name: 'priority', type: 'int', default: 0 }] };
const orderV3NoDefault = { ...orderV1, fields: [...orderV1.fields, { name: 'region', type: 'string' }] };

async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('AvroCodec over the real registry', () => {
  const codec = createAvroCodec({ registryUrl: cluster.registryUrl });

  it('registers schemas/WriteToLogRequest.avsc and round-trips a request in Confluent wire format', async () => {
    const subject = valueSubject(uniqueTopic('serde-roundtrip'));
    const id = await codec.registerSchema(subject, schemaPath('WriteToLogRequest'));
    expect(await codec.registerSchema(subject, schemaPath('WriteToLogRequest'))).toBe(id);

    const bytes = await codec.encode(id, request);
    expect(bytes[0]).toBe(0);
    expect(bytes.readInt32BE(1)).toBe(id);

    // A fresh codec has no cache: it must fetch the writer schema by id from the registry.
    const fresh = createAvroCodec({ registryUrl: cluster.registryUrl });
    expect(await fresh.decodeWithId(bytes)).toEqual({ schemaId: id, value: request });
  });

  it('gives concurrent first registrations under one subject (fan-out tasks, several writers) one id, none refused', async () => {
    // Each codec stands for a task or process of its own: no shared cache, all racing to create the subject.
    const codecs = Array.from({ length: 6 }, () => createAvroCodec({ registryUrl: cluster.registryUrl }));
    for (let round = 0; round < 3; round++) {
      const subject = valueSubject(uniqueTopic('serde-race'));
      const ids = await Promise.all(codecs.map((c) => c.registerSchema(subject, orderV1)));
      expect(new Set(ids).size).toBe(1);
    }
  });

  it('reads v1 records with a v2 reader schema that adds a field with a default; refuses a v3 without one', async () => {
    const subject = valueSubject(uniqueTopic('serde-evolution'));
    const v1 = await codec.registerSchema(subject, orderV1);
    const v2 = await codec.registerSchema(subject, orderV2);
    expect(v2).not.toBe(v1);

    // The subject got BACKWARD compatibility on first registration, so the registry itself guards evolution.
    const config = await fetch(`${cluster.registryUrl}/config/${subject}`).then((r) => r.json() as Promise<{ compatibilityLevel: string }>);
    expect(config.compatibilityLevel).toBe('BACKWARD');
    await expect(codec.registerSchema(subject, orderV3NoDefault)).rejects.toBeInstanceOf(SchemaRejectedError);

    const written = await codec.encode(v1, { id: 'o-1' });
    expect(await codec.decode(written)).toEqual({ id: 'o-1' });
    expect(await codec.decode(written, orderV2)).toEqual({ id: 'o-1', priority: 0 });
    expect(await codec.decode(await codec.encode(v2, { id: 'o-2', priority: 5 }), orderV2)).toEqual({ id: 'o-2', priority: 5 });
  });

  it('rejects bytes that are not wire format, or whose Avro body does not parse, with MalformedRecordError', async () => {
    const id = await codec.registerSchema(valueSubject(uniqueTopic('serde-malformed')), orderV1);
    await expect(codec.decode(Buffer.from('{"id":"plain json"}'))).rejects.toThrow(MalformedRecordError);
    await expect(codec.decode(Buffer.from([0, 0, 1]))).rejects.toThrow(/shorter than the 5-byte/);
    await expect(codec.decode(null)).rejects.toThrow(MalformedRecordError);
    // Valid header, truncated body: a string length prefix of 50 with 2 bytes behind it.
    await expect(codec.decode(formatWireFormat(id, Buffer.from([100, 65, 66])))).rejects.toThrow(MalformedRecordError);
  });

  it('names an unknown schema id with UnknownSchemaIdError (not retriable)', async () => {
    const error = await codec.decode(formatWireFormat(2_000_000_000, Buffer.from([2, 65]))).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UnknownSchemaIdError);
    expect(error).toMatchObject({ schemaId: 2_000_000_000, retriable: false });
  });

  it('reports an unreachable registry as RegistryUnavailableError (retriable), quickly', async () => {
    const down = createAvroCodec({ registryUrl: `http://127.0.0.1:${await closedPort()}/apis/ccompat/v7` });
    const started = Date.now();
    const error = await down.registerSchema('whatever-value', orderV1).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RegistryUnavailableError);
    expect(error).toMatchObject({ retriable: true, message: expect.stringMatching(/ECONNREFUSED/) });
    await expect(down.decode(formatWireFormat(1, Buffer.from([2, 65])))).rejects.toBeInstanceOf(RegistryUnavailableError);
    expect(Date.now() - started).toBeLessThan(5000);
  });
});

describe('decodeIntakeRecord', () => {
  const codec = createAvroCodec({ registryUrl: cluster.registryUrl });

  it('yields a typed request and enforces the semantic rules the schema cannot express', async () => {
    const id = await codec.registerSchema(valueSubject(uniqueTopic('serde-intake')), schemaPath('WriteToLogRequest'));
    expect(await decodeIntakeRecord(codec, await codec.encode(id, request))).toEqual(request);

    const negative = { ...request, lifecycle: { ...request.lifecycle, delayMs: -5 }, id: '' };
    const error = await decodeIntakeRecord(codec, await codec.encode(id, negative)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidWriteRequestError);
    expect((error as InvalidWriteRequestError).issues).toEqual(['id: is empty', 'lifecycle.delayMs: must be a non-negative integer of milliseconds, got -5']);
  });
});
