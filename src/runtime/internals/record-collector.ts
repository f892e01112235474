import type { Message, RecordMetadata, TopicMessages } from 'kafkajs';
import type { ChangelogSink } from '../../state';
import type { OutputRecord } from '../api';

/** Sends one flush worth of messages: the shared producer (at-least-once) or the task's transaction. */
export type BatchSender = (batch: TopicMessages[]) => Promise<RecordMetadata[]>;

export interface CollectorLimits {
  /** Flush once this many bytes are buffered (stay well below the broker's 1 MiB batch limit). */
  readonly maxBytes: number;
  readonly maxRecords: number;
}

const DEFAULT_LIMITS: CollectorLimits = { maxBytes: 512 * 1024, maxRecords: 5000 };

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
    const counts = new Map<string, number>();
    for (const [topic, messages] of pending) {
      for (const m of messages) {
        if (m.partition === undefined) continue;
        const tp = `${topic}\u0000${m.partition}`;
        if (this.ackListeners.has(tp)) counts.set(tp, (counts.get(tp) ?? 0) + 1);
      }
    }
    const sinks = [...pending].filter(([topic]) => !this.changelogTopics.has(topic));
    const changelogs = [...pending].filter(([topic]) => this.changelogTopics.has(topic));
    if (sinks.length > 0) await sender(sinks.map(([topic, messages]) => ({ topic, messages })));
    for (const [topic, messages] of sinks) sent.set(topic, messages.length);
    if (changelogs.length === 0) return sent;
    const metadata = await sender(changelogs.map(([topic, messages]) => ({ topic, messages })));
    for (const entry of metadata) {
      const tp = `${entry.topicName}\u0000${entry.partition}`;
      const listener = this.ackListeners.get(tp);
      const n = counts.get(tp);
      if (listener && n !== undefined && entry.baseOffset !== undefined && Number(entry.baseOffset) >= 0) {
        listener((BigInt(entry.baseOffset) + BigInt(n)).toString());
      }
    }
    return sent;
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
    this.bytes += (message.key?.length ?? 0) + (message.value?.length ?? 0) + 64;
    for (const [k, v] of Object.entries(message.headers ?? {})) this.bytes += k.length + String(v).length;
  }
}
