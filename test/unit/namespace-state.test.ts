import { formatInstances } from '../../src/cli/commands/status';
import { formatStates } from '../../src/cli/commands/namespace';
import {
  applyStateChange,
  DEFAULT_NAMESPACE_STATE,
  encodeNamespaceState,
  NAMESPACE_STATE_TOPIC,
  NamespaceStateFormatError,
  parseNamespaceState,
} from '../../src/namespaces/namespace-state';
import { planTopics } from '../../src/namespaces/topic-plan';
import { parseConfig } from '../../src/namespaces';
import { namespaceReadiness, PAUSED_REASON } from '../../src/ops/health';
import { formatMetricsTable, namespaceRows } from '../../src/ops/metrics-table';
import { stateTransitions } from '../../src/ops/namespace-state-follower';
import type { NamespaceStatus } from '../../src/engine';

describe('namespace state record', () => {
  it('round-trips through its JSON encoding', () => {
    const state = { paused: true, bypass: false, updatedAt: '2026-12-03T10:00:00.000Z', by: 'ops@host' };
    expect(parseNamespaceState(encodeNamespaceState(state))).toEqual(state);
  });

  it('ignores fields it does not know (a newer wal may add some)', () => {
    expect(parseNamespaceState('{"paused":false,"bypass":true,"updatedAt":"t","by":"b","reason":"maintenance"}')).toEqual({ paused: false, bypass: true, updatedAt: 't', by: 'b' });
  });

  it.each([
    ['not JSON', 'paused', /not JSON/],
    ['an array', '[]', /not a JSON object/],
    ['paused as a string', '{"paused":"yes","bypass":false,"updatedAt":"t","by":"b"}', /"paused" must be true or false/],
    ['bypass missing', '{"paused":true,"updatedAt":"t","by":"b"}', /"bypass" must be true or false/],
    ['updatedAt a number', '{"paused":true,"bypass":false,"updatedAt":1,"by":"b"}', /"updatedAt" must be a string/],
    ['by missing', '{"paused":true,"bypass":false,"updatedAt":"t"}', /"by" must be a string/],
  ])('rejects %s with a NamespaceStateFormatError', (_what, text, message) => {
    expect(() => parseNamespaceState(text)).toThrow(NamespaceStateFormatError);
    expect(() => parseNamespaceState(text)).toThrow(message);
  });

  it('changes only the flag a command names: pause keeps bypass, bypass keeps pause', () => {
    const now = new Date('2026-12-03T10:00:00Z');
    const paused = applyStateChange(undefined, { paused: true }, 'a@h', now);
    expect(paused).toEqual({ paused: true, bypass: false, updatedAt: '2026-12-03T10:00:00.000Z', by: 'a@h' });
    const bypassed = applyStateChange(paused, { bypass: true }, 'b@h', now);
    expect(bypassed).toMatchObject({ paused: true, bypass: true, by: 'b@h' });
    expect(applyStateChange(bypassed, { paused: false }, 'c@h', now)).toMatchObject({ paused: false, bypass: true });
  });

  it('defaults to running and taking writes', () => {
    expect(DEFAULT_NAMESPACE_STATE).toMatchObject({ paused: false, bypass: false });
  });

  it('is planned as a compacted one-partition topic on the namespace cluster, beside its other topics', () => {
    const config = parseConfig('clusters:\n  main: { brokers: "k:9092", schemaRegistryUrl: "http://r:8081" }\nnamespaces:\n  - name: orders\n    cluster: main\n    replicationFactor: 3\n', 'x.yaml', {});
    const spec = planTopics(config.namespaces[0]).find((s) => s.topic === NAMESPACE_STATE_TOPIC);
    expect(spec).toMatchObject({ cluster: 'main', role: 'namespace-state', partitions: 1, replicationFactor: 3, configs: { 'cleanup.policy': 'compact' } });
  });
});

describe('following the namespace state', () => {
  it('pauses what is wanted paused and not yet paused, resumes what was paused and no longer is, leaves the rest', () => {
    const applied = new Map([
      ['a', true],
      ['b', true],
      ['c', false],
    ]);
    const wanted = new Map([
      ['a', true],
      ['b', false],
      ['c', true],
      ['d', false],
      ['e', true],
    ]);
    expect(stateTransitions(applied, wanted)).toEqual({ pause: ['c', 'e'], resume: ['b'] });
  });

  it('does nothing when the runners already match', () => {
    expect(stateTransitions(new Map([['a', true]]), new Map([['a', true], ['b', false]]))).toEqual({ pause: [], resume: [] });
  });
});

describe('a paused namespace as operators see it', () => {
  const status = (paused: boolean): NamespaceStatus => ({
    namespace: 'orders',
    groupId: 'wal.orders',
    guarantee: 'at-least-once',
    state: 'running',
    joined: true,
    paused,
    assigned: [0],
    tasks: [{ partition: 0, restoredRecords: 0, offsets: {}, stores: {} }],
  });

  it('is still ready on /ready (paused is intended), and says it is paused', () => {
    expect(namespaceReadiness(status(true))).toMatchObject({ ready: true, paused: true, reason: PAUSED_REASON });
    expect(namespaceReadiness(status(false))).toMatchObject({ ready: true, paused: false });
    expect(namespaceReadiness(status(false)).reason).toBeUndefined();
  });

  it('is marked PAUSED by wal status', () => {
    const now = Date.parse('2026-01-01T00:00:10Z');
    const lines = formatInstances([{ instanceId: 'i', pid: process.pid, startedAt: '', updatedAt: '2026-01-01T00:00:09Z', stateDir: '/s', namespaces: [status(true)] }], now);
    expect(lines[1]).toBe('  namespace orders (group wal.orders, at-least-once, running, PAUSED): assigned [0]');
  });

  it('shows "yes (paused)" in the wal status --admin table', () => {
    const rows = namespaceRows('h:1', [
      { name: 'wal_namespace_ready', labels: { namespace: 'orders' }, value: 1 },
      { name: 'wal_namespace_paused', labels: { namespace: 'orders' }, value: 1 },
      { name: 'wal_namespace_ready', labels: { namespace: 'users' }, value: 1 },
      { name: 'wal_namespace_paused', labels: { namespace: 'users' }, value: 0 },
    ]);
    const [header, orders, users] = formatMetricsTable(rows);
    expect(header).toMatch(/READY/);
    expect(orders).toMatch(/orders\s+yes \(paused\)/);
    expect(users).toMatch(/users\s+yes(?! \()/);
  });

  it('lists state per namespace for wal namespace state', () => {
    expect(
      formatStates([
        { namespace: 'orders', cluster: 'A', paused: true, bypass: false, updatedAt: '2026-12-03T10:00:00.000Z', by: 'ops@h' },
        { namespace: 'users', cluster: 'A', ...DEFAULT_NAMESPACE_STATE },
      ]),
    ).toEqual([
      'NAMESPACE  CLUSTER  STATE    BYPASS  UPDATED                   BY',
      'orders     A        paused   off     2026-12-03T10:00:00.000Z  ops@h',
      'users      A        running  off     -                         -',
    ]);
  });
});
