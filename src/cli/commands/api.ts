import { Command } from 'commander';
import { createHttpServer, createWalWriter, DEFAULT_WRITE_TIMEOUT_MS } from '../../api';
import { loadConfig } from '../../namespaces';
import { createLogger } from '../../observability/logger';
import { DEFAULT_TOPOLOGY_FILES } from '../namespace';
import { parseDurationOption } from './write';

interface ApiOptions {
  topology: string[];
  port: string;
  host: string;
  timeout: string;
}

export function registerApi(program: Command): void {
  program
    .command('api')
    .description('serve the WriteToLog HTTP API: POST /v1/wal/write, POST /v1/wal/write-batch, GET /health, GET /ready')
    .option('-t, --topology <files...>', 'topology files or directories', DEFAULT_TOPOLOGY_FILES)
    .option('--port <port>', 'port to listen on', '8080')
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--timeout <duration>', 'hard bound on each write', `${DEFAULT_WRITE_TIMEOUT_MS}ms`)
    .action(async (options: ApiOptions) => {
      const config = loadConfig(options.topology);
      const logger = createLogger({ component: 'api' });
      const writer = createWalWriter({ config, clientId: 'wal-api', timeoutMs: parseDurationOption('--timeout', options.timeout), logger });
      const app = createHttpServer({ writer, config, logger });
      // Serve /health at once; /ready turns 200 when the producers connect.
      writer.connect().catch((error: unknown) => logger.warn({ err: error }, 'producers not connected yet; /ready answers 503 until they are'));
      const address = await app.listen({ port: Number(options.port), host: options.host });
      process.stderr.write(`wal api: listening on ${address}\n`);

      const signal = await new Promise<NodeJS.Signals>((resolve) => {
        process.once('SIGTERM', () => resolve('SIGTERM'));
        process.once('SIGINT', () => resolve('SIGINT'));
      });
      process.stderr.write(`wal api: ${signal}: finishing in-flight requests\n`);
      // Stop accepting, let in-flight writes get their answer, then close the producers.
      await app.close();
      await writer.close();
      process.stderr.write('wal api: stopped\n');
    });
}
