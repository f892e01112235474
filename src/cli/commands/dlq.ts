import { Command } from 'commander';
import { createKafkaClient } from '../../kafka';
import { DEAD_LETTER_KINDS } from '../../wire/dlq';
import { DLQ_HEADERS } from '../../wire/headers';
import {
  deadLetterJson,
  dlqDepth,
  dlqName,
  listDeadLetters,
  parseDlqFilters,
  purgeDeadLetters,
  replayDeadLetters,
  type DlqFilterInput,
  type DlqScope,
  type LedgerDeadLetter,
} from '../../dlq/operations';
import { DEFAULT_TOPOLOGY_FILES, loadNamespace } from '../namespace';

interface DlqOptions {
  topology: string[];
  namespace: string;
  since?: string;
  until?: string;
  id?: string[];
  kind?: string[];
  target?: string[];
  reason?: string;
  limit?: string;
  json?: boolean;
  all?: boolean;
  dryRun?: boolean;
  toTarget?: string;
}

function progress(verb: string): (done: number, total: number) => void {
  return (done, total) => {
    if (process.stderr.isTTY || done === total) process.stderr.write(`\r${verb} ${done}/${total}`);
    if (done === total) process.stderr.write('\n');
  };
}

function describe(record: LedgerDeadLetter, sqs: boolean): string {
  const h = record.headers;
  const mark = record.mark ? `  [${record.mark.action} ${record.mark.at}${record.mark.by ? ` by ${record.mark.by}` : ''}${record.mark.toTarget ? ` to ${record.mark.toTarget}` : ''}]` : '';
  // An SQS dead letter has a queue and a MessageId where a Kafka one has a partition and an offset.
  const where = sqs
    ? `from SQS queue ${h[DLQ_HEADERS.sourceTopic]} message ${h[DLQ_HEADERS.sourceOffset]}, failures ${h[DLQ_HEADERS.firstFailureAt]} … ${h[DLQ_HEADERS.lastFailureAt]}; dlq message ${record.offset}`
    : `from ${h[DLQ_HEADERS.sourceTopic]}[${h[DLQ_HEADERS.sourcePartition]}]@${h[DLQ_HEADERS.sourceOffset]}, failures ${h[DLQ_HEADERS.firstFailureAt]} … ${h[DLQ_HEADERS.lastFailureAt]}; dlq [${record.partition}]@${record.offset}`;
  return [
    `${new Date(record.timestamp).toISOString()}  id=${h[DLQ_HEADERS.id] ?? '?'}  kind=${h[DLQ_HEADERS.kind] ?? '?'}${h[DLQ_HEADERS.errorClass] ? ` (${h[DLQ_HEADERS.errorClass]})` : ''}  attempts=${h[DLQ_HEADERS.attempts] ?? '?'}  target=${h[DLQ_HEADERS.target] ?? '-'}${mark}`,
    `    reason: ${h[DLQ_HEADERS.reason] ?? '?'}`,
    `    ${where}`,
  ].join('\n');
}

function onSqs(scope: DlqScope): boolean {
  return scope.namespace.queue?.type === 'sqs';
}

function filterInput(options: DlqOptions): DlqFilterInput {
  return { since: options.since, until: options.until, ids: options.id, kinds: options.kind, targets: options.target, reason: options.reason };
}

/** The filters as given, without empty ones: what a mark records of the command that made it. */
function filterRecord(options: DlqOptions): Record<string, unknown> {
  return Object.fromEntries(Object.entries(filterInput(options)).filter(([, value]) => value !== undefined));
}

function scopeOf(options: DlqOptions): DlqScope {
  const { config, namespace } = loadNamespace(options.topology, options.namespace);
  return { kafka: createKafkaClient(config.clusters[namespace.cluster], 'wal-dlq'), namespace, onProgress: progress('read DLQ records') };
}

