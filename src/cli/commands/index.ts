import { Command } from 'commander';
import { registerDev } from './dev';

/** Every CLI command registers itself here: one import and one call per command file. */
export function registerCommands(program: Command): void {
  registerDev(program);
}
