/** Kafka topic names used between the services (the only coupling between them). */
export const TOPICS = {
  /** Raw Distribution notification envelopes, original bytes (receiver → ingest). */
  notifications: 'registry.notifications',
  /** Raw registry stdout lines (log shipper or POST /v1/logs → ingest). */
  logs: 'registry.logs',
  /** Raw Harbor webhook payloads, original bytes. */
  harborWebhooks: 'harbor.webhooks',
  /** Normalized RegistryEvent JSON, key = identity (`user.name`, else `ip:<source.ip>`). */
  events: 'regwatch.events',
  /** Rejected inputs: original bytes + reason code + source topic/partition/offset in headers. */
  dlq: 'regwatch.dlq',
  /** Storage usage samples (collector, POST /v1/storage). */
  storage: 'regwatch.storage',
  /** Findings (detector → alerts, ingest indexes them), key = finding entity. */
  findings: 'regwatch.findings',
} as const;

export type TopicName = (typeof TOPICS)[keyof typeof TOPICS];