export function registerDlq(program: Command): void {
  const dlq = program
    .command('dlq')
    .description("inspect, replay and purge a namespace's dead-letter queue (replay and purge mark records in <dlq>.marks; nothing unselected is ever deleted)");
  const common = (command: Command): Command =>
    command
      .requiredOption('-n, --namespace <name>', 'namespace')
      .option('-t, --topology <files...>', 'topology files or directories', DEFAULT_TOPOLOGY_FILES)
      .option('--since <when>', 'only records dead-lettered since (ISO date-time, or 30s/2h/3d ago)')
      .option('--until <when>', 'only records dead-lettered before')
      .option('--id <ids...>', 'only these request ids')
      .option('--kind <kinds...>', `only these kinds (${DEAD_LETTER_KINDS.join(', ')})`)
      .option('--target <targets...>', 'only records that failed on these targets')
      .option('--reason <regex>', 'only records whose reason matches this regular expression');

  common(dlq.command('list').description('show dead-lettered records with their reason, attempts and source (not those already replayed or purged)'))
    .option('--all', 'also show replayed and purged records, with their mark')
    .option('--limit <n>', 'at most this many records')
    .option('--json', 'one JSON object per line (value as base64)')
    .action(async (options: DlqOptions) => {
      const filters = parseDlqFilters(filterInput(options));
      const scope = scopeOf(options);
      const records = await listDeadLetters(scope, filters, { all: options.all, limit: options.limit === undefined ? undefined : Number(options.limit) });
      for (const record of records) process.stdout.write(`${options.json ? JSON.stringify(deadLetterJson(record)) : describe(record, onSqs(scope))}\n`);
      if (!options.json) process.stdout.write(`${records.length} record(s) in ${dlqName(scope.namespace)}\n`);
    });

  common(dlq.command('replay').description('re-produce selected dead letters to the intake with a fresh attempt count, and mark them replayed once acknowledged'))
    .option('--to-target <name>', 'deliver the replayed requests only to this target of the namespace, whatever target they named')
    .option('--dry-run', 'list what would be replayed, send and mark nothing')
    .action(async (options: DlqOptions) => {
      const filters = parseDlqFilters(filterInput(options));
      const scope = scopeOf(options);
      const result = await replayDeadLetters(scope, filters, {
        by: 'cli',
        filter: filterRecord(options),
        toTarget: options.toTarget,
        dryRun: options.dryRun,
        onSent: progress('replayed'),
      });
      const to = `${result.intake}${options.toTarget ? ` for target ${options.toTarget}` : ''}`;
      if (options.dryRun) {
        for (const record of result.records) process.stdout.write(`${describe(record, onSqs(scope))}\n`);
        process.stdout.write(`would replay ${result.records.length} record(s) to ${to}\n`);
        return;
      }
      process.stdout.write(`replayed ${result.replayed} record(s) to ${to}\n`);
    });

  common(dlq.command('purge').description('mark selected dead letters purged (no longer listed, replayed or counted); deletes only a prefix of marked records'))
    .option('--dry-run', 'list what would be purged, mark nothing')
    .action(async (options: DlqOptions) => {
      const filters = parseDlqFilters(filterInput(options));
      const scope = scopeOf(options);
      const result = await purgeDeadLetters(scope, filters, { by: 'cli', filter: filterRecord(options), dryRun: options.dryRun, onMarked: progress('purged') });
      if (options.dryRun) {
        for (const record of result.records) process.stdout.write(`${describe(record, onSqs(scope))}\n`);
        process.stdout.write(`would purge ${result.records.length} record(s) of ${dlqName(scope.namespace)}\n`);
        return;
      }
      const deleted = result.deleted.map((d) => `[${d.partition}] below ${d.upTo}`).join(', ');
      process.stdout.write(`purged ${result.purged} record(s) of ${dlqName(scope.namespace)}${deleted ? `; deleted the marked prefix of ${deleted}` : ''}\n`);
    });

  dlq
    .command('depth')
    .description('dead letters not yet replayed or purged (what wal_dlq_depth_records reports)')
    .requiredOption('-n, --namespace <name>', 'namespace')
    .option('-t, --topology <files...>', 'topology files or directories', DEFAULT_TOPOLOGY_FILES)
    .option('--json', 'as one JSON object')
    .action(async (options: DlqOptions) => {
      const depth = await dlqDepth(scopeOf(options));
      const held = depth.inFlight ? ` (${depth.inFlight} of them held by a reader now)` : '';
      process.stdout.write(options.json ? `${JSON.stringify(depth)}\n` : `${depth.depth} record(s) waiting in ${depth.topic}${held}\n`);
    });
}
