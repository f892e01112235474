import type { NamespaceConfig, ProcessingGuarantee } from '../../../src/namespaces/types';
import { TopologyBuilder, type Processor, type ProcessorContext, type Topology, type WalRecord } from '../../../src/engine';

/** A namespace config for engine tests (only the fields the engine reads matter). */
export function testNamespace(
  name: string,
  options: { intake: string; partitions: number; guarantee?: ProcessingGuarantee; commitIntervalMs?: number },
): NamespaceConfig {
  return {
    name,
    cluster: 'A',
    partitions: options.partitions,
    replicationFactor: 1,
    topics: { intake: options.intake, dlq: `${name}.dlq`, timersChangelog: `wal.${name}.timers-changelog`, completions: `wal.${name}.completions`, targets: {} },
    delay: { defaultDelayMs: 0, maxDelayMs: null },
    maxPayloadBytes: 1024 * 1024,
    backoff: { initialMs: 100, maxMs: 1000, multiplier: 2, jitter: 0 },
    maxRetries: 0,
    idempotency: { windowMs: 0 },
    dlq: { enabled: true },
    targets: {},
    chunking: { chunkSize: 100, maxChunkBytes: 1024 * 1024 },
    processingGuarantee: options.guarantee ?? 'at-least-once',
    runtime: { commitIntervalMs: options.commitIntervalMs ?? 200, punctuationIntervalMs: 100 },
  };
}

/** Counts records per key in store "counts" and emits `key → count` (decimal string) on every record. */
export class CountingProcessor implements Processor {
  private context!: ProcessorContext;
  init(context: ProcessorContext): void {
    this.context = context;
  }
  async process(record: WalRecord): Promise<void> {
    if (!record.key) throw new Error('record without key');
    if (record.value?.toString() === 'poison') throw new Error(`poison record at offset ${record.offset}`);
    const store = this.context.getStore('counts');
    const previous = await store.get(record.key);
    const count = (previous ? previous.readUInt32BE(0) : 0) + 1;
    const value = Buffer.alloc(4);
    value.writeUInt32BE(count);
    await store.put(record.key, value);
    this.context.forward({ key: record.key, value: Buffer.from(String(count)) });
  }
}

export function countingTopology(input: string, output: string, dlq?: string): Topology {
  const builder = new TopologyBuilder()
    .addSource('in', input)
    .addProcessor('count', () => new CountingProcessor(), 'in')
    .addStore('counts', { changelog: true }, 'count')
    .addSink('out', output, 'count');
  if (dlq) builder.setDeadLetterTopic(dlq);
  return builder.build();
}
