import { Partitioners, type PartitionMetadata } from 'kafkajs';

// The partitioner kafkajs' producers use (murmur2, as the Java client): computing partitions with it
// means a record keyed by `key` and one sent explicitly to keyPartition(key) land in the same place.
const partitioner = Partitioners.DefaultPartitioner();
const metadataBySize = new Map<number, PartitionMetadata[]>();

function metadataOf(partitions: number): PartitionMetadata[] {
  let metadata = metadataBySize.get(partitions);
  if (!metadata) {
    metadata = Array.from({ length: partitions }, (_, partitionId) => ({ partitionId, leader: 0, partitionErrorCode: 0, replicas: [0], isr: [0] }));
    metadataBySize.set(partitions, metadata);
  }
  return metadata;
}

/** The partition (of a topic with `partitions` partitions) a record keyed by `key` goes to. */
export function keyPartition(key: string | Buffer, partitions: number): number {
  if (!Number.isInteger(partitions) || partitions < 1) throw new RangeError(`partition count must be a positive integer, got ${partitions}`);
  return partitioner({ topic: '', partitionMetadata: metadataOf(partitions), message: { key, value: null } });
}
