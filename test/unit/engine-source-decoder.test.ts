import { TopologyBuilder, TopologyTestDriver, type ProcessorContext, type WalRecord } from '../../src/engine';
import { DLQ_HEADERS } from '../../src/wire/headers';

type Parsed = WalRecord & { readonly parsed: { readonly n: number } };

/** source (decoder: JSON → parsed) → first → second; `first` forwards once with `parsed`, once without. */
function topology(decodes: string[], seen: string[]) {
  return new TopologyBuilder()
    .addSource('in', 'numbers', {
      decoder: () => ({
        decode: (record: WalRecord): Parsed => {
          decodes.push(record.offset);
          return { ...record, parsed: JSON.parse(record.value!.toString()) as { n: number } };
        },
      }),
    })
    .addProcessor(
      'first',
      () => {
        let context!: ProcessorContext;
        return {
          init: (c: ProcessorContext) => {
            context = c;
          },
          process: (record: Parsed) => {
            seen.push(`first:${record.parsed.n}`);
            context.forward({ key: record.key, value: record.value, parsed: { n: record.parsed.n * 10 } });
            context.forward({ key: record.key, value: Buffer.from('plain') });
          },
        };
      },
      'in',
    )
    .addProcessor('second', () => ({ process: (record: Partial<Parsed>) => void seen.push(`second:${record.parsed?.n ?? 'none'}`) }), 'first')
    .addSink('out', 'numbers.out', 'first')
    .setDeadLetterTopic('numbers.dlq')
    .build();
}

describe('a source decoder', () => {
  it('reads each fetched record once; children get what it added, and a forward carries only its own fields', async () => {
    const decodes: string[] = [];
    const seen: string[] = [];
    const driver = await TopologyTestDriver.create(topology(decodes, seen));
    await driver.pipeInputs('numbers', [{ value: '{"n":1}' }, { value: '{"n":2}' }]);
    expect(decodes).toEqual(['0', '1']);
    expect(seen).toEqual(['first:1', 'second:10', 'second:none', 'first:2', 'second:20', 'second:none']);
    // Sinks write bytes only: the decoded field never reaches a topic.
    expect(driver.readAllOutput('numbers.out').map((r) => r.value?.toString())).toEqual(['{"n":1}', 'plain', '{"n":2}', 'plain']);
    await driver.close();
  });

  it('sends a record it cannot read to the error policy as fetched, and the partition goes on', async () => {
    const seen: string[] = [];
    const driver = await TopologyTestDriver.create(topology([], seen));
    await driver.pipeInputs('numbers', [{ key: 'bad', value: 'not json' }, { value: '{"n":3}' }]);
    const letters = driver.readAllOutput('numbers.dlq');
    expect(letters.map((l) => [l.key?.toString(), l.value?.toString(), l.headers[DLQ_HEADERS.kind], l.headers[DLQ_HEADERS.errorClass]])).toEqual([
      ['bad', 'not json', 'error', 'SyntaxError'],
    ]);
    expect(seen).toEqual(['first:3', 'second:30', 'second:none']);
    await driver.close();
  });
});
