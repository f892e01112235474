export { createSqsClient, queueNameOf, queueUrlResolver } from './client';
export { createSqsIntake, delaySecondsUntil } from './intake';
export type { SqsIntakeOptions } from './intake';
export { SqsRunner } from './runner';
export type { SqsRunnerOptions } from './runner';
export { ensureSqsQueues } from './provision';
