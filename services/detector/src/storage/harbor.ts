/**
 * Harbor quota collector: `GET /api/v2.0/projects/{project_name}/summary` (Harbor v2 API,
 * `ProjectSummary.quota.{hard,used}.storage`, bytes; hard = -1 means unlimited) with HTTP basic
 * auth (a robot account). `X-Is-Resource-Name: true` makes numeric names count as names.
 */
import { request } from 'undici';
import { AppError } from '../../../../shared/src/errors.ts';
import type { StorageSampleRecord } from './types.ts';

export interface HarborQuotaOptions {
  /** Harbor base URL, e.g. `https://harbor.example.com`. */
  readonly baseUrl: string;
  readonly username?: string;
  readonly password?: string;
  readonly timeoutMs?: number;
}

interface ProjectSummary {
  quota?: { hard?: { storage?: number }; used?: { storage?: number } };
}

/**
 * Reads one project's storage quota.
 * @returns sample with scope `harbor:<project>`; capacity_bytes = 0 when the quota is unlimited.
 * @throws AppError STORAGE_COLLECT_FAILED: retriable on network errors, 429 and 5xx; not retriable
 *   on 401/403/404 or a body without `quota.used.storage`.
 */
export async function collectHarborQuota(
  project: string,
  opts: HarborQuotaOptions,
  now: Date = new Date(),
): Promise<StorageSampleRecord> {
  const url = `${opts.baseUrl.replace(/\/+$/, '')}/api/v2.0/projects/${encodeURIComponent(project)}/summary`;
  const headers: Record<string, string> = { accept: 'application/json', 'x-is-resource-name': 'true' };
  if (opts.username !== undefined)
    headers.authorization = `Basic ${Buffer.from(`${opts.username}:${opts.password ?? ''}`).toString('base64')}`;
  let res;
  try {
    res = await request(url, {
      method: 'GET',
      headers,
      headersTimeout: opts.timeoutMs ?? 10_000,
      bodyTimeout: opts.timeoutMs ?? 10_000,
    });
  } catch (err) {
    throw new AppError(
      'STORAGE_COLLECT_FAILED',
      `Harbor unreachable for project ${project}: ${(err as Error).message}`,
      { retriable: true, cause: err },
    );
  }
  const text = await res.body.text();
  if (res.statusCode !== 200) {
    const retriable = res.statusCode === 429 || res.statusCode >= 500;
    throw new AppError('STORAGE_COLLECT_FAILED', `Harbor answered ${res.statusCode} for project ${project} summary`, {
      retriable,
      context: { status: res.statusCode },
    });
  }
  let body: ProjectSummary;
  try {
    body = JSON.parse(text) as ProjectSummary;
  } catch (err) {
    throw new AppError('STORAGE_COLLECT_FAILED', `Harbor project ${project} summary is not JSON`, { cause: err });
  }
  const used = body.quota?.used?.storage;
  const hard = body.quota?.hard?.storage;
  if (typeof used !== 'number')
    throw new AppError(
      'STORAGE_COLLECT_FAILED',
      `Harbor project ${project} summary has no quota.used.storage (quota disabled?)`,
    );
  return {
    timestamp: now.toISOString(),
    used_bytes: used,
    capacity_bytes: typeof hard === 'number' && hard > 0 ? hard : 0,
    scope: `harbor:${project}`,
    source: 'harbor_quota',
  };
}
