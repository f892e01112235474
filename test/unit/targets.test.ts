import { KafkaJSConnectionError, KafkaJSNonRetriableError, KafkaJSNumberOfRetriesExceeded, KafkaJSProtocolError } from 'kafkajs';
import { ClusterAuthenticationError } from '../../src/kafka';
import type { ClusterConfig } from '../../src/namespaces/types';
import { createTarget, failed, OK, TargetConfigError } from '../../src/targets';
import { mapWithConcurrency, sendIsolatingFailures } from '../../src/targets/batch';
import { describeError } from '../../src/targets/errors';
import { classifyFetchError, isRetriableStatus } from '../../src/targets/http';
import { classifyKafkaError } from '../../src/targets/kafka';
import { classifyPostgresError } from '../../src/targets/postgres';
import { classifyRedisError } from '../../src/targets/redis';

const clusters: Record<string, ClusterConfig> = { A: { name: 'A', brokers: ['127.0.0.1:9'], schemaRegistryUrl: 'http://127.0.0.1:9' } };

describe('createTarget', () => {
  it('builds each configured type without connecting', async () => {
    const targets = [
      createTarget('k', { type: 'kafka', topic: 't', cluster: 'A', partitions: 1 }, clusters),
      createTarget('h', { type: 'http', url: 'http://127.0.0.1:9/x', method: 'POST', headers: {}, timeoutMs: 100 }, clusters),
      createTarget('p', { type: 'postgres', connectionString: 'postgres://127.0.0.1:9/x', table: 's.t', keyColumn: 'k', valueColumn: 'v', sequenceColumn: 'q' }, clusters),
      createTarget('r', { type: 'redis', url: 'redis://127.0.0.1:9', keyPrefix: 'p:' }, clusters),
    ];
    expect(targets.map((t) => t.name)).toEqual(['k', 'h', 'p', 'r']);
    expect(targets.every((t) => typeof t.applyMutations === 'function')).toBe(true);
    await Promise.all(targets.map((t) => t.close()));
  });

  it('names the unknown cluster and the known ones', () => {
    expect(() => createTarget('out', { type: 'kafka', topic: 't', cluster: 'west', partitions: 1 }, clusters)).toThrow(
      new TargetConfigError('target "out": unknown cluster "west" (known: A)'),
    );
  });

  it('rejects a malformed HTTP url, a non-http scheme and a bad table name, naming the target', () => {
    const http = { type: 'http', method: 'POST', headers: {}, timeoutMs: 100 } as const;
    expect(() => createTarget('hook', { ...http, url: 'not a url' }, {})).toThrow(/target "hook": http url "not a url" is not a valid URL/);
    expect(() => createTarget('hook', { ...http, url: 'ftp://x/y' }, {})).toThrow(/must be http:\/\/ or https:\/\//);
    const pg = { type: 'postgres', connectionString: 'postgres://x/y', keyColumn: 'k', valueColumn: 'v', sequenceColumn: 's' } as const;
    expect(() => createTarget('db', { ...pg, table: 'a.b.c' }, {})).toThrow(/target "db": postgres table "a.b.c"/);
    expect(() => createTarget('cache', { type: 'redis', url: 'localhost:6379', keyPrefix: '' }, {})).toThrow(/redis:\/\//);
    expect(() => createTarget('cache', { type: 'redis', url: 'redis://x', keyPrefix: '', ttlSeconds: 1.5 }, {})).toThrow(/ttlSeconds/);
  });

  it('marks config errors as not retriable', () => {
    try {
      createTarget('out', { type: 'kafka', topic: 't', cluster: 'nope', partitions: 1 }, {});
    } catch (error) {
      expect(error).toBeInstanceOf(TargetConfigError);
      expect((error as TargetConfigError).retriable).toBe(false);
    }
    expect.assertions(2);
  });
});

describe('sendIsolatingFailures', () => {
  it('sends the batch once when it succeeds', async () => {
    const sent: number[][] = [];
    const results = await sendIsolatingFailures([1, 2, 3], async (r) => void sent.push(r), () => failed(true, 'x'));
    expect(results).toEqual([OK, OK, OK]);
    expect(sent).toEqual([[1, 2, 3]]);
  });

  it('fails a whole batch as retriable without splitting it', async () => {
    const sent: number[][] = [];
    const results = await sendIsolatingFailures(
      [1, 2],
      async (r) => {
        sent.push(r);
        throw new Error('down');
      },
      () => failed(true, 'down'),
    );
    expect(results).toEqual([failed(true, 'down'), failed(true, 'down')]);
    expect(sent).toEqual([[1, 2]]);
  });

  it('on a permanent failure retries record by record so only the bad one fails', async () => {
    const results = await sendIsolatingFailures(
      [1, 99, 3],
      async (r) => {
        if (r.includes(99)) throw new Error('too large');
      },
      (e) => failed(false, describeError(e)),
    );
    expect(results).toEqual([OK, failed(false, 'Error: too large'), OK]);
  });
});

describe('mapWithConcurrency', () => {
  it('keeps order and never exceeds the limit', async () => {
    let inFlight = 0;
    let max = 0;
    const out = await mapWithConcurrency([5, 1, 4, 2, 3, 0], 2, async (n) => {
      max = Math.max(max, ++inFlight);
      await new Promise((r) => setTimeout(r, n));
      inFlight--;
      return n * 10;
    });
    expect(out).toEqual([50, 10, 40, 20, 30, 0]);
    expect(max).toBe(2);
  });
});

describe('HTTP error classification', () => {
  it.each([
    [200, false], [400, false], [401, false], [404, false], [409, false], [422, false],
    [408, true], [425, true], [429, true], [500, true], [502, true], [503, true], [504, true],
  ])('status %d retriable=%s', (status, retriable) => {
    expect(isRetriableStatus(status)).toBe(retriable);
  });

  it('treats timeouts and socket errors as retriable, a request fetch refuses to build as permanent', () => {
    const timeout = Object.assign(new Error('The operation was aborted due to timeout'), { name: 'TimeoutError' });
    expect(classifyFetchError(timeout, 250)).toEqual(failed(true, 'timed out after 250 ms'));
    const refused = new TypeError('fetch failed', { cause: Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' }) });
    expect(classifyFetchError(refused, 250)).toMatchObject({ ok: false, retriable: true, reason: expect.stringContaining('ECONNREFUSED') });
    expect(classifyFetchError(new TypeError('Headers.append: "a\nb" is an invalid header value.'), 250)).toMatchObject({ retriable: false });
  });
});

describe('Kafka error classification', () => {
  const protocol = (type: string, retriable: boolean): KafkaJSProtocolError =>
    new KafkaJSProtocolError(Object.assign(new Error(type), { type, code: 1, retriable }));

  it('follows the broker: MESSAGE_TOO_LARGE is permanent even when kafkajs wraps it', () => {
    const tooLarge = protocol('MESSAGE_TOO_LARGE', false);
    const wrapped = Object.assign(new KafkaJSNonRetriableError(tooLarge), { cause: tooLarge }); // as kafkajs' retrier wraps it
    expect(classifyKafkaError(wrapped)).toMatchObject({ ok: false, retriable: false, reason: expect.stringContaining('MESSAGE_TOO_LARGE') });
  });

  it('a retriable protocol error stays retriable after kafkajs gave up retrying', () => {
    const leader = protocol('NOT_LEADER_OR_FOLLOWER', true);
    expect(classifyKafkaError(new KafkaJSNumberOfRetriesExceeded(leader, { retryCount: 3, retryTime: 100 }))).toMatchObject({ retriable: true });
  });

  it('network errors are retriable; a local TypeError is permanent', () => {
    expect(classifyKafkaError(new KafkaJSConnectionError('Connection error: connect ECONNREFUSED'))).toMatchObject({ retriable: true });
    expect(classifyKafkaError(new KafkaJSNonRetriableError(new TypeError('value must be a Buffer')))).toMatchObject({ retriable: false });
  });

  it('a target cluster that refuses the credentials is permanent, with the explanation as the reason', () => {
    const refused = new ClusterAuthenticationError("authentication failed for user 'wal' on cluster 'S' (SCRAM-SHA-512): invalid credentials", 'S');
    expect(classifyKafkaError(refused)).toEqual(failed(false, refused.message));
  });
});

describe('PostgreSQL error classification', () => {
  const pgError = (code: string): Error => Object.assign(new Error(`sqlstate ${code}`), { code });

  it.each([
    ['40001', true, 'serialization failure'],
    ['40P01', true, 'deadlock'],
    ['08006', true, 'connection failure'],
    ['57P01', true, 'admin shutdown'],
    ['53300', true, 'too many connections'],
    ['23505', false, 'unique violation'],
    ['23502', false, 'not null violation'],
    ['22P02', false, 'invalid text representation'],
    ['42703', false, 'undefined column'],
  ])('SQLSTATE %s is retriable=%s (%s)', (code, retriable) => {
    expect(classifyPostgresError(pgError(code))).toMatchObject({ ok: false, retriable, reason: expect.stringContaining(code) });
  });

  it('socket errors and driver errors without a code are retriable; a target config error is not', () => {
    expect(classifyPostgresError(Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }))).toMatchObject({ retriable: true });
    expect(classifyPostgresError(new Error('Connection terminated unexpectedly'))).toMatchObject({ retriable: true });
    expect(classifyPostgresError(new TargetConfigError('no column "v"'))).toMatchObject({ retriable: false });
  });
});

describe('Redis error classification', () => {
  const reply = (message: string): Error => Object.assign(new Error(message), { name: 'ReplyError' });

  it('reply errors are permanent except the transient ones; connection errors are retriable', () => {
    expect(classifyRedisError(reply('WRONGTYPE Operation against a key holding the wrong kind of value'))).toMatchObject({ retriable: false });
    expect(classifyRedisError(reply('LOADING Redis is loading the dataset in memory'))).toMatchObject({ retriable: true });
    expect(classifyRedisError(reply('READONLY You can\'t write against a read only replica.'))).toMatchObject({ retriable: true });
    expect(classifyRedisError(new Error('Connection is closed.'))).toMatchObject({ retriable: true });
  });
});
