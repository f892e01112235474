import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { backoffDelay, TimerEntry, TimerStore } from '../../src/delayed-queue';
import { LevelStore } from '../../src/state';

function entry(id: string, dueAt: number, extra: Partial<TimerEntry> = {}): TimerEntry {
  return { id, dueAt, attempts: 0, source: { topic: 'wal.t.intake', partition: 0, offset: '7' }, key: Buffer.from(id), value: Buffer.from(`value-${id}`), headers: { h: id }, ...extra };
}

describe('timer store (on LevelDB)', () => {
  let dir: string;
  let level: LevelStore;
  let timers: TimerStore;

  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wal-timers-'));
    level = await LevelStore.open('timers', dir);
    timers = new TimerStore(level);
  });
  afterEach(async () => {
    await level.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('yields due timers in due-time order, none that is not yet due', async () => {
    const base = 1_800_000_000_000;
    // Written out of order, with due times that differ in every byte position.
    for (const [id, offset] of [['c', 3], ['a', 1], ['late', 3 * 86_400_000], ['b', 2], ['far', 2 ** 40]] as const) {
      await timers.schedule(entry(id, base + offset));
    }
    expect((await timers.due(base + 3, 100)).map((e) => e.id)).toEqual(['a', 'b', 'c']);
    expect((await timers.due(base + 2, 1)).map((e) => e.id)).toEqual(['a']);
    expect(await timers.nextDueAt()).toBe(base + 1);
    expect(await timers.pendingCount()).toBe(5);
  });

  it('keeps one timer per id: a second write of a pending id changes nothing', async () => {
    expect(await timers.schedule(entry('x', 100))).toBe(true);
    expect(await timers.schedule(entry('x', 5))).toBe(false);
    expect((await timers.due(1000, 10)).map((e) => [e.id, e.dueAt])).toEqual([['x', 100]]);
    expect(await timers.pendingCount()).toBe(1);
  });

  it('answers which ids of a batch are pending in one lookup, and schedules absent ones without another', async () => {
    await timers.schedule(entry('a', 10));
    await timers.schedule(entry('c', 30));
    expect([...(await timers.pendingAmong(['a', 'b', 'c', 'd']))].sort()).toEqual(['a', 'c']);
    await timers.scheduleAbsent(entry('b', 20));
    expect((await timers.due(100, 10)).map((e) => e.id)).toEqual(['a', 'b', 'c']);
    expect(await timers.pendingCount()).toBe(3);
  });

  it('moves a timer when a retry replaces it, keeping the count', async () => {
    await timers.schedule(entry('x', 100));
    await timers.schedule(entry('x', 500, { attempts: 1, lastError: 'HTTP 503' }), { replace: true });
    expect(await timers.due(499, 10)).toEqual([]);
    const [moved] = await timers.due(500, 10);
    expect(moved).toMatchObject({ id: 'x', dueAt: 500, attempts: 1, lastError: 'HTTP 503', headers: { h: 'x' } });
    expect(moved?.value.toString()).toBe('value-x');
    expect(await timers.pendingCount()).toBe(1);
  });

  it('cancels by id and survives reopening from disk', async () => {
    await timers.schedule(entry('keep', 10));
    await timers.schedule(entry('drop', 20));
    expect(await timers.remove('drop')).toBe(true);
    expect(await timers.remove('drop')).toBe(false);
    await timers.flush(); // the count is written once per flush, as the processor does before a commit
    await level.close();
    level = await LevelStore.open('timers', dir);
    timers = new TimerStore(level);
    expect((await timers.due(100, 10)).map((e) => e.id)).toEqual(['keep']);
    expect(await timers.pendingCount()).toBe(1);
    expect(await timers.isPending('drop')).toBe(false);
  });
});

describe('backoff', () => {
  const config = { initialMs: 1000, maxMs: 10_000, multiplier: 2, jitter: 0.5 };

  it('grows exponentially and is capped, without jitter at random = 0', () => {
    expect([1, 2, 3, 4, 5, 6].map((a) => backoffDelay(a, config, () => 0))).toEqual([1000, 2000, 4000, 8000, 10_000, 10_000]);
  });

  it('takes off at most the jitter fraction', () => {
    expect(backoffDelay(2, config, () => 1)).toBe(1000);
    expect(backoffDelay(2, config, () => 0.5)).toBe(1500);
  });
});
