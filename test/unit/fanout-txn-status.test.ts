import { decodeTxnEvent, encodeTxnEvent, type TxnEvent } from '../../src/mutations/events';
import { applyTxnEvent, formatTxnStatus, MAX_FAILURES, type TxnStatus } from '../../src/mutations/txn-status';

const begin: TxnEvent = { kind: 'begin', txnId: 't1', chunkCount: 3, targets: { db: 2, cache: 1 }, writeTime: 1000, at: 1010 };
const applied = (chunkIndex: number, target: string, attempts = 1, at = 1100 + chunkIndex): TxnEvent => ({ kind: 'applied', txnId: 't1', target, chunkIndex, chunkCount: 3, attempts, at });
const failed = (chunkIndex: number, target: string, attempts = 4): TxnEvent => ({ kind: 'failed', txnId: 't1', target, chunkIndex, chunkCount: 3, attempts, at: 1200, error: 'ECONNREFUSED' });
const redrive = (chunkIndex: number, target: string): TxnEvent => ({ kind: 'redrive', txnId: 't1', target, chunkIndex, chunkCount: 3, at: 1300 });

function run(events: TxnEvent[]): TxnStatus {
  return events.reduce<TxnStatus | undefined>((s, e) => applyTxnEvent(s, e), undefined)!;
}

describe('transaction status', () => {
  it('is pending until every chunk is applied, then complete with per-target counts', () => {
    const pending = run([begin, applied(0, 'db')]);
    expect(pending).toMatchObject({ status: 'pending', applied: 1, pending: 2, failed: 0, completedAt: null });
    const done = run([begin, applied(0, 'db'), applied(1, 'db', 3), applied(2, 'cache')]);
    expect(done).toMatchObject({ status: 'complete', applied: 3, pending: 0, writeTime: 1000, completedAt: 1102 });
    expect(done.targets).toEqual({ db: { expected: 2, applied: 2, failed: 0, retries: 2 }, cache: { expected: 1, applied: 1, failed: 0, retries: 0 } });
  });

  it('takes chunk outcomes that arrive before the fan-out begin event', () => {
    const s = run([applied(2, 'cache'), applied(0, 'db'), begin, applied(1, 'db')]);
    expect(s.status).toBe('complete');
    expect(s.targets.cache).toEqual({ expected: 1, applied: 1, failed: 0, retries: 0 });
  });

  it('counts a repeated outcome once (events arrive at least once)', () => {
    const s = run([begin, applied(0, 'db'), applied(0, 'db'), begin, applied(0, 'db')]);
    expect(s).toMatchObject({ applied: 1, pending: 2 });
    expect(s.targets.db.applied).toBe(1);
  });

  it('is failed once a chunk is dead-lettered, and complete again after its re-drive is applied', () => {
    const broken = run([begin, applied(0, 'db'), failed(1, 'db'), applied(2, 'cache')]);
    expect(broken).toMatchObject({ status: 'failed', failed: 1, applied: 2, pending: 0 });
    expect(broken.failures).toEqual([{ chunkIndex: 1, target: 'db', attempts: 4, error: 'ECONNREFUSED', at: 1200 }]);
    expect(broken.targets.db).toEqual({ expected: 2, applied: 1, failed: 1, retries: 3 });

    const redriven = applyTxnEvent(broken, redrive(1, 'db'));
    expect(redriven).toMatchObject({ status: 'pending', failed: 0, pending: 1, failures: [] });
    const fixed = applyTxnEvent(redriven, applied(1, 'db', 1, 5000));
    expect(fixed).toMatchObject({ status: 'complete', completedAt: 5000 });
    expect(fixed.targets.db).toEqual({ expected: 2, applied: 2, failed: 0, retries: 3 });
  });

  it('keeps an applied chunk applied when a late failure of a re-delivery arrives', () => {
    const s = run([begin, applied(0, 'db'), failed(0, 'db')]);
    expect(s).toMatchObject({ status: 'pending', applied: 1, failed: 0 });
  });

  it('ignores events of a plan with another chunk count', () => {
    const s = run([begin, { ...applied(0, 'db'), chunkCount: 7 }]);
    expect(s.applied).toBe(0);
  });

  it(`keeps at most ${MAX_FAILURES} failure details but counts every failure`, () => {
    let s: TxnStatus | undefined;
    for (let i = 0; i < 30; i += 1) s = applyTxnEvent(s, { kind: 'failed', txnId: 'big', target: 'db', chunkIndex: i, chunkCount: 30, attempts: 1, at: i, error: 'x' });
    expect(s!.failed).toBe(30);
    expect(s!.failures).toHaveLength(MAX_FAILURES);
  });

  it('prints a summary people can act on', () => {
    const text = formatTxnStatus(run([begin, applied(0, 'db'), failed(1, 'db')]));
    expect(text).toContain('txn t1: FAILED  1/3 chunks applied, 1 failed, 1 pending');
    expect(text).toContain('target db: 1/2 applied, 1 failed, 3 retries');
    expect(text).toContain('chunk 1 (db) dead-lettered after 4 attempt(s): ECONNREFUSED');
    expect(text).toContain('wal dlq replay --namespace <ns> --id t1');
  });
});

describe('completion events', () => {
  it('round-trip as JSON', () => {
    for (const e of [begin, applied(1, 'db'), failed(2, 'cache'), redrive(0, 'db')]) expect(decodeTxnEvent(encodeTxnEvent(e))).toEqual(e);
  });

  it('name the field that is wrong', () => {
    const bad = (o: object) => () => decodeTxnEvent(Buffer.from(JSON.stringify(o)));
    expect(() => decodeTxnEvent(Buffer.from('{nope'))).toThrow(/not JSON/);
    expect(() => decodeTxnEvent(null)).toThrow(/no value/);
    expect(bad({ ...begin, kind: 'done' })).toThrow(/"kind" must be one of begin, redrive, applied, failed/);
    expect(bad({ ...begin, chunkCount: 0 })).toThrow(/"chunkCount" must be a positive integer/);
    expect(bad({ ...applied(0, 'db'), chunkIndex: 3 })).toThrow(/"chunkIndex" must be an integer in \[0, chunkCount\), got 3/);
    expect(bad({ ...applied(0, 'db'), attempts: 0 })).toThrow(/"attempts" must be a positive integer/);
    expect(bad({ ...begin, targets: { db: -1 } })).toThrow(/"targets" must map target names to chunk counts/);
  });
});
