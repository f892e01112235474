import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { deadLetterHeaders, originalHeaders, type DeadLetterInfo } from '../../src/wire/dlq';
import * as headers from '../../src/wire/headers';
import { DLQ_HEADERS, INTAKE_HEADERS } from '../../src/wire/headers';

const SRC = path.resolve(__dirname, '..', '..', 'src');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    return statSync(full).isDirectory() ? sourceFiles(full) : full.endsWith('.ts') ? [full] : [];
  });
}

const everyName = (): string[] => Object.values(headers).flatMap((group) => Object.values(group));

describe('the wire contract: header names', () => {
  it('keeps every name byte for byte (records on existing topics carry them)', () => {
    const contract = Object.entries(headers).flatMap(([group, names]) => Object.entries(names).map(([meaning, name]) => `${group}.${meaning}=${name}`));
    expect(contract.sort()).toEqual([
      'CHUNK_HEADERS.chunkCount=wal-chunk-count', 'CHUNK_HEADERS.chunkIndex=wal-chunk-index', 'CHUNK_HEADERS.txnId=wal-txn-id',
      'DLQ_HEADERS.attempts=wal-dlq-attempts', 'DLQ_HEADERS.errorClass=wal-dlq-error-class', 'DLQ_HEADERS.firstFailureAt=wal-dlq-first-failure',
      'DLQ_HEADERS.id=wal-id', 'DLQ_HEADERS.kind=wal-dlq-kind', 'DLQ_HEADERS.lastFailureAt=wal-dlq-last-failure', 'DLQ_HEADERS.reason=wal-dlq-reason',
      'DLQ_HEADERS.sourceOffset=wal-dlq-source-offset', 'DLQ_HEADERS.sourcePartition=wal-dlq-source-partition', 'DLQ_HEADERS.sourceTopic=wal-dlq-source-topic',
      'DLQ_HEADERS.target=wal-dlq-target',
      'INTAKE_HEADERS.control=wal-control', 'INTAKE_HEADERS.id=wal-id', 'INTAKE_HEADERS.namespace=wal-namespace', 'INTAKE_HEADERS.toTarget=wal-to-target',
      'KAFKA_TARGET_HEADERS.chunkIndex=wal-chunk-index', 'KAFKA_TARGET_HEADERS.contentType=content-type', 'KAFKA_TARGET_HEADERS.id=wal-id',
      'KAFKA_TARGET_HEADERS.op=wal-op', 'KAFKA_TARGET_HEADERS.sequence=wal-sequence', 'KAFKA_TARGET_HEADERS.txnId=wal-txn-id',
      'ORIGIN_HEADERS.alias=wal-origin-alias', 'ORIGIN_HEADERS.clusterId=wal-origin',
      'REDRIVE_HEADERS.chunkCount=wal-redrive-chunk-count', 'REDRIVE_HEADERS.chunkIndex=wal-redrive-chunk-index', 'REDRIVE_HEADERS.target=wal-redrive-target',
      'SQS_ATTRIBUTES.dueAt=wal-due-at', 'SQS_ATTRIBUTES.id=wal-id', 'SQS_ATTRIBUTES.namespace=wal-namespace', 'SQS_ATTRIBUTES.toTarget=wal-to-target',
    ]);
  });

  it('is declared in src/wire/headers.ts only: no other source file spells a header name as a string', () => {
    const names = new Set(everyName().filter((name) => name.startsWith('wal-')));
    const strayed = sourceFiles(SRC)
      .filter((file) => file !== path.join(SRC, 'wire', 'headers.ts'))
      .flatMap((file) => {
        const literals = readFileSync(file, 'utf8').match(/(['"`])wal-[a-z-]+\1/g) ?? [];
        return literals.filter((literal) => names.has(literal.slice(1, -1))).map((literal) => `${path.relative(SRC, file)}: ${literal}`);
      });
    expect(strayed).toEqual([]);
  });
});

describe('the one DLQ format', () => {
  const original = { [INTAKE_HEADERS.id]: 'req-7', [INTAKE_HEADERS.namespace]: 'orders', tenant: 'acme' };
  const engineCaught: DeadLetterInfo = {
    reason: 'processing threw: boom',
    kind: 'error',
    attempts: 1,
    firstFailureAt: Date.UTC(2026, 0, 2, 3, 4, 5),
    lastFailureAt: Date.UTC(2026, 0, 2, 3, 4, 5),
    source: { topic: 'wal.orders.intake', partition: 2, offset: '41' },
    errorClass: 'TypeError',
  };

  it('adds reason, kind, attempts, failure times, source and error class to the original headers', () => {
    expect(deadLetterHeaders(engineCaught, original)).toEqual({
      ...original,
      'wal-dlq-reason': 'processing threw: boom',
      'wal-dlq-kind': 'error',
      'wal-dlq-attempts': '1',
      'wal-dlq-first-failure': '2026-01-02T03:04:05.000Z',
      'wal-dlq-last-failure': '2026-01-02T03:04:05.000Z',
      'wal-dlq-source-topic': 'wal.orders.intake',
      'wal-dlq-source-partition': '2',
      'wal-dlq-source-offset': '41',
      'wal-dlq-error-class': 'TypeError',
    });
  });

  it('writes a persona failure with its target and request id, and no error class', () => {
    const dead = deadLetterHeaders({ ...engineCaught, kind: 'exhausted', attempts: 4, errorClass: undefined, target: 'hook', id: 'req-7' }, { tenant: 'acme' });
    expect(dead).toMatchObject({ [DLQ_HEADERS.kind]: 'exhausted', [DLQ_HEADERS.attempts]: '4', [DLQ_HEADERS.target]: 'hook', [DLQ_HEADERS.id]: 'req-7' });
    expect(dead[DLQ_HEADERS.errorClass]).toBeUndefined();
  });

  it('cuts a long reason to 2000 characters', () => {
    expect(deadLetterHeaders({ ...engineCaught, reason: 'x'.repeat(5000) })[DLQ_HEADERS.reason]).toHaveLength(2000);
  });

  it('gives a replay back exactly the original headers, whoever wrote the dead letter', () => {
    const everyField: DeadLetterInfo = { ...engineCaught, target: 'hook', id: 'req-7' };
    for (const kind of ['error', 'permanent', 'exhausted', 'poison'] as const) {
      expect(originalHeaders(deadLetterHeaders({ ...everyField, kind }, original))).toEqual(original);
    }
  });

  it('keeps headers that only look like the DLQ format', () => {
    const own = { 'wal-dlq-note': 'mine', 'x-wal-dlq-reason': 'also mine' };
    expect(originalHeaders(deadLetterHeaders(engineCaught, own))).toEqual(own);
  });
});
