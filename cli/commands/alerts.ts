import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { AppError } from '../../shared/src/errors.ts';
import { silentLogger } from '../../shared/src/logger.ts';
import { findingSchema, type Finding } from '../../shared/src/model/finding.ts';
import { createFakeClock } from '../../services/alerts/src/clock.ts';
import { DEFAULT_ALERTS_CONFIG_TEXT, loadAlertsConfigFile, parseAlertsConfig } from '../../services/alerts/src/config.ts';
import type { Deliverer } from '../../services/alerts/src/delivery.ts';
import { createDeliverer } from '../../services/alerts/src/delivery.ts';
import { createEngine } from '../../services/alerts/src/engine.ts';
import { buildRouteTree, indexRoutes } from '../../services/alerts/src/route.ts';
import { createMemoryStore } from '../../services/alerts/src/store/memory.ts';
import { createMemoryDeliveriesSink } from '../../services/alerts/src/deliveries.ts';
import { channels } from '../../services/alerts/src/channels/index.ts';
import type { HttpClient } from '../../services/alerts/src/http.ts';

/** Reads findings from a file: one JSON object, a JSON array, or NDJSON. @throws AppError INPUT_UNREADABLE / CONFIG_INVALID-like input errors. */
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
    raw = t.startsWith('[') ? (JSON.parse(t) as unknown[]) : t.startsWith('{') && !t.includes('\n{') ? [JSON.parse(t)] : t.split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l) as unknown);
  } catch (err) {
    throw new AppError('INPUT_UNREADABLE', `${path} is not JSON / NDJSON: ${(err as Error).message}`);
  }
  const problems: string[] = [];
  const out: Finding[] = [];
  raw.forEach((r, i) => {
    const p = findingSchema.safeParse(r);
    if (p.success) out.push(p.data);
    else problems.push(...p.error.issues.map((x) => `finding ${i + 1}: ${x.path.join('.')}: ${x.message}`));
  });
  if (problems.length) throw new AppError('INPUT_UNREADABLE', `invalid finding(s) in ${path}:\n  - ${problems.join('\n  - ')}`);
  return out;
}

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
      const config = o.config ? await loadAlertsConfigFile(o.config, process.env) : parseAlertsConfig(DEFAULT_ALERTS_CONFIG_TEXT);
      const findings = await readFindings(o.finding);
      const start = Math.max(...findings.map((f) => Date.parse(f.detected_at)));
      const clock = createFakeClock(start);
      const real = createDeliverer({ config, channels, http: noHttp, clock, logger: silentLogger(), sink: createMemoryDeliveriesSink(), render: config.global.alerts_url ? { alertsUrl: config.global.alerts_url } : {}, instanceId: 'dry-run' });
      const rendered: unknown[] = [];
      const dry: Deliverer = {
        ...real,
        async deliver(n, _done, onDone) {
          rendered.push({ receiver: n.receiver, group_key: n.groupKey, notification_key: n.key, status: n.status, alerts: n.firing.length + n.resolved.length, requests: real.preview(n) });
          for (let i = 0; i < (config.receivers.find((r) => r.name === n.receiver)?.channels.length ?? 0); i++) await onDone(i);
          return [];
        },
      };
      const engine = createEngine({ config, store: createMemoryStore(), clock, logger: silentLogger(), deliverer: dry, instanceId: 'dry-run' });
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
    .command('check-config')
    .description('validate an alerts config file and list every problem')
    .requiredOption('-c, --config <file>', 'alerts config (YAML/JSON)')
    .action(async (o: { config: string }) => {
      const c = await loadAlertsConfigFile(o.config, process.env);
      process.stdout.write(`${JSON.stringify({ ok: true, receivers: c.receivers.map((r) => r.name), inhibit_rules: c.inhibit_rules.length, time_intervals: c.time_intervals.map((t) => t.name) })}\n`);
      process.stderr.write(`${o.config}: valid\n`);
    });
}
