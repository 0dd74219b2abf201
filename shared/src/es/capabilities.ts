import { errors, type Client } from '@elastic/elasticsearch';
import { toEsAppError } from './client.ts';

/** What the connected cluster supports; decides which assets `applyElasticsearchAssets` installs. */
export interface EsCapabilities {
  /** Index lifecycle management (`_ilm/*`) is available. */
  ilm: boolean;
  /** The `_data_stream` REST API is available (data streams themselves work via templates regardless). */
  dataStreamApi: boolean;
  /** Lowest node version (`9.2.4`), when `_nodes` answers. */
  version?: string;
}

/** True when a probe failed because the endpoint does not exist on this cluster (no handler). */
function isMissingEndpoint(err: unknown): boolean {
  if (!(err instanceof errors.ResponseError)) return false;
  const status = err.statusCode ?? 0;
  // A missing REST handler answers 400 ("no handler found for uri") or 405; 404 with no
  // body type means the same on some versions. A 404 index_not_found would be a real answer.
  if (status === 400 || status === 405 || status === 410 || status === 501) return true;
  if (status === 404) {
    const body = err.body as { error?: { type?: string } } | string | undefined;
    const type = typeof body === 'object' && body !== null ? body.error?.type : undefined;
    return type === undefined;
  }
  return false;
}

async function probe(fn: () => Promise<unknown>, what: string): Promise<boolean> {
  try {
    await fn();
    return true;
  } catch (err) {
    if (isMissingEndpoint(err)) return false;
    throw toEsAppError(err, what);
  }
}

/**
 * Probes the cluster: `GET _ilm/status` (ILM), `GET _data_stream` (data-stream API) and
 * `GET _nodes/_all/version` (lowest node version). Minimal distributions lack ILM and the data
 * stream API; those probes then answer "no handler" and are reported as `false`.
 *
 * @throws AppError ES_AUTH_FAILED on 401/403, ES_UNAVAILABLE when the cluster cannot be reached.
 */
export async function detectCapabilities(client: Client): Promise<EsCapabilities> {
  const ilm = await probe(() => client.ilm.getStatus(), 'probing ILM');
  const dataStreamApi = await probe(
    () => client.indices.getDataStream({ name: '*', expand_wildcards: 'all' }),
    'probing data streams',
  );
  let version: string | undefined;
  try {
    const nodes = await client.nodes.info({ node_id: '_all', metric: '_none', filter_path: 'nodes.*.version' });
    const versions = Object.values(nodes.nodes ?? {})
      .map((n) => n.version)
      .filter((v): v is string => typeof v === 'string');
    version = versions.sort(compareVersions)[0];
  } catch (err) {
    if (!isMissingEndpoint(err)) throw toEsAppError(err, 'reading node versions');
  }
  return version === undefined ? { ilm, dataStreamApi } : { ilm, dataStreamApi, version };
}

/** Compares dotted versions numerically (`8.19.2` < `9.2.4`); non-numeric parts compare as 0. */
export function compareVersions(a: string, b: string): number {
  const pa = a.split(/[.-]/).map((x) => Number.parseInt(x, 10) || 0);
  const pb = b.split(/[.-]/).map((x) => Number.parseInt(x, 10) || 0);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}
