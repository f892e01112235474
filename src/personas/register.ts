import type { NamespaceConfig } from '../namespaces/types';
import { registeredTopologies, registerTopology } from '../engine';
import { delayedQueueTopology } from '../delayed-queue';
import { mutationTopology } from '../mutations';
import { namespaceTopology } from './namespace-topology';

/** Namespaces that only mirror topics between clusters run the mirror, not a stream topology. */
export function runsStreamTopology(namespace: NamespaceConfig): boolean {
  return namespace.replication === undefined;
}

// The engine knows no processor (data flows one way); the CLI imports this file to offer them.
// `namespace` applies by itself; the others run when named with `wal start --processor`.
if (!registeredTopologies().includes('namespace')) {
  registerTopology('namespace', (ns, _options, config) => namespaceTopology(ns, { clusters: config.clusters }), runsStreamTopology);
  registerTopology('delayed-queue', (ns, _options, config) => delayedQueueTopology(ns, { clusters: config.clusters }));
  registerTopology('mutations', (ns, _options, config) => mutationTopology(ns, { clusters: config.clusters }));
}
