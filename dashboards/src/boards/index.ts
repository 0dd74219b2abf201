import type { DashboardSpec } from '../dashboard.ts';
import { capacity } from './capacity.ts';
import { health } from './health.ts';
import { identityDrilldown } from './identity.ts';
import { securityOverview } from './security-overview.ts';

/** Every dashboard, and the NDJSON file each is written to (one line per dashboard here). */
export const DASHBOARDS: readonly { file: string; dashboard: DashboardSpec }[] = [
  { file: 'regwatch-security-overview.ndjson', dashboard: securityOverview },
  { file: 'regwatch-identity-drilldown.ndjson', dashboard: identityDrilldown },
  { file: 'regwatch-capacity.ndjson', dashboard: capacity },
  { file: 'regwatch-health.ndjson', dashboard: health },
];
