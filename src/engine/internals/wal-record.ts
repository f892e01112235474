import type { KafkaMessage } from 'kafkajs';
import { decodeHeaders } from '../../kafka/consumer-helpers';
import type { WalRecord } from '../api';

/** A fetched message as a processor sees it. */
export function toWalRecord(topic: string, partition: number, message: KafkaMessage): WalRecord {
  return {
    key: message.key ?? null,
    value: message.value ?? null,
    headers: decodeHeaders(message.headers),
    timestamp: Number(message.timestamp),
    topic,
    partition,
    offset: message.offset,
  };
}
