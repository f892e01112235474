import path from 'node:path';
import { cycles, fileGraph, importEdges, roomGraph, roomOf, type ImportEdge } from '../support/import-graph';

/**
 * The house rules of src/, checked on the real import graph (static, re-export and dynamic imports,
 * type-only ones included): data flows one way between rooms, the engine knows no persona.
 */
const SRC = path.resolve(__dirname, '../../src');
const edges = importEdges(SRC).filter((e) => !e.to.startsWith('..'));

/** Every file `start` reaches through imports (itself excluded). */
function reachable(from: string, all: readonly ImportEdge[]): Set<string> {
  const next = fileGraph(all);
  const seen = new Set<string>();
  const queue = [...(next.get(from) ?? [])];
  while (queue.length > 0) {
    const file = queue.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    queue.push(...(next.get(file) ?? []));
  }
  return seen;
}

/** "file → … → forbidden file" for each file of `room` that reaches a room in `forbidden`. */
function violations(room: string, forbidden: readonly string[]): string[] {
  const files = [...new Set(edges.map((e) => e.from))].filter((f) => roomOf(f) === room);
  return files.flatMap((file) => [...reachable(file, edges)].filter((f) => forbidden.includes(roomOf(f))).map((f) => `${file} reaches ${f}`));
}

const PERSONAS = ['delayed-queue', 'mutations', 'mirror', 'personas'];

describe('architecture of src/', () => {
  it('has no cycle between rooms (top-level folders)', () => {
    expect(cycles(roomGraph(edges))).toEqual([]);
  });

  it('has no cycle between files', () => {
    expect(cycles(fileGraph(edges))).toEqual([]);
  });

  it('keeps the engine pure: it reaches no persona, namespace config, ops, API, target, CLI or dev tooling', () => {
    expect(violations('engine', [...PERSONAS, 'namespaces', 'registry', 'ops', 'api', 'targets', 'cli', 'devcluster'])).toEqual([]);
  });

  it('keeps state and Kafka plumbing below the engine and the personas', () => {
    const above = ['engine', ...PERSONAS, 'ops', 'api', 'cli', 'devcluster'];
    expect(violations('state', above)).toEqual([]);
    expect(violations('kafka', [...above, 'namespaces', 'registry', 'wire', 'state', 'targets'])).toEqual([]);
  });

  it('lets no persona (delayed queue, mutations, mirror) reach the CLI, the API, ops, the persona selection or dev tooling', () => {
    for (const persona of ['delayed-queue', 'mutations', 'mirror']) {
      expect(violations(persona, ['cli', 'api', 'ops', 'personas', 'registry', 'devcluster'])).toEqual([]);
    }
    expect(violations('personas', ['cli', 'api', 'devcluster'])).toEqual([]);
  });

  it('lets instances (ops) and writers (api) share the namespace state: it lives in namespaces, which reaches neither, and the API reaches no ops, persona or engine', () => {
    expect(violations('namespaces', ['ops', 'api', 'cli', 'engine', ...PERSONAS, 'devcluster'])).toEqual([]);
    expect(violations('api', ['ops', 'cli', 'engine', ...PERSONAS, 'devcluster'])).toEqual([]);
  });

  it('keeps the DLQ operations a room of their own that the CLI, the HTTP API and ops share: it reaches none of them, nor the engine or a persona', () => {
    expect(violations('dlq', ['ops', 'api', 'cli', 'engine', ...PERSONAS, 'registry', 'devcluster'])).toEqual([]);
  });

  it('keeps dev tooling out of the product: only the CLI reaches src/devcluster, never the library entry point', () => {
    const rooms = [...new Set(edges.map((e) => roomOf(e.from)))].filter((r) => r !== 'cli' && r !== 'devcluster');
    expect(rooms.flatMap((room) => violations(room, ['devcluster']))).toEqual([]);
    expect(rooms).toContain('index');
  });

  it('keeps the wire contract below everything that speaks it: wire reaches no engine, persona, target or ops code', () => {
    expect(violations('wire', ['engine', ...PERSONAS, 'targets', 'ops', 'api', 'cli', 'state'])).toEqual([]);
  });

  it('keeps the namespace registry a store of configs: it reaches no engine, persona, ops, API or CLI code', () => {
    expect(violations('registry', ['engine', ...PERSONAS, 'ops', 'api', 'cli', 'targets', 'devcluster'])).toEqual([]);
  });

  it('keeps the queue-backend seam below its users: queues reaches no runtime, target or SQS code; the SQS backend reaches no CLI, API, ops, engine runtime, persona selection, registry or dev tooling', () => {
    expect(violations('queues', ['engine', ...PERSONAS, 'sqs', 'ops', 'api', 'cli', 'targets', 'registry', 'devcluster'])).toEqual([]);
    expect(violations('sqs', ['cli', 'api', 'ops', 'personas', 'mutations', 'mirror', 'registry', 'devcluster'])).toEqual([]);
  });

  it('lets the writer use the SQS intake without reaching the SQS delivery loop (and through it the delayed queue)', () => {
    expect([...reachable('sqs/intake.ts', edges)].filter((f) => ['delayed-queue', 'engine', 'targets'].includes(roomOf(f)) || f === 'sqs/runner.ts')).toEqual([]);
    expect(edges.some((e) => e.from === 'api/writer.ts' && e.to === 'sqs/intake.ts')).toBe(true);
  });

  it('detects what it checks (a cycle and a forbidden edge in a made-up graph)', () => {
    const graph = roomGraph([
      { from: 'engine/a.ts', to: 'mutations/b.ts' },
      { from: 'mutations/b.ts', to: 'engine/c.ts' },
    ]);
    expect(cycles(graph)).toEqual([['engine', 'mutations']]);
    // and the reachability the rules use follows real imports: personas do build on the engine
    expect(violations('personas', ['engine']).length).toBeGreaterThan(0);
  });
});
