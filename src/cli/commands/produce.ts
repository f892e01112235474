import fs from 'node:fs';
import readline from 'node:readline';
import { Command } from 'commander';
import { createWalWriter, DEFAULT_WRITE_TIMEOUT_MS, WriteBody, writeRequestFromBody, WriteRequest, WriteResult } from '../../api';
import { loadConfig } from '../../namespaces';
import { DEFAULT_TOPOLOGY_FILES } from '../namespace';
import { parseDurationOption, stderrLogger } from './write';

interface ProduceOptions {
  topology: string[];
  namespace: string;
  file: string;
  window: string;
  inFlight: string;
  timeout: string;
  failures?: string;
}

interface Failure extends Partial<WriteResult> {
  line: number;
  durable: WriteResult['durable'];
  message: string;
}

/** Non-empty lines of a file, counted up front so progress can say done/total. */
async function countLines(file: string): Promise<number> {
  let count = 0;
  const lines = readline.createInterface({ input: fs.createReadStream(file), crlfDelay: Infinity });
  for await (const line of lines) if (line.trim() !== '') count += 1;
  return count;
}

export function registerProduce(program: Command): void {
  program
    .command('produce')
    .description('bulk-write an NDJSON file (one HTTP write body a line) to a namespace; progress on stderr, summary as JSON on stdout')
    .requiredOption('-n, --namespace <name>', 'namespace of lines that name none')
    .requiredOption('-f, --file <file>', 'NDJSON input: {"id"?, "lifecycle"?, "payload" | "payloadBase64", "target"?, "headers"?, …} per line')
    .option('-t, --topology <files...>', 'topology files or directories', DEFAULT_TOPOLOGY_FILES)
    .option('--window <n>', 'requests per writeBatch call', '500')
    .option('--in-flight <n>', 'writeBatch calls in flight at once', '4')
    .option('--timeout <duration>', 'hard bound on each write', `${DEFAULT_WRITE_TIMEOUT_MS}ms`)
    .option('--failures <file>', 'write every line that was not durable (with its result) to this NDJSON file')
    .action(async (options: ProduceOptions) => {
      const windowSize = Math.max(1, Number(options.window));
      const maxInFlight = Math.max(1, Number(options.inFlight));
      const total = await countLines(options.file);
      const config = loadConfig(options.topology);
      const writer = createWalWriter({ config, clientId: 'wal-cli-produce', timeoutMs: parseDurationOption('--timeout', options.timeout), logger: stderrLogger() });
      const failuresOut = options.failures ? fs.createWriteStream(options.failures) : undefined;
      const counts = { true: 0, false: 0, unknown: 0 };
      const failures: Failure[] = [];
      const started = Date.now();
      let done = 0;

      const record = (failure: Failure): void => {
        if (failures.length < 20) failures.push(failure);
        failuresOut?.write(`${JSON.stringify(failure)}\n`);
      };
      const progress = (final = false): void => {
        const seconds = (Date.now() - started) / 1000;
        const rate = seconds > 0 ? Math.round(done / seconds) : 0;
        const pct = total > 0 ? Math.floor((done / total) * 100) : 100;
        const line = `wal produce: ${done}/${total} (${pct}%), ${rate} records/s, ${counts.false} false, ${counts.unknown} unknown`;
        process.stderr.write(process.stderr.isTTY ? `\r${line}${final ? '\n' : ''}` : `${line}\n`);
      };
      const ticker = setInterval(() => progress(), 1000);

      const send = async (batch: Array<{ line: number; request: WriteRequest }>): Promise<void> => {
        const results = await writer.writeBatch(batch.map((b) => b.request));
        results.forEach((result, i) => {
          counts[result.durable] += 1;
          if (result.durable !== 'true') record({ line: batch[i].line, ...result });
        });
        done += results.length;
      };

      const inFlight = new Set<Promise<void>>();
      const launch = async (batch: Array<{ line: number; request: WriteRequest }>): Promise<void> => {
        const p = send(batch).finally(() => inFlight.delete(p));
        inFlight.add(p);
        if (inFlight.size >= maxInFlight) await Promise.race(inFlight);
      };

      try {
        let lineNo = 0;
        let batch: Array<{ line: number; request: WriteRequest }> = [];
        const lines = readline.createInterface({ input: fs.createReadStream(options.file), crlfDelay: Infinity });
        for await (const text of lines) {
          lineNo += 1;
          if (text.trim() === '') continue;
          let converted: WriteRequest | { error: string };
          try {
            converted = writeRequestFromBody(JSON.parse(text) as WriteBody, options.namespace);
          } catch (error) {
            converted = { error: `not JSON: ${(error as Error).message}` };
          }
          if ('error' in converted) {
            counts.false += 1;
            done += 1;
            record({ line: lineNo, durable: 'false', message: `line ${lineNo}: ${converted.error}` });
            continue;
          }
          batch.push({ line: lineNo, request: converted });
          if (batch.length >= windowSize) {
            await launch(batch);
            batch = [];
          }
        }
        if (batch.length > 0) await launch(batch);
        await Promise.all(inFlight);
      } finally {
        clearInterval(ticker);
        progress(true);
        await writer.close();
        await new Promise<void>((resolve) => (failuresOut ? failuresOut.end(resolve) : resolve()));
      }

      const elapsedMs = Date.now() - started;
      const summary = {
        file: options.file,
        total: done,
        durable: counts,
        elapsedMs,
        recordsPerSecond: Math.round(done / Math.max(0.001, elapsedMs / 1000)),
        failures,
      };
      process.stdout.write(`${JSON.stringify(summary)}\n`);
      process.exitCode = counts.false > 0 ? 1 : counts.unknown > 0 ? 2 : 0;
    });
}
