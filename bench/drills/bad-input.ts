/**
 * Bad input barrage: producers that bypass the WriteToLog library put malformed bytes, unknown
 * schema ids, oversize payloads and invalid requests on the intake, interleaved with good records
 * written through the library. Every bad record must land in the DLQ with a reason, every good one
 * must be delivered, and the partition must never stop. The library itself must refuse the same
 * kinds of invalid requests at the edge (durable=false) so that they never reach the intake.
 */
import { randomBytes } from 'node:crypto';
import { DLQ_HEADERS } from '../../src/wire/headers';
import { createAvroCodec, formatWireFormat, valueSubject, writeToLogRequestSchema, type WriteToLogRequest } from '../../src/wire';
import { clusterA } from '../lib/context';
import { collect, header } from '../lib/kafka';
import { writeAll } from '../lib/queue';
import type { ReportBuilder } from '../lib/results';
import { drillNamespace, remaining, type DrillContext } from './common';

export interface BadInputOptions {
  readonly good: number;
  /** Bad records per 50 good ones. */
  readonly badPer50: number;
}

export const BAD_INPUT_FIGURES = [
  { key: 'good', label: 'good records written', unit: 'records', digits: 0 },
  { key: 'bad', label: 'bad records put on the intake', unit: 'records', digits: 0 },
  { key: 'goodLost', label: 'good records not delivered', unit: 'records', digits: 0 },
  { key: 'duplicates', label: 'good records delivered twice', unit: 'records', digits: 0 },
  { key: 'badMissing', label: 'bad records missing from the DLQ', unit: 'records', digits: 0 },
  { key: 'badNoReason', label: 'dead letters without a reason', unit: 'records', digits: 0 },
  { key: 'badDelivered', label: 'bad records delivered to the target', unit: 'records', digits: 0 },
  { key: 'edgeAccepted', label: 'invalid library writes accepted', unit: 'records', digits: 0 },
];

const KINDS = ['garbage', 'short', 'truncated', 'unknown-schema', 'oversize', 'wrong-namespace', 'unknown-target', 'both-delays', 'empty-id'] as const;
type Kind = (typeof KINDS)[number];

