/**
 * `regwatch setup elasticsearch [--url URL…] [--username U --password-file F | --api-key-file F]`
 *   installs the index templates, component templates, ILM policies and write aliases
 *   (idempotent) and reports created/updated/unchanged per asset.
 * `regwatch setup kibana --url URL [--space ID] [--dry-run] [--dir dashboards]`
 *   imports dashboards/*.ndjson through Kibana's saved objects import API and exits 1 listing
 *   every object error, even when Kibana answered 200.
 * stdout: one JSON object (the report) — for `setup elasticsearch` only when stdout is not a
 * terminal or with --json (on a terminal the stderr table is the report); stderr: human summary.
 * Environment fallbacks (the same names the services read): ES_URLS (comma list), ES_USERNAME,
 * ES_PASSWORD, ES_API_KEY; and REGWATCH_KIBANA_URL, REGWATCH_KIBANA_USERNAME, REGWATCH_KIBANA_PASSWORD,
 * REGWATCH_KIBANA_API_KEY.
 */
import { readFile, readdir } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { AppError } from '../../shared/src/errors.ts';
import { loadConfig } from '../../shared/src/config.ts';
import { createLogger, silentLogger } from '../../shared/src/logger.ts';
import { createEsClient, esConfigSchema, redactedNodes, waitForElasticsearch } from '../../shared/src/es/client.ts';
import { applyElasticsearchAssets, formatSetupReport } from '../../shared/src/es/assets.ts';
import { DEFAULT_RETENTION_DAYS, type RetentionDays } from '../../shared/src/es/templates.ts';
import {
  formatImportErrors,
  importNdjson,
  importUrl,
  type ImportFileResult,
} from '../../shared/src/es/kibana-import.ts';

const DEFAULT_DASHBOARDS_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../../dashboards');

async function readSecret(file: string | undefined, what: string): Promise<string | undefined> {
  if (file === undefined) return undefined;
  try {
    const v = (await readFile(file, 'utf8')).trim();
    if (!v) throw new AppError('CONFIG_INVALID', `${what} file ${file} is empty`);
    return v;
  } catch (err) {
    if (err instanceof AppError) throw err;
    throw new AppError('INPUT_UNREADABLE', `cannot read ${what} file ${file}: ${(err as Error).message}`, {
      cause: err,
    });
  }
}

const collect = (v: string, prev: string[]): string[] => [...prev, v];

function retentionDays(raw: string, name: string): number {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 2)
    throw new AppError('CONFIG_INVALID', `${name} must be a whole number of days >= 2, got "${raw}"`);
  return n;
}

interface EsOpts {
  url: string[];
  username?: string;
  passwordFile?: string;
  apiKeyFile?: string;
  caFile?: string;
  insecure?: boolean;
  namespace: string;
  timeout: string;
  retention: string[];
  verbose?: boolean;
  json?: boolean;
}

interface KibanaOpts {
  url?: string;
  space?: string;
  dryRun?: boolean;
  dir?: string;
  username?: string;
  passwordFile?: string;
  apiKeyFile?: string;
}

/** Lines of a dashboards NDJSON file, each checked to be one JSON object with type and id. */
function checkNdjson(file: string, text: string): { type: string; id: string }[] {
  const objects: { type: string; id: string }[] = [];
  text.split('\n').forEach((line, i) => {
    if (!line.trim()) return;
    let o: unknown;
    try {
      o = JSON.parse(line);
    } catch (err) {
      throw new AppError('CONFIG_INVALID', `${file}:${i + 1}: not a JSON object: ${(err as Error).message}`);
    }
    const rec = o as { type?: unknown; id?: unknown; exportedCount?: unknown };
    if (rec.exportedCount !== undefined) return;
    if (typeof rec.type !== 'string' || typeof rec.id !== 'string') {
      throw new AppError('CONFIG_INVALID', `${file}:${i + 1}: saved object without type/id`);
    }
    objects.push({ type: rec.type, id: rec.id });
  });
  return objects;
}

