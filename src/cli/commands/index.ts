import { Command } from 'commander';
import { registerDev } from './dev';
import { registerDlq } from './dlq';
import { registerQueue } from './queue';
import { registerTopics } from './topics';

/** Every CLI command registers itself here: one import and one call per command file. */
export function registerCommands(program: Command): void {
  registerDev(program);
  registerDlq(program);
  registerQueue(program);
  registerTopics(program);
}
