export { createKafkaClient, kafkaLogCreator } from './client';
export { planTopics, DEFAULT_DLQ_RETENTION_MS, type TopicSpec, type TopicRole } from '../namespaces/topic-plan';
export { applyTopics, type ApplyResult, type ApplyOptions, type DriftReport, type DriftKind } from './apply';
export { TopicProvisioningError } from './errors';
export { MAX_REQUEST_BYTES, messageBytes, splitByBytes } from './request-size';
