import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import { pino } from 'pino';
import { stringify as toYaml } from 'yaml';
import { startLocalRegistry, type LocalRegistry } from '../../shared/src/demo/registry.ts';
import {
  DEMO_DETECTION_CONFIG,
  generateDemoUsers,
  runDemoScenario,
  type DemoUsers,
} from '../../shared/src/demo/scenario.ts';
import { shipLogs, type LogShipper } from '../../shared/src/demo/ship-logs.ts';
import type { Credentials } from '../../shared/src/demo/skopeo.ts';
import { AppError } from '../../shared/src/errors.ts';
import { createLogger } from '../../shared/src/logger.ts';
import type { Finding } from '../../shared/src/model/finding.ts';
import { loadEmbeddedConfig } from '../../services/embedded/src/config.ts';
import { startEmbedded, type Embedded } from '../../services/embedded/src/pipeline.ts';
import { dataDirLayout } from '../../services/embedded/src/data-dir.ts';

const collect = (v: string, prev: string[] = []): string[] => [...prev, v];

function parseUser(s: string): Credentials {
  const i = s.indexOf(':');
  if (i <= 0 || i === s.length - 1)
    throw new AppError('CONFIG_INVALID', `--user must be name:password, got "${s.slice(0, Math.max(0, i)) || s}:…"`);
  return { user: s.slice(0, i), password: s.slice(i + 1) };
}

/** Maps `--user` values onto the demo's roles: owner A, owner B, reader, crawler (last). */
export function usersFromFlags(values: readonly string[]): DemoUsers {
  const u = values.map(parseUser);
  if (u.length < 2)
    throw new AppError(
      'CONFIG_INVALID',
      'with --registry give at least two --user name:password (team A owner, team B owner[, reader][, crawler])',
    );
  return { alice: u[0]!, bob: u[1]!, carol: u[2] ?? u[0]!, mallory: u[3] ?? u[u.length - 1]! };
}

function parseDuration(v: unknown): number {
  const n = Number(v ?? 180);
  if (!Number.isFinite(n) || n < 5 || n > 3600)
    throw new AppError('CONFIG_INVALID', `--duration must be seconds between 5 and 3600, got "${String(v)}"`);
  return n * 1000;
}

/**
 * `regwatch demo`: drives a real registry with skopeo as several users (normal traffic, then an
 * exfiltration-style crawl and a brute-force attempt) and shows the findings and alerts arrive.
 * Default: starts the Debian `docker-registry` on a free port (htpasswd users, notifications with
 * a bearer token, JSON logs) and the embedded pipeline in-process (findings NDJSON on stdout,
 * console alerts and progress on stderr). `--registry` drives an existing registry (compose);
 * `--receiver` sends the local registry's notifications and logs to a running regwatch receiver.
 */
