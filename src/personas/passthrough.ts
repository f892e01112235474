import { TopologyBuilder, type Processor, type ProcessorContext, type Topology, type WalRecord } from '../engine';

class PassthroughProcessor implements Processor {
  private context!: ProcessorContext;
  init(context: ProcessorContext): void {
    this.context = context;
  }
  process(record: WalRecord): void {
    this.context.forward({ key: record.key, value: record.value, headers: record.headers, timestamp: record.timestamp });
  }
}

/**
 * Copies every intake record, key, value and headers included, to `output` unchanged: the engine's
 * own cost with no persona on top (the engine benchmark and smoke tests). Never chosen by itself.
 */
export function passthroughTopology(input: string, output: string, deadLetterTopic?: string): Topology {
  const builder = new TopologyBuilder()
    .addSource('intake', input)
    .addProcessor('pass', () => new PassthroughProcessor(), 'intake')
    .addSink('out', output, 'pass');
  if (deadLetterTopic) builder.setDeadLetterTopic(deadLetterTopic);
  return builder.build();
}
