import type { ProcessingGuarantee } from '../api';
import type { Task } from './task';

export interface TaskStatus {
  readonly partition: number;
  /** Changelog records replayed when this task opened (0 when its checkpoint was current). */
  readonly restoredRecords: number;
  /** Per source topic: next offset to process, last high watermark seen, lag between them. */
  readonly offsets: Record<string, { readonly processed: string | null; readonly highWatermark: string | null; readonly lag: number | null }>;
  /** Approximate bytes on disk per store. */
  readonly stores: Record<string, number>;
}

export interface NamespaceStatus {
  readonly namespace: string;
  readonly groupId: string;
  readonly guarantee: ProcessingGuarantee;
  readonly state: 'created' | 'starting' | 'running' | 'restarting' | 'stopping' | 'stopped';
  /**
   * The consumer is a member of the group: it got an assignment (possibly empty, when the group has
   * more members than partitions) and no rebalance, crash or stop happened since.
   */
  readonly joined: boolean;
  /**
   * Paused on purpose (`pause()`, e.g. by `wal namespace pause`): it stays in its group and keeps its
   * tasks, but fetches no source record and runs no punctuation until resumed.
   */
  readonly paused: boolean;
  readonly assigned: number[];
  readonly tasks: TaskStatus[];
}

export async function taskStatus(partition: number, task: Task, sourceTopics: readonly string[]): Promise<TaskStatus> {
  const offsets: Record<string, TaskStatus['offsets'][string]> = {};
  for (const topic of sourceTopics) {
    const processed = task.flushedOffsets().get(topic);
    const high = task.highWatermarks.get(topic);
    offsets[topic] = {
      processed: processed?.toString() ?? null,
      highWatermark: high?.toString() ?? null,
      lag: processed !== undefined && high !== undefined ? Math.max(0, Number(high - processed)) : null,
    };
  }
  const stores = task.isClosed ? {} : await task.storeSizes().catch(() => ({}));
  return { partition, restoredRecords: task.restoredRecords, offsets, stores };
}
