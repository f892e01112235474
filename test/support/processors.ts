import { TopologyBuilder, type Processor, type ProcessorContext, type Topology, type WalRecord } from '../../src/engine';

/** Forwards every record with `>name` appended to its value, noting `name:value` in `seen`. */
export function relay(name: string, seen: string[]): Processor {
  let context: ProcessorContext;
  return {
    init: (c) => void (context = c),
    process: (record) => {
      seen.push(`${name}:${record.value?.toString()}`);
      context.forward({ key: record.key, value: Buffer.from(`${record.value?.toString()}>${name}`) });
    },
  };
}

/** src(in) → a → a1 → topic-a, and src → b → topic-<value length>: shows the forwarding order. */
export function relayTopology(seen: string[]): Topology {
  return new TopologyBuilder()
    .addSource('src', 'in')
    .addProcessor('a', () => relay('a', seen), 'src')
    .addProcessor('a1', () => relay('a1', seen), 'a')
    .addProcessor('b', () => relay('b', seen), 'src')
    .addSink('out-a', 'topic-a', 'a1')
    .addSink('out-b', (r: WalRecord) => `topic-${r.value!.length}`, 'b')
    .build();
}

/** src(in) → ticker → `topic`: every `intervalMs` the ticker notes the time in `ticks` and forwards `tick@<now>`. */
export function tickerTopology(intervalMs: number, topic: string, ticks: number[] = []): Topology {
  return new TopologyBuilder()
    .addSource('src', 'in')
    .addProcessor('ticker', () => {
      let context: ProcessorContext;
      return {
        init: (c) => {
          context = c;
          context.schedule(intervalMs, async (now) => {
            ticks.push(now);
            context.forward({ key: null, value: Buffer.from(`tick@${now}`) });
          });
        },
        process: () => undefined,
      };
    }, 'src')
    .addSink('out', topic, 'ticker')
    .build();
}
