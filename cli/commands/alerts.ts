import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Command } from 'commander';
import { AppError } from '../../shared/src/errors.ts';
import { createLogger, silentLogger } from '../../shared/src/logger.ts';
import { findingSchema, type Finding } from '../../shared/src/model/finding.ts';
import { createFakeClock, systemClock } from '../../services/alerts/src/clock.ts';
import { createHttpClient } from '../../services/alerts/src/http.ts';
import { deliverCapacityReport } from '../../services/alerts/src/report.ts';
import { loadAlertsConfigFile, unknownRuleMatcherWarnings } from '../../services/alerts/src/config.ts';
import { loadEmbeddedAlertsConfig } from '../../services/embedded/src/pipeline.ts';
import { rules } from '../../services/detector/src/rules/index.ts';
import { STORAGE_RULE } from '../../services/detector/src/forecast/findings.ts';
import { STORAGE_STALE_RULE } from '../../services/detector/src/forecast/stale-findings.ts';
import type { Deliverer } from '../../services/alerts/src/delivery.ts';
import { createDeliverer } from '../../services/alerts/src/delivery.ts';
import { createEngine } from '../../services/alerts/src/engine.ts';
import { buildRouteTree, indexRoutes } from '../../services/alerts/src/route.ts';
import { createMemoryStore } from '../../services/alerts/src/store/memory.ts';
import { createMemoryDeliveriesSink } from '../../services/alerts/src/deliveries.ts';
import { channels } from '../../services/alerts/src/channels/index.ts';
import type { HttpClient } from '../../services/alerts/src/http.ts';

/**
 * Reads findings from a file: one JSON object, a JSON array, or NDJSON.
 * @throws AppError INPUT_UNREADABLE when the file cannot be read; FINDING_INVALID (exit 2) when it
 *   is not JSON/NDJSON or a finding breaks the Finding contract (every problem listed).
 */
async function readFindings(path: string): Promise<Finding[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new AppError('INPUT_UNREADABLE', `cannot read ${path}: ${(err as Error).message}`);
  }
  let raw: unknown[];
  try {
    const t = text.trim();
    raw = t.startsWith('[')
      ? (JSON.parse(t) as unknown[])
      : t.startsWith('{') && !t.includes('\n{')
        ? [JSON.parse(t)]
        : t
            .split('\n')
            .filter((l) => l.trim())
            .map((l) => JSON.parse(l) as unknown);
  } catch (err) {
    throw new AppError('FINDING_INVALID', `${path} is not JSON / NDJSON: ${(err as Error).message}`);
  }
  const problems: string[] = [];
  const out: Finding[] = [];
  raw.forEach((r, i) => {
    const p = findingSchema.safeParse(r);
    if (p.success) out.push(p.data);
    else problems.push(...p.error.issues.map((x) => `finding ${i + 1}: ${x.path.join('.')}: ${x.message}`));
  });
  if (problems.length)
    throw new AppError('FINDING_INVALID', `invalid finding(s) in ${path}:\n  - ${problems.join('\n  - ')}`);
  return out;
}

/**
 * Every rule id a finding can carry: the detector's streaming rule registry, the storage
 * forecast's finding, and the release-day population-surge findings the pull spike rules
 * (rules/baseline-spike.ts, `pull.population_surge_<metric>`) emit instead of per-identity alerts.
 */
const KNOWN_FINDING_RULE_IDS: readonly string[] = [
  ...rules.keys(),
  STORAGE_RULE,
  STORAGE_STALE_RULE,
  'pull.population_surge_pulls',
  'pull.population_surge_bytes',
];

const noHttp: HttpClient = {
  post: async () => {
    throw new Error('dry run: nothing is sent');
  },
  close: async () => {},
};

