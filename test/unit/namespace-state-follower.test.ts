import net from 'node:net';
import { Kafka, logLevel } from 'kafkajs';
import { NamespaceStateUnavailableError } from '../../src/namespaces/namespace-state-topic';
import { createLogger } from '../../src/observability/logger';
import { WalInstance, type InstanceRunner } from '../../src/ops/instance';
import { NamespaceStateFollower } from '../../src/ops/namespace-state-follower';
import type { NamespaceStatus } from '../../src/engine';

const logger = createLogger({}, { level: 'silent' });

/** A port nothing listens on: connections are refused at once (a real refusal, no broker stand-in). */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** A runner that records what the instance asked of it. */
function recordingRunner(calls: string[]): InstanceRunner {
  return {
    start: async () => void calls.push('start'),
    stop: async () => void calls.push('stop'),
    pause: async () => void calls.push('pause'),
    resume: async () => void calls.push('resume'),
    status: async (): Promise<NamespaceStatus> => ({ namespace: 'orders', groupId: 'wal.orders', guarantee: 'at-least-once', state: 'running', joined: true, paused: false, assigned: [], tasks: [] }),
  };
}

describe('the namespace state follower when the state topic cannot be read', () => {
  it('refuses to start the instance within its load timeout, starting, pausing and resuming no runner', async () => {
    const port = await closedPort();
    const calls: string[] = [];
    const runner = recordingRunner(calls);
    const follower = new NamespaceStateFollower({
      namespaces: [{ namespace: 'orders', cluster: 'A', runner }],
      kafka: () => new Kafka({ clientId: 'follower-test', brokers: [`127.0.0.1:${port}`], retry: { retries: 0 }, connectionTimeout: 300, logLevel: logLevel.NOTHING }),
      loadTimeoutMs: 1500,
      readTimeoutMs: 500,
      logger,
    });
    const instance = new WalInstance('follower-test', '/nonexistent-wal-state', [runner], logger, follower);
    const started = Date.now();
    const failure = await instance.start().then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(failure).toBeInstanceOf(NamespaceStateUnavailableError);
    expect((failure as Error).message).toMatch(/cannot read the namespace state topic on cluster A .*not starting, since a namespace there may be paused/);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(calls).toEqual([]);
    await follower.stop();
  });
});
