/**
 * kill -9 loop: a producer writes numbered records (a mix of delays) while processor instances are
 * killed with SIGKILL and restarted (same instance id and state dir) at random intervals. At the
 * end, what reached the target is compared with what was written.
 */
import { clusterA } from '../lib/context';
import { collect } from '../lib/kafka';
import type { ReportBuilder } from '../lib/results';
import { drillNamespace, remaining, verdictChecks, verdictFigures, type DrillContext } from './common';
import { randomBetween, sleep } from './fleet';
import { Ledger, produceNumbered, settle, verify, type DelayMix } from './ledger';

export interface Kill9Options {
  readonly records: number;
  readonly ratePerSec: number;
  readonly instances: number;
  readonly mix: DelayMix;
  /** Time between kills, drawn uniformly from [min, max] ms. */
  readonly killGapMs: readonly [number, number];
  /** How long a killed instance stays down before it is restarted. */
  readonly downMs: readonly [number, number];
  readonly guarantee?: 'at-least-once' | 'exactly-once';
}

export const KILL9_FIGURES = [{ key: 'kills', label: 'instances killed with SIGKILL', unit: 'kills', digits: 0 }];

export async function drillKill9(ctx: DrillContext, builder: ReportBuilder, o: Kill9Options): Promise<Record<string, number>> {
  const guarantee = o.guarantee ?? 'at-least-once';
  const { setup, kafka, writer, fleet } = await drillNamespace(ctx, clusterA(ctx), guarantee === 'exactly-once' ? 'drill-kill9-eos' : 'drill-kill9', { guarantee });
  for (let slot = 0; slot < o.instances; slot += 1) await fleet.start(slot);
  const out = await collect(kafka, setup.out, { keepValues: false });
  ctx.onCleanup(() => out.stop());
  const ledger = new Ledger(setup.namespace.name, 'k9', o.mix);

  let produced = false;
  const producing = produceNumbered(writer, ledger, o.records, o.ratePerSec, remaining(ctx)).finally(() => (produced = true));
  // Kill while records are being written and while delayed ones are still pending.
  const chaosUntil = () => (produced ? ledger.lastDue() : Infinity);
  const settleBudget = 60_000;
  while (Date.now() < chaosUntil() && Date.now() < ctx.deadline - settleBudget) {
    await sleep(randomBetween(...o.killGapMs));
    const running = fleet.running();
    if (running.length === 0) break;
    const slot = running[Math.floor(Math.random() * running.length)];
    await fleet.kill9(slot);
    ctx.log(`    kill -9 instance ${slot} (${fleet.kills} so far)`);
    await sleep(randomBetween(...o.downMs));
    await fleet.start(slot);
  }
  await producing;
  for (let slot = 0; slot < o.instances; slot += 1) if (!fleet.running().includes(slot)) await fleet.start(slot);
  await settle(ledger, out, Math.max(5000, ledger.lastDue() - Date.now()) + Math.min(settleBudget, remaining(ctx) - 5000));
  const verdict = verify(ledger, out);
  verdictChecks(builder, verdict, fleet);
  builder.check('instances were killed', fleet.kills > 0, `${fleet.kills} kill -9, ${fleet.starts} starts`);
  // The target is read read_committed: with exactly-once, a killed instance's open transaction never shows.
  if (guarantee === 'exactly-once') builder.check('no duplicate (exactly-once)', verdict.duplicates === 0, `${verdict.duplicates} duplicates`);
  return { ...verdictFigures(verdict), kills: fleet.kills };
}