export function register(program: Command): void {
  const alerts = program.command('alerts').description('Alert routing tools');
  alerts
    .command('test')
    .description('render what each receiver would get for the given findings, without sending anything')
    .requiredOption('-f, --finding <file>', 'finding(s): JSON object, JSON array or NDJSON')
    .option('-c, --config <file>', 'alerts config (YAML/JSON); default: console receiver')
    .action(async (o: { finding: string; config?: string }) => {
      // Without --config: what `regwatch run` uses (console receiver on stderr), so targets shown are the real ones.
      const config = await loadEmbeddedAlertsConfig(o.config, process.env);
      const findings = await readFindings(o.finding);
      const start = Math.max(...findings.map((f) => Date.parse(f.detected_at)));
      const clock = createFakeClock(start);
      const real = createDeliverer({
        config,
        channels,
        http: noHttp,
        clock,
        logger: silentLogger(),
        sink: createMemoryDeliveriesSink(),
        render: config.global.alerts_url ? { alertsUrl: config.global.alerts_url } : {},
        instanceId: 'dry-run',
      });
      const rendered: unknown[] = [];
      const dry: Deliverer = {
        ...real,
        async deliver(n, _done, onDone) {
          rendered.push({
            receiver: n.receiver,
            group_key: n.groupKey,
            notification_key: n.key,
            status: n.status,
            alerts: n.firing.length + n.resolved.length,
            requests: real.preview(n),
          });
          for (let i = 0; i < (config.receivers.find((r) => r.name === n.receiver)?.channels.length ?? 0); i++)
            await onDone(i);
          return [];
        },
      };
      const engine = createEngine({
        config,
        store: createMemoryStore(),
        clock,
        logger: silentLogger(),
        deliverer: dry,
        instanceId: 'dry-run',
      });
      await engine.ingest(findings);
      // Run the clock past the longest group_wait so every group produces its first notification (and no repeats).
      const maxWait = Math.max(...[...indexRoutes(buildRouteTree(config)).values()].map((r) => r.groupWaitMs));
      await engine.tick();
      await engine.idle();
      await clock.advance(maxWait);
      await engine.tick();
      await engine.idle();
      for (const r of rendered) process.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
      process.stderr.write(`${findings.length} finding(s) → ${rendered.length} notification(s); nothing was sent\n`);
    });
  alerts
    .command('send-report')
    .description('deliver the capacity report written by `regwatch report` (capacity.md/.html/.png) to a receiver')
    .requiredOption('-d, --dir <dir>', 'directory holding capacity.md, capacity.html and capacity.png')
    .requiredOption('-c, --config <file>', 'alerts config (YAML/JSON)')
    .requiredOption('-r, --receiver <name>', 'receiver to deliver to')
    .option('--link <url>', 'where the report is published (shown by channels that cannot carry images)')
    .action(async (o: { dir: string; config: string; receiver: string; link?: string }) => {
      const config = await loadAlertsConfigFile(o.config, process.env);
      if (!config.receivers.some((r) => r.name === o.receiver))
        throw new AppError('CONFIG_INVALID', `no receiver "${o.receiver}" in ${o.config}`);
      const read = async (f: string): Promise<Buffer> => {
        try {
          return await readFile(join(o.dir, f));
        } catch (err) {
          throw new AppError('INPUT_UNREADABLE', `cannot read ${join(o.dir, f)}: ${(err as Error).message}`);
        }
      };
      const [md, html, png] = await Promise.all([read('capacity.md'), read('capacity.html'), read('capacity.png')]);
      const title = /^#+\s*(.+)$/m.exec(md.toString('utf8'))?.[1]?.trim() ?? 'Registry capacity report';
      const http = createHttpClient();
      const deliverer = createDeliverer({
        config,
        channels,
        http,
        clock: systemClock,
        logger: createLogger('regwatch-cli', { level: 'warn', destination: process.stderr as never }),
        sink: createMemoryDeliveriesSink(),
        render: {},
        instanceId: 'cli',
      });
      const results = await deliverCapacityReport(
        deliverer,
        { title, markdown: md.toString('utf8'), html: html.toString('utf8'), png },
        o.receiver,
        Date.now(),
        o.link,
      );
      await http.close();
      const out = results.map((r) => ({
        channel: r.channel,
        destination: r.destination,
        outcome: r.outcome.kind,
        attempts: r.attempts,
        ...(r.outcome.kind !== 'ok' ? { code: r.outcome.code, error: r.outcome.error } : {}),
      }));
      process.stdout.write(`${JSON.stringify({ receiver: o.receiver, title, results: out })}\n`);
      const failedCount = out.filter((r) => r.outcome !== 'ok').length;
      process.stderr.write(
        `report "${title}" → ${o.receiver}: ${out.length - failedCount}/${out.length} channel(s) delivered\n`,
      );
      if (failedCount > 0)
        throw new AppError('ALERTS_CHANNEL_REJECTED', `${failedCount} channel(s) failed; see stdout`);
    });
  alerts
    .command('check-config')
    .description('validate an alerts config file and list every problem')
    .requiredOption('-c, --config <file>', 'alerts config (YAML/JSON)')
    .action(async (o: { config: string }) => {
      const c = await loadAlertsConfigFile(o.config, process.env);
      const warnings = unknownRuleMatcherWarnings(c, KNOWN_FINDING_RULE_IDS);
      for (const w of warnings) process.stderr.write(`warning: ${w}\n`);
      process.stdout.write(
        `${JSON.stringify({ ok: true, receivers: c.receivers.map((r) => r.name), inhibit_rules: c.inhibit_rules.length, time_intervals: c.time_intervals.map((t) => t.name), warnings })}\n`,
      );
      process.stderr.write(`${o.config}: valid${warnings.length ? ` (${warnings.length} warning(s))` : ''}\n`);
    });
}
