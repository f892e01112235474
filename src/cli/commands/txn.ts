import { Command } from 'commander';
import { createKafkaClient } from '../../kafka';
import { formatTxnStatus, readTxnStatus, type TxnStatus } from '../../mutations';
import { DEFAULT_TOPOLOGY_FILES, loadNamespace } from '../namespace';
import { parseDurationOption } from './write';

/** Exit status by transaction state, so scripts can branch without parsing (1 stays "the command failed"). */
export const TXN_EXIT_CODE = { complete: 0, pending: 2, failed: 3, unknown: 4 } as const;

interface TxnStatusOptions {
  topology: string[];
  namespace: string;
  json?: boolean;
  wait?: string;
}

export function registerTxn(program: Command): void {
  const txn = program.command('txn').description('multi-partition mutation transactions (requests with mutations)');
  txn
    .command('status <id>')
    .description(
      'show a transaction: pending / complete / failed, with chunks per target, retries and dead-lettered chunks ' +
        '(read from the txn-status topic; exit 0 complete, 2 pending, 3 failed, 4 unknown)',
    )
    .requiredOption('-n, --namespace <name>', 'namespace')
    .option('-t, --topology <files...>', 'topology files or directories', DEFAULT_TOPOLOGY_FILES)
    .option('--json', 'print the status as JSON')
    .option('-w, --wait <duration>', 'poll until the transaction is complete or failed, at most this long (30s, 5m)')
    .action(async (id: string, options: TxnStatusOptions) => {
      const { config, namespace } = loadNamespace(options.topology, options.namespace);
      const kafka = createKafkaClient(config.clusters[namespace.cluster], 'wal-txn');
      const deadline = Date.now() + (options.wait === undefined ? 0 : parseDurationOption('--wait', options.wait));
      let status: TxnStatus | undefined;
      for (;;) {
        status = await readTxnStatus(kafka, namespace, id);
        if ((status && status.status !== 'pending') || Date.now() >= deadline) break;
        await new Promise((resolve) => setTimeout(resolve, Math.min(1000, Math.max(0, deadline - Date.now()))));
      }
      if (!status) {
        const message = `txn ${id}: UNKNOWN in namespace ${namespace.name} (not fanned out yet, not a request with mutations, or expired)`;
        process.stdout.write(options.json ? `${JSON.stringify({ txnId: id, status: 'unknown', message })}\n` : `${message}\n`);
        process.exitCode = TXN_EXIT_CODE.unknown;
        return;
      }
      process.stdout.write(options.json ? `${JSON.stringify(status)}\n` : `${formatTxnStatus(status, namespace.name)}\n`);
      process.exitCode = TXN_EXIT_CODE[status.status];
    });
}
