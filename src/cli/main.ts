#!/usr/bin/env node
import { Command } from 'commander';
import { walVersion } from '../observability/version';
import { registerCommands } from './commands';

/** `wal`: one entry point; each command lives in src/cli/commands/<name>.ts. */
export function buildProgram(): Command {
  const program = new Command('wal')
    .description('wal: a Write-Ahead Log service on Apache Kafka (durable intake, delays, retries, DLQ, fan-out, mirroring)')
    .version(walVersion())
    .showHelpAfterError();
  registerCommands(program);
  return program;
}

if (require.main === module) {
  buildProgram()
    .parseAsync(process.argv)
    .catch((error: unknown) => {
      process.stderr.write(`wal: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exit(1);
    });
}
