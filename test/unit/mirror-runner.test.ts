import { parseConfig } from '../../src/namespaces';
import { MirrorConfigError, MirrorRunner } from '../../src/mirror';

const config = parseConfig(
  JSON.stringify({
    clusters: { A: { brokers: ['127.0.0.1:1'], schemaRegistryUrl: 'http://127.0.0.1:1' }, B: { brokers: ['127.0.0.1:2'], schemaRegistryUrl: 'http://127.0.0.1:2' } },
    namespaces: [
      { name: 'plain', cluster: 'A' },
      { name: 'orders-mirror', cluster: 'A', processingGuarantee: 'exactly-once', replication: { source: 'A', targets: ['B'], topicPattern: 'orders\\..*' } },
    ],
  }),
  'inline.json',
  {},
);

describe('MirrorRunner (no broker)', () => {
  it('refuses a namespace without replication, naming it', () => {
    const run = () => new MirrorRunner({ config, namespace: config.namespaces[0], instanceId: 'i1' });
    expect(run).toThrow(MirrorConfigError);
    expect(run).toThrow(/namespace "plain" has no replication section/);
  });

  it('before start: one source group per target, engine-shaped status with the mirror view', async () => {
    const runner = new MirrorRunner({ config, namespace: config.namespaces[1], instanceId: 'i1' });
    expect(runner.groupId).toBe('wal.mirror.orders-mirror.B');
    expect(runner.guarantee).toBe('exactly-once');
    const status = await runner.status();
    expect(status).toMatchObject({ namespace: 'orders-mirror', state: 'created', joined: false, assigned: [], tasks: [] });
    expect(status.mirror).toMatchObject({ source: 'A', links: [{ source: 'A', target: 'B', groupId: 'wal.mirror.orders-mirror.B', state: 'created', topics: [] }] });
    await runner.stop();
  });
});
