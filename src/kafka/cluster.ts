/** Where and how to reach one Kafka cluster; the namespace config names clusters by alias. */
export interface ClusterConfig {
  readonly name: string;
  readonly brokers: string[];
  /** Confluent-compatible registry base URL (e.g. http://host:port/apis/ccompat/v7). */
  readonly schemaRegistryUrl: string;
  readonly clientId?: string;
}
