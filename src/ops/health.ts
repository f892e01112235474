import type { NamespaceStatus } from '../engine';

/** What `/ready` answers: 200 with `details` when ready, 503 with `details` otherwise. */
export interface ReadinessReport {
  readonly ready: boolean;
  readonly details: unknown;
}

export type ReadinessCheck = () => Promise<ReadinessReport> | ReadinessReport;

/** Anything that reports a NamespaceStatus: a NamespaceRunner, a MirrorRunner. */
export interface StatusSource {
  status(): Promise<NamespaceStatus>;
}

export interface NamespaceReadiness {
  readonly namespace: string;
  readonly ready: boolean;
  readonly state: NamespaceStatus['state'];
  /** The runner's consumer is in its group (see NamespaceStatus.joined). */
  readonly joined: boolean;
  /** Paused on purpose (`wal namespace pause`): still ready, since nothing is wrong, but nothing is processed. */
  readonly paused: boolean;
  readonly assigned: readonly number[];
  /** Assigned partitions whose task is open, i.e. whose stores finished restoring from their changelogs. */
  readonly restored: readonly number[];
  /** Assigned partitions still opening (restoring) or waiting to be re-opened after a failure. */
  readonly restoring: readonly number[];
  /** Why it is not ready; for a ready idle member, that it is idle. */
  readonly reason?: string;
}

/** Why a ready namespace processes nothing: it is meant to. */
export const PAUSED_REASON = 'paused by `wal namespace pause`: nothing is fetched, delivered or mirrored until `wal namespace resume`';

/**
 * A namespace is ready when its runner is running, the group gave it partitions, and every assigned
 * partition has an open task. A task appears in `status().tasks` only after `Task.open` returned,
 * which restores every store from its changelog first, so "open" means "restored".
 *
 * A member the group gives no partition (more instances than partitions) is ready once it joined:
 * it is a standby that takes partitions over when another member leaves, and a load balancer or an
 * orchestrator should not count it as failing. Before it joined, no partition means "joining".
 */
export function namespaceReadiness(status: NamespaceStatus): NamespaceReadiness {
  const open = new Set(status.tasks.map((t) => t.partition));
  const restored = status.assigned.filter((p) => open.has(p));
  const restoring = status.assigned.filter((p) => !open.has(p));
  const paused = status.paused === true;
  const base = { namespace: status.namespace, state: status.state, joined: status.joined, paused, assigned: status.assigned, restored, restoring };
  if (status.state !== 'running') return { ...base, ready: false, reason: `runner is ${status.state}` };
  if (status.assigned.length === 0) {
    if (status.joined) return { ...base, ready: true, reason: 'idle: joined the group, which assigned no partition (more members than partitions)' };
    return { ...base, ready: false, reason: 'no partition assigned yet (joining the group)' };
  }
  if (restoring.length > 0) return { ...base, ready: false, reason: `partition(s) ${restoring.join(', ')} still restoring` };
  if (paused) return { ...base, ready: true, reason: PAUSED_REASON };
  return { ...base, ready: true };
}

/** Ready when every source is ready (and there is at least one). A status() that throws counts as not ready. */
export async function runnersReadiness(sources: readonly StatusSource[]): Promise<ReadinessReport> {
  if (sources.length === 0) return { ready: false, details: { namespaces: [], reason: 'no namespace runs in this instance' } };
  const namespaces = await Promise.all(
    sources.map(async (source, i): Promise<NamespaceReadiness | { namespace: string; ready: false; reason: string }> => {
      try {
        return namespaceReadiness(await source.status());
      } catch (error) {
        return { namespace: `#${i}`, ready: false, reason: `status failed: ${(error as Error)?.message ?? String(error)}` };
      }
    }),
  );
  return { ready: namespaces.every((n) => n.ready), details: { namespaces } };
}

/** The readiness of a WalInstance (or anything holding runners): every runner running, assigned and restored. */
export function instanceReadiness(instance: { readonly runners: readonly StatusSource[] }): ReadinessCheck {
  return () => runnersReadiness(instance.runners);
}

/** Ready when every check is ready; details keyed by check name. */
export function allReady(checks: Record<string, ReadinessCheck>): ReadinessCheck {
  return async () => {
    const entries = await Promise.all(Object.entries(checks).map(async ([name, check]) => [name, await check()] as const));
    return { ready: entries.length > 0 && entries.every(([, r]) => r.ready), details: Object.fromEntries(entries) };
  };
}
