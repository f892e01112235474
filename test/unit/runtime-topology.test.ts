import { TopologyBuilder } from '../../src/engine';
import { TopologyError } from '../../src/engine/errors';

const noop = () => ({ process: async () => undefined });

describe('TopologyBuilder', () => {
  it('builds sources → processors → sinks with children in declaration order', () => {
    const topology = new TopologyBuilder()
      .addSource('in', 'wal.x.intake')
      .addProcessor('count', noop, 'in')
      .addProcessor('audit', noop, 'in')
      .addSink('out', 'counts', 'count')
      .addStore('counts', { changelog: true }, 'count')
      .setDeadLetterTopic('wal.x.dlq')
      .build();
    expect(topology.children.get('in')).toEqual(['count', 'audit']);
    expect(topology.children.get('count')).toEqual(['out']);
    expect(topology.sourceTopics).toEqual(['wal.x.intake']);
    expect(topology.deadLetterTopic).toBe('wal.x.dlq');
    expect(topology.changelogTopic('counts', 'wal.x')).toBe('wal.x.counts-changelog');
  });

  it('lets a store name its changelog topic, or have none', () => {
    const topology = new TopologyBuilder()
      .addSource('in', ['a', 'b'])
      .addProcessor('p', noop, 'in')
      .addStore('timers', { changelog: { topic: 'wal.x.timers-changelog' } }, 'p')
      .addStore('cache', { changelog: false }, 'p')
      .build();
    expect(topology.changelogTopic('timers', 'wal.x')).toBe('wal.x.timers-changelog');
    expect(topology.changelogTopic('cache', 'wal.x')).toBeNull();
  });

  it.each([
    ['an unknown parent', () => new TopologyBuilder().addSource('in', 't').addProcessor('p', noop, 'nope'), /parent "nope" is not declared/],
    ['a duplicate name', () => new TopologyBuilder().addSource('in', 't').addProcessor('in', noop, 'in'), /"in" is declared twice/],
    ['a sink as parent', () => new TopologyBuilder().addSource('in', 't').addSink('out', 'o', 'in').addProcessor('p', noop, 'out'), /is a sink/],
    ['a store on a non-processor', () => new TopologyBuilder().addSource('in', 't').addStore('s', { changelog: true }, 'in'), /"in" is not a processor/],
    ['a store name with a slash', () => new TopologyBuilder().addSource('in', 't').addProcessor('p', noop, 'in').addStore('a/b', { changelog: true }, 'p'), /plain file name/],
    ['no source', () => new TopologyBuilder().build(), /at least one source/],
    ['a topic read twice', () => new TopologyBuilder().addSource('a', 't').addSource('b', 't').build(), /more than one source/],
  ])('rejects %s with a TopologyError', (_what, build, message) => {
    expect(build).toThrow(TopologyError);
    expect(build).toThrow(message);
  });
});
