import { ConfigError, parseConfig } from '../../src/namespaces';
import { parseInstant, selectNamespaces } from '../../src/cli/namespace';

const config = parseConfig(
  `
clusters:
  primary: { brokers: "127.0.0.1:9092", schemaRegistryUrl: "http://127.0.0.1:8081" }
namespaces:
  - name: orders
    targets: { out: { type: kafka, topic: orders.out } }
  - name: events
    targets: { out: { type: kafka, topic: events.out } }
`,
  'topologies/sample.yaml',
);

describe('selecting namespaces for a CLI command', () => {
  it('gives all of them when none is named, and the named ones in the order asked', () => {
    expect(selectNamespaces(config, undefined).map((n) => n.name)).toEqual(['orders', 'events']);
    expect(selectNamespaces(config, []).map((n) => n.name)).toEqual(['orders', 'events']);
    expect(selectNamespaces(config, ['events', 'orders']).map((n) => n.name)).toEqual(['events', 'orders']);
    expect(selectNamespaces(config, 'orders').map((n) => n.name)).toEqual(['orders']);
  });

  it('refuses an unknown namespace with the file it looked in and the ones there are', () => {
    expect(() => selectNamespaces(config, ['orders', 'ordres'])).toThrow(ConfigError);
    expect(() => selectNamespaces(config, 'ordres')).toThrow('namespace "ordres" is not in topologies/sample.yaml (defined: "orders", "events")');
  });
});

describe('parseInstant', () => {
  it('reads a duration ago or an ISO instant, and names what it cannot read', () => {
    expect(parseInstant('30s', 100_000)).toBe(70_000);
    expect(parseInstant('2h', 10 * 3_600_000)).toBe(8 * 3_600_000);
    expect(parseInstant('2026-11-23T00:00:00Z')).toBe(Date.UTC(2026, 10, 23));
    expect(() => parseInstant('yesterday')).toThrow('"yesterday" is neither a duration ago');
  });
});
