import { Command } from 'commander';
import { registerApi } from './api';
import { registerDev } from './dev';
import { registerDlq } from './dlq';
import { registerProduce } from './produce';
import { registerQueue } from './queue';
import { registerNamespace } from './namespace';
import { registerStart } from './start';
import { registerStatus } from './status';
import { registerTopics } from './topics';
import { registerTxn } from './txn';
import { registerWrite } from './write';

/** Every CLI command registers itself here: one import and one call per command file. */
export function registerCommands(program: Command): void {
  registerApi(program);
  registerDev(program);
  registerDlq(program);
  registerProduce(program);
  registerQueue(program);
  registerNamespace(program);
  registerStart(program);
  registerStatus(program);
  registerTopics(program);
  registerTxn(program);
  registerWrite(program);
}
