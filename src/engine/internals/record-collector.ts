import type { Message, RecordMetadata, TopicMessages } from 'kafkajs';
import { MAX_REQUEST_BYTES, messageBytes, splitByBytes } from '../../kafka/request-size';
import type { ChangelogSink } from '../../state';
import type { OutputRecord } from '../api';

/** Sends one flush worth of messages: the shared producer (at-least-once) or the task's transaction. */
export type BatchSender = (batch: TopicMessages[]) => Promise<RecordMetadata[]>;

export interface CollectorLimits {
  /** Flush once this many bytes are buffered (stay well below the broker's 1 MiB batch limit). */
  readonly maxBytes: number;
  readonly maxRecords: number;
}

const DEFAULT_LIMITS: CollectorLimits = { maxBytes: MAX_REQUEST_BYTES, maxRecords: 5000 };

/**
 * A task's output buffer: sink records and changelog records, sent together by `flush()`. Nothing
 * buffered here counts as done until a flush resolved: input offsets are committed only after.
 */
export class RecordCollector implements ChangelogSink {
  private pending = new Map<string, Message[]>();
  private bytes = 0;
  private count = 0;
  private readonly ackListeners = new Map<string, (nextOffset: string) => void>();
  private readonly changelogTopics = new Set<string>();

  constructor(private readonly limits: CollectorLimits = DEFAULT_LIMITS) {}

  send(topic: string, record: OutputRecord, fallbackTimestamp: number): void {
    this.push(topic, {
      key: record.key,
      value: record.value,
      headers: record.headers,
      timestamp: String(record.timestamp ?? fallbackTimestamp),
      ...(record.partition !== undefined ? { partition: record.partition } : {}),
    });
  }

  sendChangelog(topic: string, partition: number, key: Buffer, value: Buffer | null): void {
    this.changelogTopics.add(topic);
    this.push(topic, { key, value, partition });
  }

  /** `listener(nextOffset)` learns how far a changelog partition is durable after each flush. */
  onAcknowledged(topic: string, partition: number, listener: (nextOffset: string) => void): void {
    this.ackListeners.set(`${topic}\u0000${partition}`, listener);
  }

  get size(): number {
    return this.count;
  }

  shouldFlush(): boolean {
    return this.bytes >= this.limits.maxBytes || this.count >= this.limits.maxRecords;
  }

  /**
   * Sends everything buffered: sink records first, changelog records only once those are acknowledged,
   * so a store never records an effect (a fired timer's tombstone) whose output was lost. On failure
   * the records are dropped: the task re-processes from its last commit. Answers how many sink
   * (non-changelog) records went to each topic.
   */
  async flush(sender: BatchSender): Promise<Map<string, number>> {
    const sent = new Map<string, number>();
    if (this.count === 0) return sent;
    const pending = this.pending;
    this.pending = new Map();
    this.bytes = 0;
    this.count = 0;
    const sinks = [...pending].filter(([topic]) => !this.changelogTopics.has(topic));
    const changelogs = [...pending].filter(([topic]) => this.changelogTopics.has(topic));
    for (const wave of this.waves(sinks)) await sender(wave);
    for (const [topic, messages] of sinks) sent.set(topic, messages.length);
    for (const wave of this.waves(changelogs)) {
      const metadata = await sender(wave);
      const counts = new Map<string, number>();
      for (const { topic, messages } of wave) {
        for (const m of messages) {
          if (m.partition === undefined) continue;
          const tp = `${topic}\u0000${m.partition}`;
          if (this.ackListeners.has(tp)) counts.set(tp, (counts.get(tp) ?? 0) + 1);
        }
      }
      for (const entry of metadata) {
        const tp = `${entry.topicName}\u0000${entry.partition}`;
        const listener = this.ackListeners.get(tp);
        const n = counts.get(tp);
        if (listener && n !== undefined && entry.baseOffset !== undefined && Number(entry.baseOffset) >= 0) {
          listener((BigInt(entry.baseOffset) + BigInt(n)).toString());
        }
      }
    }
    return sent;
  }

  /**
   * Splits one flush into requests of at most `maxBytes` (a record larger than that goes alone).
   * kafkajs puts all of a partition's messages of one request into one record batch, and a batch
   * over the topic's max.message.bytes is refused whole: a punctuation that dead-letters thousands
   * of records at once must not turn into a task that fails on every retry. Waves go out one after
   * the other, so each partition keeps its order.
   */
  private waves(entries: [string, Message[]][]): TopicMessages[][] {
    const flat = entries.flatMap(([topic, messages]) => messages.map((message) => ({ topic, message })));
    return splitByBytes(flat, (e) => messageBytes(e.message), this.limits.maxBytes).map((run) => {
      const byTopic = new Map<string, Message[]>();
      for (const { topic, message } of run) {
        let list = byTopic.get(topic);
        if (!list) byTopic.set(topic, (list = []));
        list.push(message);
      }
      return [...byTopic].map(([topic, messages]) => ({ topic, messages }));
    });
  }

  /** Forgets buffered output (after an aborted transaction). */
  discard(): void {
    this.pending = new Map();
    this.bytes = 0;
    this.count = 0;
  }

  private push(topic: string, message: Message): void {
    let list = this.pending.get(topic);
    if (!list) this.pending.set(topic, (list = []));
    list.push(message);
    this.count += 1;
    this.bytes += messageBytes(message);
  }
}
