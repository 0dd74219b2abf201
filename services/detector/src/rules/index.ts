import { defineRegistry } from '../../../../shared/src/registry.ts';
import type { DetectionRule } from './types.ts';
import { pullVolumeSpike } from './pull-volume-spike.ts';
import { pullBytesSpike } from './pull-bytes-spike.ts';
import { repoCrawl } from './repo-crawl.ts';
import { catalogEnumeration } from './catalog-enumeration.ts';
import { authBruteforceIp } from './auth-bruteforce-ip.ts';
import { authBruteforceUser } from './auth-bruteforce-user.ts';
import { accessDeniedProbing } from './access-denied-probing.ts';
import { firstSeenNamespace } from './first-seen-namespace.ts';
import { firstSeenNetwork } from './first-seen-network.ts';
import { robotNewClient } from './robot-new-client.ts';
import { tagRepointed } from './tag-repointed.ts';
import { deleteBurst } from './delete-burst.ts';
import { anonymousPullSurge } from './anonymous-pull-surge.ts';
import { dormantReactivated } from './dormant-reactivated.ts';
import { unusualHour } from './unusual-hour.ts';
import { sloPullSuccess } from './slo-pull-success.ts';
import { sloLatency } from './slo-latency.ts';

/** Every streaming rule, one line each. Config `rules.<id>` takes each rule's params. */
export const rules = defineRegistry<DetectionRule<never>>('detection rule', [
  pullVolumeSpike,
  pullBytesSpike,
  repoCrawl,
  catalogEnumeration,
  authBruteforceIp,
  authBruteforceUser,
  accessDeniedProbing,
  firstSeenNamespace,
  firstSeenNetwork,
  robotNewClient,
  tagRepointed,
  deleteBurst,
  anonymousPullSurge,
  dormantReactivated,
  unusualHour,
  sloPullSuccess,
  sloLatency,
] as unknown as DetectionRule<never>[]);
