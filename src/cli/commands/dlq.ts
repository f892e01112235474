import { Command } from 'commander';
import { createKafkaClient } from '../../kafka';
import { DEAD_LETTER_KINDS, originalHeaders } from '../../wire/dlq';
import { ConfigError } from '../../namespaces';
import { DLQ_HEADERS } from '../../wire/headers';
import { readDeadLetters, type DeadLetter } from '../../ops/dead-letters';
import { DEFAULT_TOPOLOGY_FILES, loadNamespace, parseInstant } from '../namespace';

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
  dryRun?: boolean;
}

function reasonPattern(source: string): RegExp {
  try {
    return new RegExp(source);
  } catch (error) {
    throw new ConfigError([`--reason "${source}": not a regular expression (${(error as Error).message})`]);
  }
}

function progress(read: number, total: number): void {
  if (process.stderr.isTTY || read === total) process.stderr.write(`\rread ${read}/${total} DLQ records`);
  if (read === total) process.stderr.write('\n');
}

function describe(record: DeadLetter): string {
  const h = record.headers;
  return [
    `${new Date(record.timestamp).toISOString()}  id=${h[DLQ_HEADERS.id] ?? '?'}  kind=${h[DLQ_HEADERS.kind] ?? '?'}${h[DLQ_HEADERS.errorClass] ? ` (${h[DLQ_HEADERS.errorClass]})` : ''}  attempts=${h[DLQ_HEADERS.attempts] ?? '?'}  target=${h[DLQ_HEADERS.target] ?? '-'}`,
    `    reason: ${h[DLQ_HEADERS.reason] ?? '?'}`,
    `    from ${h[DLQ_HEADERS.sourceTopic]}[${h[DLQ_HEADERS.sourcePartition]}]@${h[DLQ_HEADERS.sourceOffset]}, failures ${h[DLQ_HEADERS.firstFailureAt]} … ${h[DLQ_HEADERS.lastFailureAt]}; dlq [${record.partition}]@${record.offset}`,
  ].join('\n');
}

async function select(options: DlqOptions): Promise<{ records: DeadLetter[]; intake: string; dlq: string; produce: ReturnType<typeof createKafkaClient> }> {
  const { config, namespace } = loadNamespace(options.topology, options.namespace);
  const kafka = createKafkaClient(config.clusters[namespace.cluster], 'wal-dlq');
  const records = await readDeadLetters(kafka, namespace.topics.dlq, {
    since: options.since === undefined ? undefined : parseInstant(options.since),
    until: options.until === undefined ? undefined : parseInstant(options.until),
    ids: options.id,
    kinds: options.kind,
    targets: options.target,
    reason: options.reason === undefined ? undefined : reasonPattern(options.reason),
    limit: options.limit === undefined ? undefined : Number(options.limit),
    onProgress: progress,
  });
  return { records, intake: namespace.topics.intake, dlq: namespace.topics.dlq, produce: kafka };
}

export function registerDlq(program: Command): void {
  const dlq = program.command('dlq').description("inspect and replay a namespace's dead-letter queue");
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

  common(dlq.command('list').description('show dead-lettered records with their reason, attempts and source'))
    .option('--limit <n>', 'at most this many records')
    .option('--json', 'one JSON object per line')
    .action(async (options: DlqOptions) => {
      const { records, dlq: topic } = await select(options);
      for (const record of records) {
        if (options.json) {
          process.stdout.write(`${JSON.stringify({ ...record, key: record.key?.toString() ?? null, value: record.value?.toString('base64') ?? null })}\n`);
        } else {
          process.stdout.write(`${describe(record)}\n`);
        }
      }
      if (!options.json) process.stdout.write(`${records.length} record(s) in ${topic}\n`);
    });

  common(dlq.command('replay').description('re-produce dead-lettered records to the intake topic, with a fresh attempt count'))
    .option('--dry-run', 'list what would be replayed, send nothing')
    .action(async (options: DlqOptions) => {
      const { records, intake, produce } = await select(options);
      if (options.dryRun) {
        for (const record of records) process.stdout.write(`${describe(record)}\n`);
        process.stdout.write(`would replay ${records.length} record(s) to ${intake}\n`);
        return;
      }
      const producer = produce.producer({ idempotent: true, maxInFlightRequests: 1 });
      await producer.connect();
      try {
        for (let i = 0; i < records.length; i += 500) {
          const batch = records.slice(i, i + 500);
          await producer.send({ topic: intake, acks: -1, messages: batch.map((r) => ({ key: r.key, value: r.value, headers: originalHeaders(r.headers) })) });
          process.stderr.write(`\rreplayed ${Math.min(i + 500, records.length)}/${records.length}`);
        }
        if (records.length > 0) process.stderr.write('\n');
      } finally {
        await producer.disconnect();
      }
      process.stdout.write(`replayed ${records.length} record(s) to ${intake}\n`);
    });
}
