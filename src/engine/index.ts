export * from './api';
export { TopologyBuilder } from './topology';
export type { Topology } from './topology';
export * from './errors';
export { NamespaceRunner } from './internals/namespace-runner';
export type { NamespaceRunnerOptions, RunnerTuning } from './internals/namespace-runner';
export type { NamespaceStatus, TaskStatus } from './internals/runner-status';
export { TopologyTestDriver } from './test-driver';
export type { TestInputRecord, TestOutputRecord, TopologyTestDriverOptions } from './test-driver';
