import { AssignerProtocol, PartitionAssigner } from 'kafkajs';

export const ASSIGNOR_NAME = 'WalCoPartitioned';

/**
 * A task owns partition p of every source topic, so partitions are assigned by number, not per topic
 * (kafkajs' round-robin could split p of two topics across members). Members are ordered by id and
 * partition numbers dealt round-robin, so two members of a 4-partition input get two tasks each.
 */
export const coPartitionedAssigner: PartitionAssigner = ({ cluster }) => ({
  name: ASSIGNOR_NAME,
  version: 0,
  async assign({ members, topics }) {
    const memberIds = members.map((m) => m.memberId).sort();
    const partitionsOf = new Map<string, number[]>();
    let maxPartitions = 0;
    for (const topic of topics) {
      const ids = cluster.findTopicPartitionMetadata(topic).map((m) => m.partitionId).sort((a, b) => a - b);
      partitionsOf.set(topic, ids);
      maxPartitions = Math.max(maxPartitions, ids.length);
    }
    const assignment = new Map<string, Record<string, number[]>>(memberIds.map((id) => [id, {}]));
    for (let p = 0; p < maxPartitions; p++) {
      const owner = assignment.get(memberIds[p % memberIds.length])!;
      for (const [topic, ids] of partitionsOf) {
        if (ids.includes(p)) (owner[topic] ??= []).push(p);
      }
    }
    return memberIds.map((memberId) => ({
      memberId,
      memberAssignment: AssignerProtocol.MemberAssignment.encode({ version: 0, assignment: assignment.get(memberId)!, userData: Buffer.alloc(0) }),
    }));
  },
  protocol({ topics }) {
    return { name: ASSIGNOR_NAME, metadata: AssignerProtocol.MemberMetadata.encode({ version: 0, topics, userData: Buffer.alloc(0) }) };
  },
});
