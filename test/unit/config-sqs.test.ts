import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, parseConfig, saveConfig } from '../../src/namespaces';
import { configErrorOf, PRIMARY_CLUSTER } from '../support/config';
import { delaySecondsUntil } from '../../src/sqs/intake';
import { DeliveredIds } from '../../src/sqs/delivered-ids';
import { decodeSqsBody, encodeSqsBody } from '../../src/wire/sqs-envelope';

const CLUSTER = PRIMARY_CLUSTER;

function withQueue(queue: string, extra = ''): string {
  return `${CLUSTER}\nnamespaces:\n  - name: orders\n    queue: ${queue}\n${extra}`;
}

function issuesOf(text: string, file = 'topologies/x.yaml'): string[] {
  return configErrorOf(text, file).issues;
}

describe('namespace queue backend config', () => {
  it('is Kafka unless the namespace says otherwise', () => {
    expect(parseConfig(`${CLUSTER}\nnamespaces:\n  - name: orders\n`, 'x.yaml', {}).namespaces[0].queue).toEqual({ type: 'kafka' });
  });

  it('fills the SQS defaults: 2 receivers, 60 s visibility, 900 s longest SQS delay, 20 s long polls', () => {
    const ns = parseConfig(withQueue('{ type: sqs, queueName: orders, region: eu-west-1 }'), 'x.yaml', {}).namespaces[0];
    expect(ns.queue).toEqual({ type: 'sqs', queueName: 'orders', region: 'eu-west-1', receivers: 2, visibilityTimeoutMs: 60_000, maxSqsDelaySeconds: 900, waitTimeSeconds: 20 });
  });

  it('names file, namespace and field of each mistake', () => {
    expect(issuesOf(withQueue('{ type: sqs, region: eu-west-1 }')).join('\n')).toMatch(/topologies\/x\.yaml.*orders.*queue\.queueUrl.*exactly one of queueUrl and queueName/);
    expect(issuesOf(withQueue('{ type: sqs, queueName: a, queueUrl: "http://h/1/a", region: r }')).join('\n')).toMatch(/queue\.queueUrl.*exactly one/);
    expect(issuesOf(withQueue('{ type: sqs, queueName: a }')).join('\n')).toMatch(/queue\.region/);
    expect(issuesOf(withQueue('{ type: sqs, queueName: a, region: r, maxSqsDelaySeconds: 901 }')).join('\n')).toMatch(/queue\.maxSqsDelaySeconds.*900/);
    expect(issuesOf(withQueue('{ type: sqs, queueName: a, region: r, visibilityTimeoutMs: 13h }')).join('\n')).toMatch(/queue\.visibilityTimeoutMs.*12h/);
    expect(issuesOf(withQueue('{ type: sqs, queueName: "bad name", region: r }')).join('\n')).toMatch(/queue\.queueName.*SQS queue name/);
    expect(issuesOf(withQueue('{ type: rabbit }')).join('\n')).toMatch(/queue/);
    expect(issuesOf(withQueue('{ type: sqs, queueName: a, region: r }', '    processingGuarantee: exactly-once\n')).join('\n')).toMatch(/processingGuarantee.*exactly-once needs the Kafka queue/);
  });

  it('saves and loads back unchanged', () => {
    const dir = mkdtempSync(join(tmpdir(), 'wal-config-sqs-'));
    try {
      const config = parseConfig(withQueue('{ type: sqs, queueUrl: "http://127.0.0.1:9324/000000000000/orders", region: us-east-1, endpoint: "http://127.0.0.1:9324", dlqQueueName: orders-dlq, receivers: 4 }'), 'x.yaml', {});
      saveConfig(config, join(dir, 'ns.yaml'));
      expect(loadConfig([join(dir, 'ns.yaml')]).namespaces[0].queue).toEqual(config.namespaces[0].queue);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('SQS backend pieces', () => {
  it('rounds a delay up to whole seconds (never early) and caps it at the longest SQS delay', () => {
    expect(delaySecondsUntil(1000, 1000, 900)).toBe(0);
    expect(delaySecondsUntil(1001, 1000, 900)).toBe(1);
    expect(delaySecondsUntil(5_000_000, 0, 900)).toBe(900);
    expect(delaySecondsUntil(0, 1000, 900)).toBe(0);
  });

  it('carries a request through a message body byte for byte', () => {
    const request = {
      namespace: 'orders', id: 'a-1', lifecycle: { writeTime: 1, delayMs: 5, deliverAt: null }, payload: Buffer.from([0, 255, 10]),
      contentType: 'application/json', target: null, headers: { h: 'v' }, mutations: [{ target: 't', key: 'k', op: 'PUT' as const, value: Buffer.from('x'), sequence: 3 }],
    };
    expect(decodeSqsBody(encodeSqsBody(request))).toEqual(request);
    expect(() => decodeSqsBody('{')).toThrow(/not JSON/);
    expect(() => decodeSqsBody('{"v":2}')).toThrow(/not a wal request envelope/);
  });

  it('remembers delivered ids for the window, and no more than it is allowed', () => {
    const ids = new DeliveredIds(1000, 2);
    ids.remember('a', 0);
    expect(ids.has('a', 999)).toBe(true);
    expect(ids.has('a', 1000)).toBe(false);
    ids.remember('b', 10);
    ids.remember('c', 11);
    ids.remember('d', 12);
    expect(ids.has('b', 13)).toBe(false);
    expect(ids.has('d', 13)).toBe(true);
  });
});
