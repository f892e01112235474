import type { NamespaceConfig } from '../../src/namespaces';
import { Type } from 'avsc';
import { formatWireFormat, MalformedRecordError, parseWireFormat, validateWriteToLogRequest, WireWriter, WriteToLogRequest } from '../../src/wire';

const valid: WriteToLogRequest = {
  namespace: 'orders',
  id: 'req-1',
  lifecycle: { writeTime: 1_700_000_000_000, delayMs: null, deliverAt: null },
  payload: Buffer.from('{}'),
  contentType: 'application/json',
  target: null,
  headers: {},
  mutations: [],
};

const namespace = {
  name: 'orders',
  maxPayloadBytes: 10,
  delay: { defaultDelayMs: 0, maxDelayMs: 60_000 },
  targets: { accounts: { type: 'redis', url: 'redis://x', keyPrefix: '' } },
} as unknown as NamespaceConfig;

describe('Confluent wire format', () => {
  it('round-trips a schema id and body', () => {
    const bytes = formatWireFormat(258, Buffer.from('body'));
    expect([...bytes.subarray(0, 5)]).toEqual([0, 0, 0, 1, 2]);
    expect(parseWireFormat(bytes)).toEqual({ schemaId: 258, body: Buffer.from('body') });
  });

  it.each([
    ['null', null, /empty \(null\)/],
    ['too short', Buffer.from([0, 0]), /2 bytes, shorter than the 5-byte/],
    ['a wrong magic byte', Buffer.from('{"json":true}'), /starts with byte 123, not the Confluent wire-format magic byte 0/],
  ])('names what is wrong with %s', (_what, bytes, message) => {
    expect(() => parseWireFormat(bytes)).toThrow(MalformedRecordError);
    expect(() => parseWireFormat(bytes)).toThrow(message);
  });

  it('writes a record through the scratch buffer with the bytes of header + avsc toBuffer, whatever its size', () => {
    const type = Type.forSchema({ type: 'record', name: 'R', fields: [{ name: 'items', type: { type: 'array', items: 'string' } }] });
    const writer = new WireWriter();
    // small; larger than the scratch (exact-size path, then a larger scratch); the same again (fits now); small again
    for (const count of [1, 20_000, 20_000, 3]) {
      const value = { items: Array.from({ length: count }, (_, i) => `item-${i}`) };
      const bytes = writer.write(7, (buf, pos) => type.encode(value, buf, pos));
      expect(bytes.equals(formatWireFormat(7, type.toBuffer(value)))).toBe(true);
    }
  });
});

describe('validateWriteToLogRequest', () => {
  it('accepts a valid request', () => {
    expect(validateWriteToLogRequest(valid, namespace)).toEqual([]);
  });

  it('reports every broken rule with its field path', () => {
    const broken: WriteToLogRequest = {
      ...valid,
      id: '',
      lifecycle: { writeTime: 0, delayMs: -1, deliverAt: 5 },
      mutations: [
        { target: 'accounts', key: '', op: 'PUT', value: null, sequence: -2 },
        { target: 'accounts', key: 'k', op: 'DELETE', value: Buffer.from('x'), sequence: 1 },
      ],
    };
    expect(validateWriteToLogRequest(broken).map((i) => `${i.path}: ${i.message}`)).toEqual([
      'id: is empty',
      'lifecycle.writeTime: must be a positive epoch-ms integer, got 0',
      'lifecycle.delayMs: must be a non-negative integer of milliseconds, got -1',
      'lifecycle: has both delayMs and deliverAt: give one',
      'mutations[0].key: is empty',
      'mutations[0].value: a PUT needs a value',
      'mutations[0].sequence: must be a non-negative integer, got -2',
      'mutations[1].value: a DELETE carries no value',
    ]);
  });

  it("checks the namespace's name, targets, payload size and longest delay", () => {
    const issues = validateWriteToLogRequest(
      {
        ...valid,
        namespace: 'billing',
        target: 'nope',
        payload: Buffer.alloc(11),
        lifecycle: { ...valid.lifecycle, deliverAt: valid.lifecycle.writeTime + 60_001 },
        mutations: [{ target: 'cache', key: 'k', op: 'DELETE', value: null, sequence: 1 }],
      },
      namespace,
    );
    expect(issues.map((i) => [i.code, `${i.path}: ${i.message}`])).toEqual([
      ['unknown-namespace', "namespace: 'billing' is not namespace 'orders' of this intake topic"],
      ['invalid', "target: 'nope' is not a target of namespace 'orders' (targets: accounts)"],
      ['invalid', "mutations[0].target: 'cache' is not a target of namespace 'orders' (targets: accounts)"],
      ['too-large', "payload: is 11 bytes, over the 10-byte limit (maxPayloadBytes) of namespace 'orders'"],
      ['invalid', "lifecycle.deliverAt: asks for a 60001 ms delay, over the 60000 ms limit (maxDelayMs) of namespace 'orders'"],
    ]);
  });

  it('accepts a deliverAt in the past (it means now)', () => {
    expect(validateWriteToLogRequest({ ...valid, lifecycle: { ...valid.lifecycle, deliverAt: 1 } }, namespace)).toEqual([]);
  });
});
