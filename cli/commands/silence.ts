import { userInfo } from 'node:os';
import { Option, type Command } from 'commander';
import { request } from 'undici';
import { AppError } from '../../shared/src/errors.ts';
import { DEFAULT_ALERTS_API_URL, readAlertsApiFiles } from '../../services/embedded/src/alerts-api.ts';
import { dataDirLayout } from '../../services/embedded/src/data-dir.ts';
import { unknownRuleMatchers } from '../../services/alerts/src/config.ts';
import { parseMatcher, type Matcher } from '../../services/alerts/src/matchers.ts';
import { KNOWN_FINDING_RULE_IDS } from './alerts.ts';

/**
 * `regwatch silence add|list|expire`: manage silences through the alerts service API
 * (services/alerts/src/api.ts; `regwatch run` serves it too, default http://127.0.0.1:9095).
 * Token: `--token`, else `REGWATCH_ALERTS_TOKEN` (first of a comma list), else the token
 * `regwatch run` stored in `<data-dir>/alerts-api.token`. URL: `--url`, else `REGWATCH_ALERTS_URL`,
 * else the URL `regwatch run` wrote to `<data-dir>/alerts-api.url`, else the default. The data
 * dir is `--data-dir`, else `REGWATCH_DATA_DIR`, else `.data` (as for `regwatch run`), so the
 * command printed in an alert works as is from where `regwatch run` was started.
 * Machine output (JSON) on stdout, a human line on stderr.
 */
interface Conn {
  url: string;
  token: string;
  /** Where the URL came from, for error messages. */
  from: string;
}

interface ConnOpts {
  url?: string;
  token?: string;
  dataDir?: string;
}

function conn(opts: ConnOpts): Conn {
  const envToken = (process.env['REGWATCH_ALERTS_TOKEN'] ?? '')
    .split(',')
    .map((t) => t.trim())
    .find(Boolean);
  const envUrl = process.env['REGWATCH_ALERTS_URL'] || undefined;
  const layout = dataDirLayout(opts.dataDir ?? (process.env['REGWATCH_DATA_DIR'] || '.data'));
  const needFiles = !(opts.token ?? envToken) || !(opts.url ?? envUrl);
  const files = needFiles ? readAlertsApiFiles(layout) : { token: null, url: null };
  const token = opts.token ?? envToken ?? files.token;
  if (!token)
    throw new AppError(
      'CONFIG_INVALID',
      `no alerts API token: give --token, set REGWATCH_ALERTS_TOKEN, or point --data-dir at the data directory of \`regwatch run\` (${layout.alertsApiToken} not found)`,
    );
  const url = opts.url ?? envUrl ?? files.url ?? DEFAULT_ALERTS_API_URL;
  const from = opts.url
    ? '--url'
    : envUrl
      ? 'REGWATCH_ALERTS_URL'
      : files.url
        ? layout.alertsApiUrl
        : `default; no ${layout.alertsApiUrl}, is \`regwatch run\` running?`;
  return { url: url.replace(/\/+$/, ''), token, from };
}

