export { createKafkaClient, kafkaLogCreator, kafkaSecurity } from './client';
export { applyTopics, type TopicSpec, type ApplyResult, type ApplyOptions, type DriftReport, type DriftKind } from './apply';
export { ClusterAuthenticationError, ClusterTlsError, explainConnectError, TopicProvisioningError } from './errors';
export { MAX_REQUEST_BYTES, messageBytes, splitByBytes } from './request-size';
