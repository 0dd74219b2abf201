import type { JsonSource, TextSource } from './types.ts';
import { distributionAccessJsonSource } from './distribution-access-json.ts';
import { distributionCombinedSource } from './distribution-combined.ts';
import { distributionLogrusJsonSource } from './distribution-logrus-json.ts';
import { distributionLogrusTextSource } from './distribution-logrus-text.ts';
import { distributionNotificationSource } from './distribution-notification.ts';
import { harborAuditApiSource } from '../harbor/audit-api.ts';
import { harborAuditSyslogSource } from '../harbor/audit-syslog.ts';
import { harborCloudEventsSource } from '../harbor/webhook-cloudevents.ts';
import { harborDefaultSource } from '../harbor/webhook-default.ts';
import { artifactoryAccessSource } from '../other/artifactory-access.ts';
import { artifactoryRequestSource } from '../other/artifactory-request.ts';
import { nexusRequestSource } from '../other/nexus-request.ts';
import { quayApiSource } from '../other/quay-api.ts';
import { quayKafkaSource } from '../other/quay-kafka.ts';

/**
 * Registry of input formats, tried in order by the per-line format detector.
 * A new format is one file in this folder plus one line here.
 */
export const jsonSources: readonly JsonSource[] = [
  distributionNotificationSource,
  distributionLogrusJsonSource,
  distributionAccessJsonSource,
  harborDefaultSource,
  harborCloudEventsSource,
  harborAuditApiSource,
  quayApiSource,
  quayKafkaSource,
];

export const textSources: readonly TextSource[] = [
  distributionLogrusTextSource,
  distributionCombinedSource,
  harborAuditSyslogSource,
  artifactoryRequestSource,
  artifactoryAccessSource,
  nexusRequestSource,
];