export function register(program: Command): void {
  program
    .command('demo')
    .description(
      'drive a real registry with skopeo (normal traffic, a crawl, a brute force) and watch findings and alerts arrive',
    )
    .option('--duration <seconds>', 'total traffic time (default 180; tests use ~20)')
    .option('--registry <host:port>', 'drive this registry (e.g. the compose one) instead of starting docker-registry')
    .option(
      '--user <name:password>',
      'registry user for --registry, repeatable: team A owner, team B owner, reader, crawler',
      collect,
    )
    .option(
      '--receiver <url>',
      "send the local registry's notifications and logs to this regwatch receiver instead of an in-process pipeline",
    )
    .option('--token <token>', 'bearer token of --receiver')
    .option('--repos <n>', 'repositories per team (default 16)')
    .option(
      '--data-dir <dir>',
      'state directory of the in-process pipeline, kept after the demo (default: a new temporary directory, also kept)',
    )
    .option('--wait <seconds>', 'after the traffic, how long to wait for findings and the alert (default 60)')
    .action(async (opts: Record<string, unknown>) => {
      const durationMs = parseDuration(opts['duration']);
      const repos = opts['repos'] === undefined ? 16 : Number(opts['repos']);
      if (!Number.isInteger(repos) || repos < 1 || repos > 500)
        throw new AppError('CONFIG_INVALID', `--repos must be an integer 1..500, got "${String(opts['repos'])}"`);
      const waitMs = Number(opts['wait'] ?? 60) * 1000;
      if (!Number.isFinite(waitMs) || waitMs < 0) throw new AppError('CONFIG_INVALID', `--wait must be seconds ≥ 0`);
      const external =
        typeof opts['registry'] === 'string'
          ? opts['registry'].replace(/^https?:\/\//, '').replace(/\/+$/, '')
          : undefined;
      const receiverUrl = typeof opts['receiver'] === 'string' ? opts['receiver'] : undefined;
      const token = typeof opts['token'] === 'string' ? opts['token'] : undefined;
      if (external && receiverUrl)
        throw new AppError(
          'CONFIG_INVALID',
          '--registry and --receiver exclude each other (an external registry already notifies its own receiver)',
        );
      const users = external ? usersFromFlags((opts['user'] as string[] | undefined) ?? []) : generateDemoUsers();

      const out = process.stderr;
      const say = (s: string): void => void out.write(`${s}\n`);
      const log = createLogger('regwatch-demo', {
        level: 'warn',
        destination: pino.destination({ dest: 2, sync: false }),
      });
      const root = mkdtempSync(join(tmpdir(), 'regwatch-demo-'));
      const abort = new AbortController();
      const onSignal = (): void => abort.abort();
      process.once('SIGINT', onSignal);
      process.once('SIGTERM', onSignal);

      let embedded: Embedded | null = null;
      let registry: LocalRegistry | null = null;
      let shipper: LogShipper | null = null;
      const findings: Finding[] = [];
      let alertsOk = 0;
      let keptDataDir: string | null = null;
      try {
        say('regwatch demo: a real registry, a real client (skopeo), several users, and regwatch watching.');
        let host: string;
        if (external) {
          host = external;
          say(`  registry   ${host} (external; its notifications and logs go to the regwatch it is configured for)`);
          say(
            '  look at    the findings in Kibana (Security overview dashboard) and the alert in your channel (Mailpit in compose)',
          );
        } else {
          const regDir = join(root, 'registry');
          mkdirSync(regDir, { recursive: true });
          const logFile = join(regDir, 'registry.log');
          writeFileSync(logFile, '');
          const notifyToken = token ?? randomBytes(18).toString('base64url');
          let notifyUrl: string;
          if (receiverUrl) {
            notifyUrl = `${receiverUrl.replace(/\/+$/, '')}/v1/notifications`;
          } else {
            // The data dir outlives the demo (its delivery records, findings state and storage are
            // printed below): --data-dir, else a new temporary directory that is kept.
            const dataDir =
              typeof opts['dataDir'] === 'string'
                ? opts['dataDir']
                : mkdtempSync(join(tmpdir(), 'regwatch-demo-data-'));
            keptDataDir = dataDir;
            const detectionFile = join(root, 'detection.yml');
            writeFileSync(detectionFile, toYaml(DEMO_DETECTION_CONFIG));
            const config = loadEmbeddedConfig(
              {
                port: 0,
                // Any free port, so the demo runs next to a `regwatch run` on the default 9095.
                alertsPort: 0,
                tokens: [notifyToken],
                dataDir,
                follow: [logFile],
                detectionConfig: detectionFile,
                logLevel: 'warn',
              },
              {},
            );
            embedded = await startEmbedded(config, {
              logger: log,
              onFinding: (f) => {
                findings.push(f);
                say(
                  `  >> finding  ${f.severity.toUpperCase()} ${f.rule} ${f.entity.type}:${f.entity.id} — ${f.message}`,
                );
              },
              onDelivery: (r) => {
                if (r.oci_registry.alert.final && r.oci_registry.alert.result === 'ok') alertsOk++;
              },
            });
            notifyUrl = `${embedded.url}/v1/notifications`;
            say(`  pipeline   in-process (regwatch run): receiver ${embedded.url}, data ${embedded.layout.root}`);
            say(`             findings → stdout (NDJSON); alerts → console on stderr (after a 10 s group wait)`);
            if (embedded.alertsApi)
              say(
                `             silences API ${embedded.alertsApi.url} while the demo runs (regwatch silence … --data-dir ${embedded.layout.root})`,
              );
          }
          registry = await startLocalRegistry({
            workDir: regDir,
            users: Object.values(users),
            notifications: { url: notifyUrl, token: notifyToken },
            logger: log,
          });
          say(
            `  registry   ${registry.url} (docker-registry, htpasswd users ${Object.values(users)
              .map((u) => u.user)
              .join(', ')}; JSON log ${registry.logFile})`,
          );
          say(`             notifications → ${notifyUrl} (bearer token)`);
          if (receiverUrl) {
            shipper = await shipLogs({ file: logFile, receiverUrl, ...(token ? { token } : {}), logger: log });
            say(`             log lines → ${receiverUrl}/v1/logs (shipped by the demo, as Fluent Bit would)`);
          } else {
            say('             log lines → followed by the pipeline (regwatch run --follow)');
          }
          host = registry.host;
        }
        say(`  duration   ${durationMs / 1000} s of traffic\n`);
        const summary = await runDemoScenario({
          host,
          users,
          workDir: join(root, 'work'),
          durationMs,
          reposPerTeam: repos,
          onProgress: (p) => say(`[${p.phase}] ${p.message}`),
          signal: abort.signal,
        });
        say(
          `\ntraffic: ${summary.pushes} pushes, ${summary.normalPulls} normal pulls, ${summary.exfilPulls} crawl pulls, ${summary.failedLogins} failed logins` +
            (summary.unexpectedFailures ? `, ${summary.unexpectedFailures} unexpected skopeo failures` : ''),
        );
        if (embedded && !abort.signal.aborted) {
          say(`waiting up to ${waitMs / 1000} s for the findings and the alert…`);
          const until = Date.now() + waitMs;
          // Every finding is its own alert group (group_by rule, entity): wait for one notification per group.
          const groups = (): number => new Set(findings.map((f) => `${f.rule}|${f.entity.type}:${f.entity.id}`)).size;
          const wanted = (): boolean =>
            findings.some((f) => f.rule.startsWith('auth.')) &&
            findings.some((f) => f.rule === 'repo.crawl' || f.rule.startsWith('pull.')) &&
            alertsOk >= groups();
          while (Date.now() < until && !wanted() && !abort.signal.aborted) await new Promise((r) => setTimeout(r, 250));
          const byRule = new Map<string, number>();
          for (const f of findings) byRule.set(f.rule, (byRule.get(f.rule) ?? 0) + 1);
          say(
            `\nresult: ${findings.length} finding(s) ${[...byRule].map(([r, n]) => `${r}×${n}`).join(', ') || '(none)'}; ${alertsOk} alert notification(s) delivered`,
          );
          say(
            `look at: the NDJSON findings on stdout, the [FIRING] alerts above, delivery records in ${embedded.layout.deliveries}`,
          );
          if (!wanted()) say('not everything expected arrived in time (try a longer --wait).');
        } else if (!embedded) {
          say('done: check the receiver side for findings and the alert.');
        }
      } finally {
        process.removeListener('SIGINT', onSignal);
        process.removeListener('SIGTERM', onSignal);
        if (shipper) await shipper.stop();
        if (registry) await registry.stop();
        if (embedded) await embedded.stop();
        log.flush();
        // The scratch directory (registry storage and log, image layouts) goes; the data dir stays.
        rmSync(root, { recursive: true, force: true });
        if (keptDataDir) {
          const layout = dataDirLayout(keptDataDir);
          say(
            `\nkept the pipeline's data in ${layout.root}:\n` +
              `  delivery records  ${layout.deliveries}\n` +
              `  alert state       ${join(layout.alerts, 'alerts.db')}\n` +
              `  bus logs          ${layout.bus} (findings: ${join(layout.bus, 'topics', 'regwatch.findings')})\n` +
              `  resume with       regwatch run --data-dir ${layout.root}\n` +
              `  remove with       rm -rf ${layout.root}\n` +
              `(the registry's storage and log in ${root} were removed)`,
          );
        }
      }
    });
}