export function register(program: Command): void {
  const setup = program.command('setup').description('install Elasticsearch assets or Kibana dashboards');

  setup
    .command('elasticsearch')
    .description('install index/component templates, ILM policies and write aliases (idempotent); report what changed')
    .option('--url <url>', 'Elasticsearch node URL (repeatable)', collect, [])
    .option('--username <name>', 'basic-auth user')
    .option('--password-file <file>', 'file holding the basic-auth password')
    .option('--api-key-file <file>', 'file holding an Elasticsearch API key (instead of user/password)')
    .option('--ca-file <file>', 'PEM CA certificate for TLS')
    .option('--insecure', 'do not verify the TLS certificate')
    .option('--namespace <ns>', 'events data stream namespace to check', 'default')
    .option('--timeout <ms>', 'wait this long for the cluster to be ready', '30000')
    .option(
      '--retention <family=days>',
      `retention override, repeatable; families: ${Object.keys(DEFAULT_RETENTION_DAYS).join(', ')} (defaults ${Object.entries(
        DEFAULT_RETENTION_DAYS,
      )
        .map(([k, v]) => `${k}=${v}`)
        .join(', ')})`,
      collect,
      [],
    )
    .option('--verbose', 'log each step as JSON on stderr')
    .option(
      '--json',
      'print the JSON report on stdout even when stdout is a terminal (it is printed whenever stdout is not a terminal)',
    )
    .action(async (opts: EsOpts) => {
      const nodes =
        opts.url.length > 0
          ? opts.url
          : (process.env.ES_URLS ?? 'http://127.0.0.1:9200')
              .split(',')
              .map((u) => u.trim())
              .filter(Boolean);
      const password = (await readSecret(opts.passwordFile, 'password')) ?? process.env.ES_PASSWORD;
      const apiKey = (await readSecret(opts.apiKeyFile, 'API key')) ?? process.env.ES_API_KEY;
      const username = opts.username ?? process.env.ES_USERNAME;
      const cfg = loadConfig(
        esConfigSchema,
        {
          nodes,
          ...(username !== undefined ? { username } : {}),
          ...(password !== undefined ? { password } : {}),
          ...(apiKey !== undefined ? { apiKey } : {}),
          ...(opts.caFile !== undefined ? { caFile: opts.caFile } : {}),
          tlsRejectUnauthorized: !opts.insecure,
        },
        'Elasticsearch settings',
      );
      const retention: Partial<RetentionDays> = {};
      for (const r of opts.retention) {
        const [k, v] = r.split('=');
        if (!k || v === undefined || !(k in DEFAULT_RETENTION_DAYS)) {
          throw new AppError(
            'CONFIG_INVALID',
            `--retention expects family=days with family one of ${Object.keys(DEFAULT_RETENTION_DAYS).join(', ')}, got "${r}"`,
          );
        }
        retention[k as keyof RetentionDays] = retentionDays(v, `--retention ${k}`);
      }
      const logger = opts.verbose
        ? createLogger('regwatch-setup', { destination: process.stderr as never })
        : silentLogger();
      const client = createEsClient(cfg);
      try {
        process.stderr.write(`connecting to ${redactedNodes(cfg).join(', ')}\n`);
        const timeoutMs = Number(opts.timeout);
        if (!Number.isFinite(timeoutMs) || timeoutMs <= 0)
          throw new AppError(
            'CONFIG_INVALID',
            `--timeout must be a positive number of milliseconds, got "${opts.timeout}"`,
          );
        await waitForElasticsearch(client, { timeoutMs });
        const report = await applyElasticsearchAssets(client, {
          logger,
          namespace: opts.namespace,
          retentionDays: retention,
        });
        process.stderr.write(`${formatSetupReport(report)}\n`);
        // A terminal shows stderr and stdout together: the table is enough there.
        if (opts.json || !process.stdout.isTTY) process.stdout.write(`${JSON.stringify(report)}\n`);
      } finally {
        await client.close();
      }
    });

  setup
    .command('kibana')
    .description('import the regwatch dashboards (dashboards/*.ndjson) into Kibana; fails on any object error')
    .option('--url <url>', 'Kibana base URL, e.g. http://localhost:5601')
    .option('--space <id>', 'Kibana space id (default space when absent)')
    .option('--dry-run', 'check the files and show what would be imported, without contacting Kibana')
    .option('--dir <dir>', "directory with the .ndjson files (default: this installation's dashboards/)")
    .option('--username <name>', 'basic-auth user')
    .option('--password-file <file>', 'file holding the basic-auth password')
    .option('--api-key-file <file>', 'file holding an API key')
    .action(async (opts: KibanaOpts) => {
      const dir = opts.dir ?? DEFAULT_DASHBOARDS_DIR;
      let names: string[];
      try {
        names = (await readdir(dir)).filter((f) => f.endsWith('.ndjson')).sort();
      } catch (err) {
        throw new AppError('INPUT_UNREADABLE', `cannot list ${dir}: ${(err as Error).message}`, { cause: err });
      }
      if (names.length === 0) throw new AppError('INPUT_UNREADABLE', `no .ndjson files in ${dir}`);
      const files: { name: string; text: string; objects: { type: string; id: string }[] }[] = [];
      for (const name of names) {
        const text = await readFile(join(dir, name), 'utf8');
        files.push({ name, text, objects: checkNdjson(name, text) });
      }
      const url = opts.url ?? process.env.REGWATCH_KIBANA_URL;
      if (opts.dryRun) {
        const target = url ? importUrl(url, opts.space) : '(no --url given)';
        for (const f of files)
          process.stderr.write(`would import ${f.name}: ${f.objects.length} objects → ${target}\n`);
        process.stdout.write(
          `${JSON.stringify({ dryRun: true, target, files: files.map((f) => ({ file: f.name, objects: f.objects })) })}\n`,
        );
        return;
      }
      if (!url) throw new AppError('CONFIG_INVALID', 'setup kibana needs --url (or REGWATCH_KIBANA_URL)');
      const password = (await readSecret(opts.passwordFile, 'password')) ?? process.env.REGWATCH_KIBANA_PASSWORD;
      const apiKey = (await readSecret(opts.apiKeyFile, 'API key')) ?? process.env.REGWATCH_KIBANA_API_KEY;
      const username = opts.username ?? process.env.REGWATCH_KIBANA_USERNAME;
      if ((username === undefined) !== (password === undefined)) {
        throw new AppError('CONFIG_INVALID', 'give --username and --password-file together');
      }
      const auth = apiKey
        ? { apiKey }
        : username !== undefined && password !== undefined
          ? { username, password }
          : undefined;
      const results: ImportFileResult[] = [];
      for (const f of files) {
        const r = await importNdjson(f.name, f.text, {
          url,
          ...(opts.space ? { space: opts.space } : {}),
          ...(auth ? { auth } : {}),
        });
        results.push(r);
        process.stderr.write(
          `${r.success ? 'imported' : 'FAILED  '} ${f.name}: ${r.successCount}/${f.objects.length} objects\n`,
        );
      }
      process.stdout.write(`${JSON.stringify({ target: importUrl(url, opts.space), results })}\n`);
      const errors = formatImportErrors(results);
      if (errors.length > 0) {
        throw new AppError(
          'KIBANA_IMPORT_FAILED',
          `Kibana reported ${errors.length} error(s):\n${errors.map((e) => `  - ${e}`).join('\n')}`,
        );
      }
    });
}