async function call(
  c: Conn,
  method: 'GET' | 'POST' | 'DELETE',
  path: string,
  body?: unknown,
): Promise<Record<string, unknown>> {
  let res;
  try {
    res = await request(`${c.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${c.token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
      headersTimeout: 15_000,
      bodyTimeout: 15_000,
    });
  } catch (err) {
    throw new AppError(
      'ALERTS_API_FAILED',
      `cannot reach the alerts API at ${c.url} (${c.from}): ${(err as { code?: string }).code ?? (err as Error).message}`,
      { retriable: true },
    );
  }
  const text = await res.body.text();
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    json = { message: text.slice(0, 200) };
  }
  if (res.statusCode >= 400) {
    const msg = String(json['message'] ?? `HTTP ${res.statusCode}`);
    if (json['error'] === 'ALERTS_SILENCE_INVALID') throw new AppError('ALERTS_SILENCE_INVALID', msg);
    throw new AppError('ALERTS_API_FAILED', `alerts API answered ${res.statusCode}: ${msg}`, {
      retriable: res.statusCode >= 500,
    });
  }
  return json;
}

/** Repeatable option; no default, so commander reports a missing required one by its flag. */
const collect = (v: string, prev: string[] | undefined): string[] => [...(prev ?? []), v];

/**
 * Warnings for `--matcher` values on `rule`/`alertname` that name no known finding rule id (the
 * same check as `regwatch alerts check-config`): a typo there silences nothing. Matchers that do
 * not parse are left to the API, which rejects them with ALERTS_SILENCE_INVALID.
 * @returns one line per suspicious matcher, e.g. `--matcher 'rule=auth.brutforce_user': rule="…" names no detector rule id (…)`.
 */
export function silenceMatcherWarnings(
  matchers: readonly string[],
  knownRuleIds: Iterable<string> = KNOWN_FINDING_RULE_IDS,
): string[] {
  const parsed: { text: string; m: Matcher }[] = [];
  for (const text of matchers) {
    const m = parseMatcher(text);
    if (!('error' in m)) parsed.push({ text, m });
  }
  return unknownRuleMatchers(
    parsed.map((p) => p.m),
    knownRuleIds,
  ).map((w) => `--matcher '${parsed[w.index]?.text ?? ''}': ${w.message}; the silence is created anyway`);
}

/** Silence states of the alerts API (`GET /api/v1/silences?state=`), Alertmanager's vocabulary. */
export const SILENCE_STATES = ['active', 'pending', 'expired'] as const;

/**
 * Who creates a silence when `--author` is absent: `$USER`, else `$LOGNAME`, else the OS account
 * name (`os.userInfo().username`, works without a login shell, e.g. in cron or containers),
 * else `uid:<n>`.
 */
export function defaultAuthor(env: Readonly<Record<string, string | undefined>>): string {
  const fromEnv = env['USER']?.trim() || env['LOGNAME']?.trim();
  if (fromEnv) return fromEnv;
  try {
    return userInfo().username;
  } catch {
    // No passwd entry for the uid (some containers): userInfo throws.
    return `uid:${process.getuid?.() ?? 'unknown'}`;
  }
}

/** Shown after `regwatch silence add --help`: how the command reaches the API in each mode. */
export const SILENCE_CONNECTION_HELP = `
Connecting:
  regwatch run (embedded): nothing to set; the URL and token are read from <data-dir>
    (alerts-api.url, alerts-api.token).
  full mode (alerts service): export REGWATCH_ALERTS_URL=<the service's API, e.g. http://127.0.0.1:9095>
    and REGWATCH_ALERTS_TOKEN=<one of the service's REGWATCH_ALERTS_TOKEN values>, or pass --url/--token.
    The command printed in each alert already carries --url.`;

export function register(program: Command): void {
  const silence = program
    .command('silence')
    .description('Create, list and expire alert silences on the alerts service');
  const common = (c: Command): Command =>
    c
      .option(
        '--url <url>',
        'alerts service base URL (env REGWATCH_ALERTS_URL; default: <data-dir>/alerts-api.url, else http://127.0.0.1:9095)',
      )
      .option(
        '--token <token>',
        'API bearer token (env REGWATCH_ALERTS_TOKEN; default: <data-dir>/alerts-api.token written by regwatch run)',
      )
      .option(
        '--data-dir <dir>',
        'data directory of regwatch run, for its token and URL (env REGWATCH_DATA_DIR, default .data)',
      );

  common(
    silence
      .command('add')
      .description(
        "silence alerts matching every matcher, e.g. --matcher 'rule=pull.volume_spike' --matcher 'entity=user:alice'",
      )
      .requiredOption(
        '-m, --matcher <matcher>',
        'name=value, name!=value, name=~regex, name!~regex (repeatable)',
        collect,
      )
      .option('-d, --duration <duration>', 'how long, e.g. 2h, 30m, 1d', '2h')
      .option('--author <name>', 'who creates it (default: $USER, else the login name)')
      .requiredOption('-c, --comment <text>', 'why the silence exists (required)')
      .addHelpText('after', SILENCE_CONNECTION_HELP),
  ).action(
    async (o: {
      matcher: string[];
      duration: string;
      author?: string;
      comment: string;
      url?: string;
      token?: string;
      dataDir?: string;
    }) => {
      const c = conn(o);
      for (const w of silenceMatcherWarnings(o.matcher)) process.stderr.write(`warning: ${w}\n`);
      const createdBy = o.author ?? defaultAuthor(process.env);
      const s = await call(c, 'POST', '/api/v1/silences', {
        matchers: o.matcher,
        duration: o.duration,
        createdBy,
        comment: o.comment,
      });
      process.stdout.write(`${JSON.stringify(s)}\n`);
      process.stderr.write(`silence ${String(s['id'])} active until ${String(s['endsAt'])}\n`);
    },
  );

  common(
    silence
      .command('list')
      .description('list silences (JSON lines)')
      .addOption(new Option('--state <state>', 'only silences in this state').choices(SILENCE_STATES)),
  ).action(async (o: { state?: string } & ConnOpts) => {
    const r = await call(conn(o), 'GET', `/api/v1/silences${o.state ? `?state=${encodeURIComponent(o.state)}` : ''}`);
    const list = (r['silences'] as unknown[]) ?? [];
    for (const s of list) process.stdout.write(`${JSON.stringify(s)}\n`);
    process.stderr.write(`${list.length} silence(s)\n`);
  });

  common(silence.command('expire').description('end a silence now').argument('<id>', 'silence id')).action(
    async (id: string, o: ConnOpts) => {
      const s = await call(conn(o), 'DELETE', `/api/v1/silences/${encodeURIComponent(id)}`);
      process.stdout.write(`${JSON.stringify(s)}\n`);
      process.stderr.write(`silence ${id} expired\n`);
    },
  );
}
