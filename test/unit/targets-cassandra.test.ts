import { errors, types } from 'cassandra-driver';
import { batchesBySize, checkTableShape, classifyCassandraError, deliveryTimestamp, MAX_CASSANDRA_SEQUENCE, mutationTimestamp, TargetConfigError } from '../../src/targets';

describe('Cassandra write timestamps', () => {
  it('writes a mutation at its sequence, unchanged, over the whole safe range', () => {
    expect(mutationTimestamp(0).toString()).toBe('0');
    expect(mutationTimestamp(42).toString()).toBe('42');
    expect(mutationTimestamp(1_733_222_000_123_456).toString()).toBe('1733222000123456');
    expect(mutationTimestamp(MAX_CASSANDRA_SEQUENCE).toString()).toBe('9007199254740991');
  });

  it('refuses, permanently, a sequence that is not a whole number from 0 to 2^53 − 1', () => {
    for (const bad of [-1, 1.5, 2 ** 53, Number.NaN]) {
      expect(() => mutationTimestamp(bad)).toThrow(expect.objectContaining({ retriable: false, message: expect.stringContaining('cannot be a Cassandra write timestamp') }));
    }
  });

  it('stamps a delivery with its write time in microseconds plus 0–999 from its id: the same on every attempt', () => {
    const ts = deliveryTimestamp(1_700_000_000_000, 'req-1');
    expect(ts.equals(deliveryTimestamp(1_700_000_000_000, 'req-1'))).toBe(true);
    const offset = ts.subtract(types.Long.fromNumber(1_700_000_000_000_000)).toNumber();
    expect(offset).toBeGreaterThanOrEqual(0);
    expect(offset).toBeLessThan(1000);
    // A later millisecond always wins, whatever the ids.
    expect(deliveryTimestamp(1_700_000_000_001, 'a').greaterThan(deliveryTimestamp(1_700_000_000_000, 'zzz'))).toBe(true);
  });
});

describe('Cassandra table shape', () => {
  const config = { keyspace: 'ks', table: 't', keyColumn: 'key', valueColumn: 'value' };
  const col = (name: string, kind: string, type: string) => ({ name, kind, type });

  it('accepts key text + value blob or text', () => {
    expect(checkTableShape('db', config, [col('key', 'partition_key', 'text'), col('value', 'regular', 'blob')])).toBe('blob');
    expect(checkTableShape('db', config, [col('key', 'partition_key', 'text'), col('value', 'regular', 'text'), col('extra', 'regular', 'int')])).toBe('text');
  });

  it.each([
    ['a value column of another type', [col('key', 'partition_key', 'text'), col('value', 'regular', 'int')], 'target "db": table ks.t: value column "value" is int; expected blob or text'],
    ['no value column', [col('key', 'partition_key', 'text'), col('v', 'regular', 'blob')], 'target "db": table ks.t has no column "value" (valueColumn)'],
    ['a clustering column', [col('key', 'partition_key', 'text'), col('at', 'clustering', 'int'), col('value', 'regular', 'blob')], 'target "db": table ks.t has primary key (key, at); expected "key" alone'],
    ['an int key', [col('key', 'partition_key', 'int'), col('value', 'regular', 'blob')], 'target "db": table ks.t: key column "key" is int; expected text'],
  ])('refuses %s, naming it', (_title, columns, message) => {
    expect(() => checkTableShape('db', config, columns)).toThrow(new TargetConfigError(message));
  });
});

describe('Cassandra error classes', () => {
  const response = (code: number) => new errors.ResponseError(code, 'server said no');

  it('retries unavailable, overloaded, timeouts and lost connections', () => {
    for (const code of [types.responseErrorCodes.unavailableException, types.responseErrorCodes.overloaded, types.responseErrorCodes.writeTimeout, types.responseErrorCodes.readTimeout]) {
      expect(classifyCassandraError(response(code))).toMatchObject({ ok: false, retriable: true });
    }
    expect(classifyCassandraError(new errors.OperationTimedOutError('no answer', '127.0.0.1:9042'))).toMatchObject({ retriable: true });
    // A dropped table: the target creates it again on the next attempt.
    expect(classifyCassandraError(new errors.ResponseError(types.responseErrorCodes.invalid, 'table items does not exist'))).toMatchObject({ retriable: true });
    expect(classifyCassandraError(new errors.NoHostAvailableError({ '127.0.0.1:9042': Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }) }))).toMatchObject({ retriable: true });
  });

  it('dead-letters what will fail the same way again: invalid, syntax, unauthorized, refused credentials, a wrong table', () => {
    const invalid = classifyCassandraError(response(types.responseErrorCodes.invalid));
    expect(invalid).toEqual({ ok: false, retriable: false, reason: expect.stringMatching(/^invalid: .*server said no/) });
    for (const code of [types.responseErrorCodes.syntaxError, types.responseErrorCodes.unauthorized, types.responseErrorCodes.configError]) {
      expect(classifyCassandraError(response(code))).toMatchObject({ retriable: false });
    }
    const refused = new errors.AuthenticationError('Provided username wal and/or password are incorrect');
    expect(classifyCassandraError(new errors.NoHostAvailableError({ h1: refused, h2: refused }))).toMatchObject({ retriable: false });
    expect(classifyCassandraError(new TargetConfigError('target "db": table ks.t: value column "value" is int'))).toMatchObject({ retriable: false });
  });
});

describe('Cassandra batches', () => {
  const put = (key: string, bytes: number) => ({ key, op: 'PUT' as const, value: Buffer.alloc(bytes), sequence: 1 });

  it('groups a chunk in order under the byte and statement limits; a value over the limit goes alone', () => {
    const mutations = [put('a', 10), put('b', 10), put('c', 10), put('d', 100), put('e', 1)];
    expect(batchesBySize(mutations, 40, 10).map((g) => g.map((m) => m.key).join(''))).toEqual(['abc', 'd', 'e']);
    expect(batchesBySize(mutations, 1000, 2).map((g) => g.map((m) => m.key).join(''))).toEqual(['ab', 'cd', 'e']);
    expect(batchesBySize([], 1000, 2)).toEqual([]);
  });
});
