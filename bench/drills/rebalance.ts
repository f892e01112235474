/**
 * Rebalance storm: three instances joining and leaving (graceful SIGTERM stops and fresh starts) at
 * short random intervals while numbered records with mixed delays are written; at the end every
 * record must have reached the target.
 */
import { clusterA } from '../lib/context';
import { collect } from '../lib/kafka';
import type { ReportBuilder } from '../lib/results';
import { drillNamespace, remaining, verdictChecks, verdictFigures, type DrillContext } from './common';
import { randomBetween, sleep } from './fleet';
import { Ledger, produceNumbered, settle, verify, type DelayMix } from './ledger';

export interface RebalanceOptions {
  readonly records: number;
  readonly ratePerSec: number;
  readonly instances: number;
  readonly mix: DelayMix;
  /** Time between membership changes. */
  readonly changeGapMs: readonly [number, number];
}

export const REBALANCE_FIGURES = [{ key: 'changes', label: 'membership changes (join or leave)', unit: 'changes', digits: 0 }];

export async function drillRebalance(ctx: DrillContext, builder: ReportBuilder, o: RebalanceOptions): Promise<Record<string, number>> {
  const { setup, kafka, writer, fleet } = await drillNamespace(ctx, clusterA(ctx), 'drill-rebalance');
  await Promise.all(Array.from({ length: o.instances }, (_, slot) => fleet.start(slot)));
  const out = await collect(kafka, setup.out, { keepValues: false });
  ctx.onCleanup(() => out.stop());
  const ledger = new Ledger(setup.namespace.name, 'rb', o.mix);

  let produced = false;
  const producing = produceNumbered(writer, ledger, o.records, o.ratePerSec, remaining(ctx)).finally(() => (produced = true));
  let changes = 0;
  const inFlight: Promise<void>[] = [];
  const track = (change: Promise<void>): void => {
    change.catch(() => undefined); // reported by the Promise.all below, not as an unhandled rejection
    inFlight.push(change);
  };
  const settleBudget = 60_000;
  while (Date.now() < (produced ? ledger.lastDue() : Infinity) && Date.now() < ctx.deadline - settleBudget) {
    await sleep(randomBetween(...o.changeGapMs));
    const running = fleet.running();
    const stopped = Array.from({ length: o.instances }, (_, i) => i).filter((i) => !running.includes(i));
    // Join when few are running, leave when all are; otherwise either, at random.
    const join = running.length <= 1 || (stopped.length > 0 && Math.random() < 0.5);
    // Changes are not awaited: the next one may come while the group is still rebalancing.
    if (join) {
      const slot = stopped[Math.floor(Math.random() * stopped.length)];
      track(fleet.start(slot));
      ctx.log(`    instance ${slot} joins (${running.length + 1} running)`);
    } else {
      const slot = running[Math.floor(Math.random() * running.length)];
      track(fleet.stop(slot));
      ctx.log(`    instance ${slot} leaves (${running.length - 1} running)`);
    }
    changes += 1;
  }
  await producing;
  await Promise.all(inFlight);
  if (fleet.running().length === 0) await fleet.start(0);
  await settle(ledger, out, Math.max(5000, ledger.lastDue() - Date.now()) + Math.min(settleBudget, remaining(ctx) - 5000));
  const verdict = verify(ledger, out);
  verdictChecks(builder, verdict, fleet);
  builder.check('membership changed during the load', changes > 0, `${changes} joins/leaves, ${fleet.stops} graceful stops`);
  return { ...verdictFigures(verdict), changes };
}
