import { formatInstances } from '../../src/cli/commands/status';
import type { InstanceStatus } from '../../src/ops/instance';

describe('wal status formatting', () => {
  it('shows each instance, its namespaces, and per partition the lag, store sizes and restore count', () => {
    const now = Date.parse('2026-01-01T00:00:10Z');
    const status: InstanceStatus = {
      instanceId: 'i-1',
      pid: process.pid,
      startedAt: '2026-01-01T00:00:00Z',
      updatedAt: '2026-01-01T00:00:08Z',
      stateDir: '/var/lib/wal',
      namespaces: [
        {
          namespace: 'orders',
          groupId: 'wal.orders',
          guarantee: 'exactly-once',
          state: 'running',
          joined: true,
          paused: false,
          assigned: [0, 2],
          tasks: [
            { partition: 0, restoredRecords: 1200, offsets: { 'wal.orders.intake': { processed: '90', highWatermark: '100', lag: 10 } }, stores: { timers: 2048 } },
            { partition: 2, restoredRecords: 0, offsets: { 'wal.orders.intake': { processed: null, highWatermark: null, lag: null } }, stores: {} },
          ],
        },
      ],
    };
    expect(formatInstances([status], now)).toEqual([
      `instance i-1 (pid ${process.pid}, running, updated 2s ago, state dir /var/lib/wal)`,
      '  namespace orders (group wal.orders, exactly-once, running): assigned [0, 2]',
      '    partition 0  wal.orders.intake: processed 90 high 100 lag 10  stores timers=2.0 KiB  restored 1200',
      '    partition 2  wal.orders.intake: processed - high - lag -  stores none  restored 0',
    ]);
  });

  it('flags an instance whose status file went stale as not running', () => {
    const now = Date.parse('2026-01-01T00:01:00Z');
    const status: InstanceStatus = { instanceId: 'gone', pid: process.pid, startedAt: '', updatedAt: '2026-01-01T00:00:00Z', stateDir: '/x', namespaces: [] };
    expect(formatInstances([status], now)[0]).toContain('NOT running');
  });
});
