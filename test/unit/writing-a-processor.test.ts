// The example of the README's "Writing a processor" section, kept compiling and passing here.
import { TopologyBuilder, TopologyTestDriver, type Processor, type ProcessorContext, type KeyValueStore, type WalRecord } from '../../src/index';

/** Forwards the first record of each key and drops repeats seen within `windowMs`; forgets older keys. */
class FirstPerKey implements Processor {
  private context!: ProcessorContext;
  private seen!: KeyValueStore;

  constructor(private readonly windowMs: number) {}

  init(context: ProcessorContext): void {
    this.context = context;
    this.seen = context.getStore('seen');
    context.schedule(1_000, (now) => this.forget(now));
  }

  async process(record: WalRecord): Promise<void> {
    if (!record.key || (await this.seen.get(record.key))) return;
    await this.seen.put(record.key, Buffer.from(String(this.context.now())));
    this.context.forward({ key: record.key, value: record.value });
  }

  private async forget(now: number): Promise<void> {
    for await (const [key, at] of this.seen.range()) if (now - Number(at.toString()) >= this.windowMs) await this.seen.delete(key);
  }
}

const topology = new TopologyBuilder()
  .addSource('in', 'orders')
  .addProcessor('first', () => new FirstPerKey(60_000), 'in')
  .addStore('seen', { changelog: true }, 'first')
  .addSink('out', 'orders.first', 'first')
  .build();

test('forwards the first record per key, and the key again once the window has passed', async () => {
  const driver = await TopologyTestDriver.create(topology);
  await driver.pipeInputs('orders', [
    { key: 'a', value: '1' },
    { key: 'a', value: '2' },
    { key: 'b', value: '3' },
  ]);
  expect(driver.readAllOutput('orders.first').map((r) => r.value?.toString())).toEqual(['1', '3']);

  await driver.advanceWallClockTime(60_000);
  await driver.pipeInput('orders', { key: 'a', value: '4' });
  expect(driver.readAllOutput('orders.first').map((r) => r.value?.toString())).toEqual(['4']);
  await driver.close();
});
