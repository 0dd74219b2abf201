/**
 * The silences API of the embedded mode: the alerts service's own Fastify API
 * (services/alerts/src/api.ts, Alertmanager-style `/api/v1/silences`, bearer-protected) over the
 * same alert store the embedded alerts engine reads, so a silence created with
 * `regwatch silence add` takes effect within a second. The token is configured or generated once
 * into `<data-dir>/alerts-api.token` (mode 0600); the listen URL is written to
 * `<data-dir>/alerts-api.url` so `regwatch silence` finds both from the data directory.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { AppError } from '../../../shared/src/errors.ts';
import type { Logger } from '../../../shared/src/logger.ts';
import { buildApi } from '../../alerts/src/api.ts';
import type { Clock } from '../../alerts/src/clock.ts';
import type { AlertStore } from '../../alerts/src/store/types.ts';
import type { DataDirLayout } from './data-dir.ts';

/** Default listen URL of the silences API (the alerts service's default port). */
export const DEFAULT_ALERTS_API_URL = 'http://127.0.0.1:9095';

const MIN_TOKEN = 16;

function readTrimmed(path: string): string | null {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new AppError('INPUT_UNREADABLE', `cannot read ${path}: ${(err as Error).message}`, { cause: err });
  }
}

/**
 * Returns the stored silences API token of a data directory, creating it when missing or too short
 * (32 random bytes, base64url, file mode 0600; a looser mode on an existing file is tightened).
 * @returns the token and whether it was created now.
 * @throws AppError EMBEDDED_START_FAILED when the file cannot be read or written.
 */
export function ensureAlertsApiToken(layout: DataDirLayout): { token: string; created: boolean } {
  try {
    const existing = readTrimmed(layout.alertsApiToken);
    if (existing !== null && existing.length >= MIN_TOKEN) {
      if ((statSync(layout.alertsApiToken).mode & 0o077) !== 0) chmodSync(layout.alertsApiToken, 0o600);
      return { token: existing, created: false };
    }
    const token = randomBytes(32).toString('base64url');
    rmSync(layout.alertsApiToken, { force: true });
    writeFileSync(layout.alertsApiToken, `${token}\n`, { mode: 0o600, flag: 'wx' });
    return { token, created: true };
  } catch (err) {
    throw new AppError(
      'EMBEDDED_START_FAILED',
      `cannot create the alerts API token file ${layout.alertsApiToken}: ${(err as Error).message}`,
      { cause: err },
    );
  }
}

/**
 * What `regwatch silence` finds in a data directory: the stored token (null when none or too
 * short) and the URL of the running API (null when no `regwatch run` has it open).
 * @throws AppError INPUT_UNREADABLE when a file exists but cannot be read.
 */
export function readAlertsApiFiles(layout: DataDirLayout): { token: string | null; url: string | null } {
  const token = readTrimmed(layout.alertsApiToken);
  const url = readTrimmed(layout.alertsApiUrl);
  return { token: token !== null && token.length >= MIN_TOKEN ? token : null, url: url || null };
}

export interface EmbeddedAlertsApi {
  /** `http://host:port` it listens on. */
  readonly url: string;
  /** Where the token is stored, or null when tokens were configured. */
  readonly tokenFile: string | null;
  close(): Promise<void>;
}

/**
 * Starts the silences API on `host:port` over `store`.
 * @param tokens configured tokens (16+ chars); empty → the data directory's stored token.
 * @throws AppError EMBEDDED_START_FAILED (port in use, token file not writable).
 */
export async function startAlertsApi(o: {
  readonly host: string;
  readonly port: number;
  readonly tokens: readonly string[];
  readonly layout: DataDirLayout;
  readonly store: AlertStore;
  readonly clock: Clock;
  readonly logger: Logger;
}): Promise<EmbeddedAlertsApi> {
  let tokens = o.tokens;
  let tokenFile: string | null = null;
  if (tokens.length === 0) {
    const t = ensureAlertsApiToken(o.layout);
    tokens = [t.token];
    tokenFile = o.layout.alertsApiToken;
    if (t.created) o.logger.info({ tokenFile }, 'alerts API token generated');
  }
  const app = buildApi({ store: o.store, clock: o.clock, logger: o.logger, tokens });
  try {
    await app.listen({ host: o.host, port: o.port });
  } catch (err) {
    await app.close().catch(() => undefined);
    throw new AppError(
      'EMBEDDED_START_FAILED',
      `alerts API cannot listen on ${o.host}:${o.port}: ${(err as Error).message} (use --alerts-port, or --no-alerts-api)`,
      { cause: err },
    );
  }
  const port = (app.server.address() as { port: number } | null)?.port ?? o.port;
  // A wildcard address is reached locally through loopback.
  const host =
    o.host === '0.0.0.0' ? '127.0.0.1' : o.host === '::' ? '[::1]' : o.host.includes(':') ? `[${o.host}]` : o.host;
  const url = `http://${host}:${port}`;
  writeFileSync(o.layout.alertsApiUrl, `${url}\n`);
  return {
    url,
    tokenFile,
    async close() {
      rmSync(o.layout.alertsApiUrl, { force: true });
      await app.close();
    },
  };
}
