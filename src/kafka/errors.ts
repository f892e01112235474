/** A topic could not be created or inspected. Retriable when the broker said a retry may help. */
export class TopicProvisioningError extends Error {
  readonly retriable: boolean;
  readonly topics: string[];

  constructor(message: string, topics: string[], retriable: boolean, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TopicProvisioningError';
    this.topics = topics;
    this.retriable = retriable;
  }
}
