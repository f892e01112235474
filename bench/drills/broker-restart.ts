/**
 * Broker restart during load, on a PRIVATE single-broker JVM cluster (killing the shared one would
 * break everyone else's work): numbered records are written through the WriteToLog library and
 * delivered by a running instance while the broker is killed (SIGKILL) and started again with the
 * same command line and data. Processing must resume by itself (no instance restart) and nothing
 * may be lost.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { startDevCluster } from '../../src/devcluster';
import type { JvmClusterRecord } from '../../src/devcluster/jvm';
import { isAlive, spawnManaged, stopProcessGroup } from '../../src/devcluster/process';
import { collect, totalEnd } from '../lib/kafka';
import type { ReportBuilder } from '../lib/results';
import { drillNamespace, remaining, verdictChecks, verdictFigures, type DrillContext } from './common';
import { sleep } from './fleet';
import { Ledger, produceNumbered, settle, verify, type DelayMix } from './ledger';

export interface BrokerRestartOptions {
  readonly records: number;
  readonly ratePerSec: number;
  readonly mix: DelayMix;
  /** How long the broker stays dead. */
  readonly downMs: number;
}

export const BROKER_FIGURES = [
  { key: 'downMs', label: 'broker dead (kill -9 → new process answers)', unit: 'ms', digits: 0 },
  { key: 'resumeMs', label: 'deliveries resumed after the broker answered', unit: 'ms', digits: 0 },
];

/** The command line and working directory of a running process (Linux /proc), to start it again. */
function commandOf(pid: number): { argv: string[]; cwd: string } {
  const argv = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
  return { argv, cwd: fs.readlinkSync(`/proc/${pid}/cwd`) };
}

async function waitForBroker(brokers: string[], timeoutMs: number): Promise<void> {
  const kafka = new Kafka({ brokers, clientId: 'drill-broker-probe', logLevel: logLevel.NOTHING, retry: { retries: 0 }, connectionTimeout: 1000 });
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const admin = kafka.admin();
    try {
      await admin.connect();
      const cluster = await admin.describeCluster();
      if (cluster.brokers.length > 0 && cluster.controller !== null) return;
    } catch {
      /* not yet */
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
    await sleep(500);
  }
  throw new Error(`the restarted broker at ${brokers.join(',')} did not answer within ${timeoutMs} ms`);
}

export async function drillBrokerRestart(ctx: DrillContext, builder: ReportBuilder, o: BrokerRestartOptions): Promise<Record<string, number>> {
  if (process.platform !== 'linux') throw new Error('the broker restart drill reads /proc to restart the broker: Linux only');
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'wal-drill-broker-'));
  ctx.log('    starting a private JVM cluster (Kafka + Apicurio) for this drill');
  const dev = await startDevCluster({ names: ['R'], mode: 'jvm', workDir, onProgress: (m) => ctx.log(`    ${m}`) });
  const record = dev.clusters[0] as JvmClusterRecord;
  let brokerPid = record.brokerPid;
  ctx.onCleanup(async () => {
    await stopProcessGroup(brokerPid);
    await dev.stop();
    fs.rmSync(workDir, { recursive: true, force: true });
  });

  const { setup, kafka, writer, fleet } = await drillNamespace(ctx, record, 'drill-broker', { partitions: 3 });
  await fleet.start(0);
  const out = await collect(kafka, setup.out, { keepValues: false });
  ctx.onCleanup(() => out.stop());
  const ledger = new Ledger(setup.namespace.name, 'br', o.mix);
  const producing = produceNumbered(writer, ledger, o.records, o.ratePerSec, remaining(ctx));

  // Kill once a third of the records is written, so that load runs before, during and after.
  const writeSeconds = o.records / o.ratePerSec;
  await sleep((writeSeconds / 3) * 1000);
  const command = commandOf(brokerPid);
  const killedAt = Date.now();
  process.kill(-brokerPid, 'SIGKILL');
  while (isAlive(brokerPid)) await sleep(50);
  ctx.log(`    broker killed (pid ${brokerPid}); restarting in ${o.downMs} ms`);
  await sleep(o.downMs);
  const restarted = spawnManaged({ command: command.argv[0], args: command.argv.slice(1), cwd: command.cwd, logFile: path.join(command.cwd, 'broker.log'), detach: false });
  brokerPid = restarted.pid;
  await waitForBroker(record.brokers, Math.min(120_000, remaining(ctx)));
  const answeredAt = Date.now();
  const before = await totalEnd(kafka, setup.out).catch(() => 0);
  ctx.log(`    broker answers again after ${answeredAt - killedAt} ms (pid ${brokerPid}); ${before} records on the target so far`);
  let resumedAt = NaN;
  const resumeDeadline = Date.now() + Math.min(120_000, remaining(ctx));
  while (Date.now() < resumeDeadline) {
    const now = await totalEnd(kafka, setup.out).catch(() => before);
    if (now > before) {
      resumedAt = Date.now();
      break;
    }
    await sleep(200);
  }
  ctx.log(`    deliveries resumed ${Number.isNaN(resumedAt) ? 'NOT within the deadline' : `${resumedAt - answeredAt} ms after the broker answered`}`);

  await producing;
  await settle(ledger, out, Math.max(5000, ledger.lastDue() - Date.now()) + Math.min(90_000, remaining(ctx) - 5000));
  const verdict = verify(ledger, out);
  verdictChecks(builder, verdict, fleet);
  builder.check('processing resumed by itself', !Number.isNaN(resumedAt) && fleet.starts === 1, `${Number.isNaN(resumedAt) ? 'no delivery' : `first delivery ${resumedAt - answeredAt} ms`} after the broker answered; instance starts: ${fleet.starts}`);
  return { ...verdictFigures(verdict), downMs: answeredAt - killedAt, resumeMs: resumedAt - answeredAt };
}
