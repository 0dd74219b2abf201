import type { Command } from 'commander';
import { request } from 'undici';
import { AppError } from '../../shared/src/errors.ts';

/**
 * `regwatch silence add|list|expire`: manage silences through the alerts service API
 * (services/alerts/src/api.ts). URL and token come from `--url`/`--token` or
 * `REGWATCH_ALERTS_URL`/`REGWATCH_ALERTS_TOKEN`. Machine output (JSON) on stdout, a human line on stderr.
 */
interface Conn {
  url: string;
  token: string;
}

function conn(opts: { url?: string; token?: string }): Conn {
  const url = opts.url ?? process.env['REGWATCH_ALERTS_URL'] ?? 'http://127.0.0.1:9095';
  const token = opts.token ?? process.env['REGWATCH_ALERTS_TOKEN'];
  if (!token)
    throw new AppError('CONFIG_INVALID', 'give --token or set REGWATCH_ALERTS_TOKEN (bearer token of the alerts API)');
  return { url: url.replace(/\/+$/, ''), token };
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
      `cannot reach the alerts API at ${c.url}: ${(err as { code?: string }).code ?? (err as Error).message}`,
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

const collect = (v: string, prev: string[]): string[] => [...prev, v];

export function register(program: Command): void {
  const silence = program
    .command('silence')
    .description('Create, list and expire alert silences on the alerts service');
  const common = (c: Command): Command =>
    c
      .option('--url <url>', 'alerts service base URL (env REGWATCH_ALERTS_URL, default http://127.0.0.1:9095)')
      .option('--token <token>', 'API bearer token (env REGWATCH_ALERTS_TOKEN)');

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
        [] as string[],
      )
      .option('-d, --duration <duration>', 'how long, e.g. 2h, 30m, 1d', '2h')
      .option('--author <name>', 'who creates it (default $USER)')
      .requiredOption('-c, --comment <text>', 'why'),
  ).action(
    async (o: {
      matcher: string[];
      duration: string;
      author?: string;
      comment: string;
      url?: string;
      token?: string;
    }) => {
      const c = conn(o);
      const createdBy = o.author ?? process.env['USER'] ?? 'unknown';
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
      .option('--state <state>', 'active | pending | expired'),
  ).action(async (o: { state?: string; url?: string; token?: string }) => {
    const r = await call(conn(o), 'GET', `/api/v1/silences${o.state ? `?state=${encodeURIComponent(o.state)}` : ''}`);
    const list = (r['silences'] as unknown[]) ?? [];
    for (const s of list) process.stdout.write(`${JSON.stringify(s)}\n`);
    process.stderr.write(`${list.length} silence(s)\n`);
  });

  common(silence.command('expire').description('end a silence now').argument('<id>', 'silence id')).action(
    async (id: string, o: { url?: string; token?: string }) => {
      const s = await call(conn(o), 'DELETE', `/api/v1/silences/${encodeURIComponent(id)}`);
      process.stdout.write(`${JSON.stringify(s)}\n`);
      process.stderr.write(`silence ${id} expired\n`);
    },
  );
}
