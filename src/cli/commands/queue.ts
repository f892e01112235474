import { Command } from 'commander';
import { createKafkaClient } from '../../kafka';
import type { ControlCommand } from '../../delayed-queue';
import { INTAKE_HEADERS } from '../../wire/headers';
import { DEFAULT_TOPOLOGY_FILES, loadNamespace } from '../namespace';

/**
 * Sends a control record through the intake topic: pause/resume to every partition (each task keeps
 * its own flag, in its changelogged store), cancel keyed by id to the partition holding the timer.
 */
export async function sendControl(files: string[], namespaceName: string, command: ControlCommand, ids: string[] = []): Promise<number> {
  const { config, namespace } = loadNamespace(files, namespaceName);
  const kafka = createKafkaClient(config.clusters[namespace.cluster], 'wal-queue');
  const admin = kafka.admin();
  await admin.connect();
  const partitions = (await admin.fetchTopicOffsets(namespace.topics.intake)).map((p) => p.partition);
  await admin.disconnect();
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  try {
    const headers = { [INTAKE_HEADERS.control]: command };
    const messages =
      command === 'cancel'
        ? ids.map((id) => ({ key: id, value: null, headers }))
        : partitions.map((partition) => ({ partition, key: null, value: null, headers }));
    await producer.send({ topic: namespace.topics.intake, acks: -1, messages });
    return messages.length;
  } finally {
    await producer.disconnect();
  }
}

export function registerQueue(program: Command): void {
  const queue = program
    .command('queue')
    .description(
      'operate a delayed queue: pause/resume delivery, cancel pending records. `wal queue pause` keeps taking records in (they wait in the timer store) and only holds delivery; `wal namespace pause` stops all processing of the namespace (intake, fan-out, mirror) on every instance',
    );
  const withNamespace = (command: Command): Command =>
    command.requiredOption('-n, --namespace <name>', 'namespace').option('-t, --topology <files...>', 'topology files or directories', DEFAULT_TOPOLOGY_FILES);

  for (const command of ['pause', 'resume'] as const) {
    withNamespace(queue.command(command).description(command === 'pause' ? 'stop delivering; intake is still read and timers keep accumulating (to stop everything: wal namespace pause)' : 'deliver again, starting with what fell due while paused')).action(
      async (options: { namespace: string; topology: string[] }) => {
        const sent = await sendControl(options.topology, options.namespace, command);
        process.stdout.write(`${command} sent to ${sent} partition(s) of namespace ${options.namespace}\n`);
      },
    );
  }
  withNamespace(queue.command('cancel').description('cancel pending records by id'))
    .requiredOption('--id <ids...>', 'request ids')
    .action(async (options: { namespace: string; topology: string[]; id: string[] }) => {
      const sent = await sendControl(options.topology, options.namespace, 'cancel', options.id);
      process.stdout.write(`cancel sent for ${sent} id(s)\n`);
    });
}
