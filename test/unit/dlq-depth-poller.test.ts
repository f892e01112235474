import { Kafka, logLevel } from 'kafkajs';
import { parseConfig } from '../../src/namespaces';
import { createLogger } from '../../src/observability/logger';
import { dlqDepthRecords, DlqDepthPoller } from '../../src/ops/dlq-depth-poller';

const config = parseConfig(
  `
clusters:
  primary: { brokers: 127.0.0.1:1, schemaRegistryUrl: http://127.0.0.1:8081/apis/ccompat/v7 }
namespaces:
  - name: kept
    targets: { out: { type: kafka, topic: kept.out } }
  - name: off
    targets: { out: { type: kafka, topic: off.out } }
    dlq: { enabled: false }
`,
  'poller.yaml',
);

/** A client of a port nobody listens on, failing at once instead of retrying. */
const unreachable = new Kafka({ brokers: ['127.0.0.1:1'], clientId: 'poller-test', retry: { retries: 0 }, connectionTimeout: 200, logLevel: logLevel.NOTHING });

function capturingLogger() {
  const lines: Array<Record<string, unknown>> = [];
  const logger = createLogger({}, { level: 'warn' }, { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) });
  return { logger, lines };
}

async function gaugeOf(namespace: string): Promise<number | undefined> {
  return (await dlqDepthRecords.get()).values.find((v) => v.labels.namespace === namespace)?.value;
}

describe('the DLQ depth poller of wal start', () => {
  it('logs a poll that cannot reach the cluster at warn and keeps the last depth, without throwing', async () => {
    const { logger, lines } = capturingLogger();
    dlqDepthRecords.set({ namespace: 'kept', backend: 'kafka' }, 5);
    const poller = new DlqDepthPoller({ namespaces: config.namespaces.map((namespace) => ({ namespace, kafka: unreachable })), intervalMs: 50, logger });
    await expect(poller.pollOnce()).resolves.toBeUndefined();
    await poller.stop();
    expect(lines.map((l) => [l.level, l.namespace, l.msg])).toEqual([[40, 'kept', 'could not compute the DLQ depth; wal_dlq_depth_records keeps its last value']]);
    expect(await gaugeOf('kept')).toBe(5);
  });

  it('watches only namespaces whose DLQ is enabled: with none, start() schedules nothing', async () => {
    const { logger, lines } = capturingLogger();
    const off = config.namespaces.filter((ns) => !ns.dlq.enabled);
    const poller = new DlqDepthPoller({ namespaces: off.map((namespace) => ({ namespace, kafka: unreachable })), intervalMs: 10, logger });
    poller.start();
    await new Promise((r) => setTimeout(r, 50));
    await poller.stop();
    expect(lines).toEqual([]);
    expect(await gaugeOf('off')).toBeUndefined();
  });
});
