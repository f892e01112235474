import { Command } from 'commander';
import { createKafkaClient } from '../../kafka';
import { DEAD_LETTER_KINDS } from '../../wire/dlq';
import { DLQ_HEADERS } from '../../wire/headers';
import {
  deadLetterJson,
  dlqDepth,
  listDeadLetters,
  parseDlqFilters,
  purgeDeadLetters,
  replayDeadLetters,
  type DlqFilterInput,
  type DlqScope,
  type LedgerDeadLetter,
} from '../../dlq/operations';
import { DEFAULT_TOPOLOGY_FILES, loadNamespace } from '../namespace';
import { listSqsDeadLetters, replaySqsDeadLetters, type SqsDeadLetter } from '../../sqs';
import type { NamespaceConfig } from '../../namespaces';

/** The namespace when it runs on an SQS queue (its DLQ is an SQS queue), else undefined. */
function sqsNamespaceOf(options: DlqOptions): NamespaceConfig | undefined {
  const { namespace } = loadNamespace(options.topology, options.namespace);
  return namespace.queue?.type === 'sqs' ? namespace : undefined;
}

function describeSqs(letter: SqsDeadLetter): string {
  const h = letter.headers;
  return [
    `${new Date(letter.timestamp).toISOString()}  id=${h[DLQ_HEADERS.id] ?? '?'}  kind=${h[DLQ_HEADERS.kind] ?? '?'}  attempts=${h[DLQ_HEADERS.attempts] ?? '?'}  target=${h[DLQ_HEADERS.target] ?? '-'}`,
    `    reason: ${h[DLQ_HEADERS.reason] ?? '?'}`,
    `    from SQS queue ${h[DLQ_HEADERS.sourceTopic]} message ${h[DLQ_HEADERS.sourceOffset]}, failures ${h[DLQ_HEADERS.firstFailureAt]} … ${h[DLQ_HEADERS.lastFailureAt]}; dlq message ${letter.messageId}`,
  ].join('\n');
}

function notForSqs(what: string, namespace: NamespaceConfig): never {
  process.stderr.write(`wal dlq ${what}: namespace ${namespace.name} runs on an SQS queue; only list and replay (without --to-target) read SQS DLQs so far\n`);
  process.exit(2);
}

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

function describe(record: LedgerDeadLetter): string {
  const h = record.headers;
  const mark = record.mark ? `  [${record.mark.action} ${record.mark.at}${record.mark.by ? ` by ${record.mark.by}` : ''}${record.mark.toTarget ? ` to ${record.mark.toTarget}` : ''}]` : '';
  return [
    `${new Date(record.timestamp).toISOString()}  id=${h[DLQ_HEADERS.id] ?? '?'}  kind=${h[DLQ_HEADERS.kind] ?? '?'}${h[DLQ_HEADERS.errorClass] ? ` (${h[DLQ_HEADERS.errorClass]})` : ''}  attempts=${h[DLQ_HEADERS.attempts] ?? '?'}  target=${h[DLQ_HEADERS.target] ?? '-'}${mark}`,
    `    reason: ${h[DLQ_HEADERS.reason] ?? '?'}`,
    `    from ${h[DLQ_HEADERS.sourceTopic]}[${h[DLQ_HEADERS.sourcePartition]}]@${h[DLQ_HEADERS.sourceOffset]}, failures ${h[DLQ_HEADERS.firstFailureAt]} … ${h[DLQ_HEADERS.lastFailureAt]}; dlq [${record.partition}]@${record.offset}`,
  ].join('\n');
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
      const sqs = sqsNamespaceOf(options);
      if (sqs) {
        const { queue, letters } = await listSqsDeadLetters(sqs, filters, { limit: options.limit === undefined ? undefined : Number(options.limit) });
        for (const letter of letters) process.stdout.write(`${options.json ? JSON.stringify({ messageId: letter.messageId, timestamp: letter.timestamp, headers: letter.headers, body: letter.body }) : describeSqs(letter)}\n`);
        if (!options.json) process.stdout.write(`${letters.length} record(s) in SQS queue ${queue}\n`);
        return;
      }
      const scope = scopeOf(options);
      const records = await listDeadLetters(scope, filters, { all: options.all, limit: options.limit === undefined ? undefined : Number(options.limit) });
      for (const record of records) process.stdout.write(`${options.json ? JSON.stringify(deadLetterJson(record)) : describe(record)}\n`);
      if (!options.json) process.stdout.write(`${records.length} record(s) in ${scope.namespace.topics.dlq}\n`);
    });

  common(dlq.command('replay').description('re-produce selected dead letters to the intake with a fresh attempt count, and mark them replayed once acknowledged'))
    .option('--to-target <name>', 'deliver the replayed requests only to this target of the namespace, whatever target they named')
    .option('--dry-run', 'list what would be replayed, send and mark nothing')
    .action(async (options: DlqOptions) => {
      const filters = parseDlqFilters(filterInput(options));
      const sqs = sqsNamespaceOf(options);
      if (sqs) {
        if (options.toTarget) notForSqs('replay --to-target', sqs);
        const result = await replaySqsDeadLetters(sqs, filters, { dryRun: options.dryRun });
        if (options.dryRun) {
          for (const letter of result.letters) process.stdout.write(`${describeSqs(letter)}\n`);
          process.stdout.write(`would replay ${result.letters.length} record(s) from SQS queue ${result.queue}\n`);
          return;
        }
        process.stdout.write(`replayed ${result.replayed} record(s) from SQS queue ${result.queue} to the namespace's queue\n`);
        return;
      }
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
        for (const record of result.records) process.stdout.write(`${describe(record)}\n`);
        process.stdout.write(`would replay ${result.records.length} record(s) to ${to}\n`);
        return;
      }
      process.stdout.write(`replayed ${result.replayed} record(s) to ${to}\n`);
    });

  common(dlq.command('purge').description('mark selected dead letters purged (no longer listed, replayed or counted); deletes only a prefix of marked records'))
    .option('--dry-run', 'list what would be purged, mark nothing')
    .action(async (options: DlqOptions) => {
      const filters = parseDlqFilters(filterInput(options));
      const sqs = sqsNamespaceOf(options);
      if (sqs) notForSqs('purge', sqs);
      const scope = scopeOf(options);
      const result = await purgeDeadLetters(scope, filters, { by: 'cli', filter: filterRecord(options), dryRun: options.dryRun, onMarked: progress('purged') });
      if (options.dryRun) {
        for (const record of result.records) process.stdout.write(`${describe(record)}\n`);
        process.stdout.write(`would purge ${result.records.length} record(s) of ${scope.namespace.topics.dlq}\n`);
        return;
      }
      const deleted = result.deleted.map((d) => `[${d.partition}] below ${d.upTo}`).join(', ');
      process.stdout.write(`purged ${result.purged} record(s) of ${scope.namespace.topics.dlq}${deleted ? `; deleted the marked prefix of ${deleted}` : ''}\n`);
    });

  dlq
    .command('depth')
    .description('dead letters not yet replayed or purged (what wal_dlq_depth_records reports)')
    .requiredOption('-n, --namespace <name>', 'namespace')
    .option('-t, --topology <files...>', 'topology files or directories', DEFAULT_TOPOLOGY_FILES)
    .option('--json', 'as one JSON object')
    .action(async (options: DlqOptions) => {
      const sqs = sqsNamespaceOf(options);
      if (sqs) notForSqs('depth', sqs);
      const depth = await dlqDepth(scopeOf(options));
      process.stdout.write(options.json ? `${JSON.stringify(depth)}\n` : `${depth.depth} record(s) waiting in ${depth.topic}\n`);
    });
}