export async function drillBadInput(ctx: DrillContext, builder: ReportBuilder, o: BadInputOptions): Promise<Record<string, number>> {
  const { setup, kafka, writer, fleet } = await drillNamespace(ctx, clusterA(ctx), 'drill-bad-input', { partitions: 3, maxPayloadBytes: '1KiB' });
  const ns = setup.namespace;
  await fleet.start(0);
  const codec = createAvroCodec({ registryUrl: clusterA(ctx).registryUrl });
  const schemaId = await codec.registerSchema(valueSubject(ns.topics.intake), writeToLogRequestSchema());
  const valid = (id: string): WriteToLogRequest => ({
    namespace: ns.name,
    id,
    lifecycle: { writeTime: Date.now(), delayMs: null, deliverAt: null },
    payload: Buffer.from('{"ok":true}'),
    contentType: 'application/json',
    target: null,
    headers: {},
    mutations: [],
  });
  const encode = (request: WriteToLogRequest) => codec.encode(schemaId, request);
  const badValue = async (kind: Kind, key: string): Promise<Buffer> => {
    switch (kind) {
      case 'garbage':
        return Buffer.concat([Buffer.from([1 + Math.floor(Math.random() * 255)]), randomBytes(20 + Math.floor(Math.random() * 180))]);
      case 'short':
        return Buffer.from([0, 0, 0]);
      case 'truncated': {
        const full = await encode(valid(key));
        return full.subarray(0, 5 + Math.floor((full.length - 5) / 2));
      }
      case 'unknown-schema':
        return formatWireFormat(0x7ffffff0, (await encode(valid(key))).subarray(5));
      case 'oversize':
        return encode({ ...valid(key), payload: Buffer.alloc(4096, 'x') });
      case 'wrong-namespace':
        return encode({ ...valid(key), namespace: 'someone-else' });
      case 'unknown-target':
        return encode({ ...valid(key), target: 'nowhere' });
      case 'both-delays':
        return encode({ ...valid(key), lifecycle: { writeTime: Date.now(), delayMs: 10, deliverAt: Date.now() + 10 } });
      case 'empty-id':
        return encode({ ...valid(key), id: '' });
    }
  };

  const producer = kafka.producer({ idempotent: true });
  await producer.connect();
  ctx.onCleanup(() => producer.disconnect());
  const goodIds = new Set<string>();
  const badKeys = new Map<string, Kind>();
  let edgeAccepted = 0;
  let edgeRefused = 0;
  for (let from = 0; from < o.good; from += 50) {
    const n = Math.min(50, o.good - from);
    await writeAll(writer, n, (j) => {
      const id = `good-${from + j}`;
      goodIds.add(id);
      return { namespace: ns.name, id, payload: { i: from + j } };
    }, { batch: n, concurrency: 1, deadlineMs: remaining(ctx) });
    const messages = [];
    for (let b = 0; b < o.badPer50; b += 1) {
      const kind = KINDS[badKeys.size % KINDS.length];
      const key = `bad-${kind}-${badKeys.size}`;
      badKeys.set(key, kind);
      messages.push({ key, value: await badValue(kind, key) });
    }
    await producer.send({ topic: ns.topics.intake, acks: -1, messages });
    // The same kinds of mistakes through the library are refused before they reach the intake.
    const refused = await writer.writeBatch([
      { namespace: ns.name, id: `edge-oversize-${from}`, payload: 'x'.repeat(4096) },
      { namespace: ns.name, id: `edge-target-${from}`, payload: 'x', target: 'nowhere' },
      { namespace: ns.name, id: `edge-delays-${from}`, payload: 'x', lifecycle: { delayMs: 10, deliverAt: Date.now() + 10 } },
    ]);
    for (const r of refused) {
      if (r.durable === 'false') edgeRefused += 1;
      else edgeAccepted += 1;
    }
  }

  const out = await collect(kafka, setup.out, { keepValues: false });
  ctx.onCleanup(() => out.stop());
  const dlq = await collect(kafka, ns.topics.dlq, { keepValues: false });
  ctx.onCleanup(() => dlq.stop());
  const deadline = Math.min(ctx.deadline - 5000, Date.now() + 120_000);
  const delivered = () => new Set(out.messages.map((m) => m.key?.toString() ?? ''));
  while (Date.now() < deadline) {
    const seen = delivered();
    const dead = new Set(dlq.messages.map((m) => m.key?.toString() ?? ''));
    if ([...goodIds].every((id) => seen.has(id)) && [...badKeys.keys()].every((k) => dead.has(k))) break;
    await new Promise((r) => setTimeout(r, 250));
  }
  await new Promise((r) => setTimeout(r, 2000));

  const seen = delivered();
  const goodLost = [...goodIds].filter((id) => !seen.has(id));
  const goodDeliveries = out.messages.filter((m) => goodIds.has(m.key?.toString() ?? '')).length;
  const badDelivered = out.messages.filter((m) => badKeys.has(m.key?.toString() ?? '')).length;
  const letters = new Map(dlq.messages.map((m) => [m.key?.toString() ?? '', m]));
  const badMissing = [...badKeys.keys()].filter((k) => !letters.has(k));
  const noReason = [...badKeys.keys()].filter((k) => letters.has(k) && !header(letters.get(k)!, DLQ_HEADERS.reason));
  const goodInDlq = [...goodIds].filter((id) => letters.has(id)).length;
  for (const kind of KINDS) {
    const sample = [...badKeys].find(([k, v]) => v === kind && letters.has(k));
    builder.note(`${kind}: ${sample ? `${header(letters.get(sample[0])!, DLQ_HEADERS.kind)} — ${header(letters.get(sample[0])!, DLQ_HEADERS.reason)}` : 'no dead letter'}`);
  }
  builder.check('every good record delivered', goodLost.length === 0, `${goodIds.size - goodLost.length} of ${goodIds.size}${goodLost.length ? `; missing e.g. ${goodLost.slice(0, 3).join(', ')}` : ''}`);
  builder.check('every bad record in the DLQ', badMissing.length === 0, `${badKeys.size - badMissing.length} of ${badKeys.size}${badMissing.length ? `; missing e.g. ${badMissing.slice(0, 3).join(', ')}` : ''}`);
  builder.check('every dead letter has a reason', noReason.length === 0, `${noReason.length} without ${DLQ_HEADERS.reason}`);
  builder.check('no bad record delivered, no good one dead-lettered', badDelivered === 0 && goodInDlq === 0, `${badDelivered} bad on the target, ${goodInDlq} good in the DLQ`);
  builder.check('the library refuses invalid writes', edgeAccepted === 0, `${edgeRefused} refused (durable=false), ${edgeAccepted} accepted`);
  builder.check('no instance crashed by itself', fleet.unexpectedExits.length === 0, fleet.unexpectedExits.join(' | ').slice(0, 300) || 'none');
  return {
    good: goodIds.size,
    bad: badKeys.size,
    goodLost: goodLost.length,
    duplicates: goodDeliveries - (goodIds.size - goodLost.length),
    badMissing: badMissing.length,
    badNoReason: noReason.length,
    badDelivered,
    edgeAccepted,
  };
}
