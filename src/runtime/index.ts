export * from './api';
export * from './errors';
export { NamespaceRunner } from './internals/namespace-runner';
export type { NamespaceRunnerOptions, NamespaceStatus, RunnerTuning, TaskStatus } from './internals/namespace-runner';
export { DLQ_HEADERS } from './internals/error-policy';
export { WalInstance, readInstanceStatuses, statusFile } from './instance';
export type { InstanceStatus } from './instance';
export { topologyFor, registerTopology, registeredTopologies, passthroughTopology } from './topologies';
export type { TopologyFactory } from './topologies';
