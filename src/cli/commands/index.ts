import { Command } from 'commander';
import { registerApi } from './api';
import { registerDev } from './dev';
import { registerDlq } from './dlq';
import { registerNamespace } from './namespace';
import { registerProduce } from './produce';
import { registerQueue } from './queue';
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
  registerNamespace(program);
  registerProduce(program);
  registerQueue(program);
  registerStart(program);
  registerStatus(program);
  registerTopics(program);
  registerTxn(program);
  registerWrite(program);
}
