import type { Command } from 'commander';
import { pino } from 'pino';
import { AppError } from '../../shared/src/errors.ts';
import { createLogger, type Logger } from '../../shared/src/logger.ts';
import { loadEmbeddedConfig, type EmbeddedConfig } from '../../services/embedded/src/config.ts';
import { startEmbedded, type Embedded } from '../../services/embedded/src/pipeline.ts';

const collect = (v: string, prev: string[] = []): string[] => [...prev, v];

/**
 * A second signal within this many ms of the first is the same Ctrl-C delivered twice (terminal
 * process group + npm's forwarded copy) and is ignored; a later one forces the exit.
 */
const SIGNAL_ECHO_MS = 1500;

/** Exit status after a fatal signal, shell convention 128 + signal number (SIGINT 130, SIGTERM 143). */
export function signalExitCode(s: 'SIGINT' | 'SIGTERM'): number {
  return s === 'SIGINT' ? 130 : 143;
}

/** Human start-up summary (stderr): what listens where, where data and findings go. */
export function startBanner(config: EmbeddedConfig, e: Embedded): string {
  const lines = ['regwatch run: embedded pipeline started (receiver → normalize → detect → alert, in-process bus)'];
  if (e.url) {
    lines.push(
      `  receiver   ${e.url}  (POST /v1/notifications, /v1/logs, /v1/harbor, /v1/storage; GET /healthz /readyz /metrics)`,
    );
    lines.push(
      `             auth: ${config.tokens.length > 0 ? `bearer token (${config.tokens.length} configured)` : 'none (loopback only)'}`,
    );
    lines.push(`             registry config: notifications.endpoints[].url = ${e.url}/v1/notifications`);
  } else lines.push('  receiver   off');
  for (const f of config.follow) lines.push(`  following  ${f}`);
  for (const f of config.input) lines.push(`  read once  ${f}`);
  if (e.alertsApi) {
    lines.push(
      `  silences   ${e.alertsApi.url}  (regwatch silence add|list|expire; token ${e.alertsApi.tokenFile ?? 'configured (--alerts-token / REGWATCH_ALERTS_TOKEN)'})`,
    );
  } else lines.push('  silences   off (no silences API)');
  lines.push(`  data       ${e.layout.root}  (bus ${e.layout.bus}, alert state ${e.layout.alerts})`);
  lines.push(
    `  storage    POST /v1/storage samples → ${e.layout.storage}  (forecast "${config.storageCron}"; regwatch report capacity --data-dir ${e.layout.root})`,
  );
  lines.push(`  findings   ${config.findings ?? 'stdout (NDJSON)'}`);
  lines.push(
    `  alerts     ${config.alertsConfig ?? 'console channel on stderr (default)'}; delivery records ${e.layout.deliveries}`,
  );
  lines.push('  stop with Ctrl-C (SIGINT) or SIGTERM: inputs stop, in-flight work finishes, state is saved.');
  return `${lines.join('\n')}\n`;
}

/**
 * `regwatch run`: the embedded default — receiver, normalizer, detector and alerts in one process
 * over an in-process bus with state under `--data-dir`. Findings as NDJSON on stdout (or
 * `--findings FILE`); logs (pino JSON), the start banner and console alerts on stderr.
 * Settings also come from `REGWATCH_*` variables (see services/embedded/src/config.ts).
 * Resolves after a graceful shutdown on SIGINT/SIGTERM.
 */
export function register(program: Command): void {
  program
    .command('run')
    .description(
      'run the whole pipeline in one process (embedded default): receiver, normalize, detect, alert; findings as NDJSON',
    )
    .option('--host <addr>', 'receiver listen address [REGWATCH_HOST] (default 127.0.0.1)')
    .option('--port <n>', 'receiver listen port, 0 = any free [REGWATCH_PORT] (default 8080)')
    .option('--token <token>', 'accepted bearer token, repeatable [REGWATCH_TOKENS, comma list]', collect)
    .option(
      '--body-limit-bytes <n>',
      'largest request body the receiver accepts, bytes [REGWATCH_BODY_LIMIT_BYTES] (default 4194304)',
    )
    .option('--no-receiver', 'do not run the HTTP receiver (only --follow/--input) [REGWATCH_RECEIVER=off]')
    .option('--data-dir <dir>', 'state directory [REGWATCH_DATA_DIR] (default .data)')
    .option('--follow <file>', 'registry log file to tail (rotation handled), repeatable [REGWATCH_FOLLOW]', collect)
    .option(
      '--input <file>',
      'recorded input file to read once, repeatable; a restart skips or resumes it [REGWATCH_INPUT]',
      collect,
    )
    .option('--findings <file>', 'append findings NDJSON to this file instead of stdout [REGWATCH_FINDINGS]')
    .option(
      '--alerts-config <file>',
      'alerts configuration (YAML/JSON) [REGWATCH_ALERTS_CONFIG] (default: console on stderr)',
    )
    .option('--detection-config <file>', 'detection configuration (YAML/JSON) [REGWATCH_DETECTION_CONFIG]')
    .option('--alerts-host <addr>', 'silences API listen address [REGWATCH_ALERTS_HOST] (default 127.0.0.1)')
    .option('--alerts-port <n>', 'silences API listen port, 0 = any free [REGWATCH_ALERTS_PORT] (default 9095)')
    .option(
      '--alerts-token <token>',
      'silences API bearer token, 16+ chars, repeatable [REGWATCH_ALERTS_TOKEN, comma list] (default: generated into <data-dir>/alerts-api.token)',
      collect,
    )
    .option('--no-alerts-api', 'do not run the silences API [REGWATCH_ALERTS_API=off]')
    .option(
      '--storage-cron <cron>',
      'when the storage exhaustion forecast runs [REGWATCH_STORAGE_CRON] (default "20 */6 * * *")',
    )
    .option(
      '--storage-stale-after <duration>',
      'raise storage.data_stale instead of capacity findings when a scope has no sample for this long, e.g. 36h [REGWATCH_STORAGE_STALE_AFTER] (default: max(1 day, 2 × sampling interval))',
    )
    .option('--partitions <n>', 'partitions of the in-process topics [REGWATCH_PARTITIONS] (default 3)')
    .option('--log-level <level>', 'pino log level, logs go to stderr [REGWATCH_LOG_LEVEL] (default info)')
    .option(
      '--kibana-url <url>',
      'Kibana base URL for the Discover link of each finding [REGWATCH_KIBANA_URL] (default: none, or settings.kibanaUrl of --detection-config)',
    )
    .option(
      '--shutdown-timeout <ms>',
      'max time for the graceful shutdown, ms [REGWATCH_SHUTDOWN_TIMEOUT_MS] (default 20000)',
    )
    .action(async (opts: Record<string, unknown>) => {
      const config = loadEmbeddedConfig(
        {
          host: opts['host'],
          port: opts['port'],
          tokens: opts['token'],
          bodyLimitBytes: opts['bodyLimitBytes'],
          receiver: opts['receiver'] === false ? 'off' : undefined,
          dataDir: opts['dataDir'],
          follow: opts['follow'],
          input: opts['input'],
          findings: opts['findings'],
          alertsConfig: opts['alertsConfig'],
          detectionConfig: opts['detectionConfig'],
          alertsApi: opts['alertsApi'] === false ? 'off' : undefined,
          alertsHost: opts['alertsHost'],
          alertsPort: opts['alertsPort'],
          alertsToken: opts['alertsToken'],
          storageCron: opts['storageCron'],
          storageStaleAfter: opts['storageStaleAfter'],
          partitions: opts['partitions'],
          logLevel: opts['logLevel'],
          kibanaUrl: opts['kibanaUrl'],
          shutdownTimeoutMs: opts['shutdownTimeout'],
        },
        process.env,
      );
      const log: Logger = createLogger('regwatch-run', {
        level: config.logLevel,
        destination: pino.destination({ dest: 2, sync: false }),
      });
      let embedded: Embedded;
      let signal: string | null = null;
      let wake: (() => void) | null = null;
      let starting = true;
      const abort = new AbortController();
      let signalAt = 0;
      const onSignal = (s: 'SIGINT' | 'SIGTERM'): void => {
        if (signal) {
          // The same Ctrl-C twice: a terminal signals the whole foreground process group and
          // `npm start` forwards its own copy too, so both arrive within milliseconds. Not a
          // request to hurry.
          if (Date.now() - signalAt < SIGNAL_ECHO_MS) return;
          // A second signal: the user wants out now (state may be behind; the lock is stale-safe).
          process.stderr.write(`regwatch run: second ${s}: exiting without a clean shutdown\n`);
          process.exit(signalExitCode(s));
        }
        signal = s;
        signalAt = Date.now();
        abort.abort();
        if (starting) {
          process.stderr.write(`regwatch run: ${s} during start-up: stopping as soon as start-up ends\n`);
          // Start-up waits on nothing unbounded, but never let a signal be ignored.
          setTimeout(() => {
            process.stderr.write(
              `regwatch run: start-up did not end within ${config.shutdownTimeoutMs} ms after ${s}; exiting\n`,
            );
            process.exit(signalExitCode(s));
          }, config.shutdownTimeoutMs).unref();
        }
        wake?.();
      };
      process.on('SIGINT', () => onSignal('SIGINT'));
      process.on('SIGTERM', () => onSignal('SIGTERM'));
      try {
        embedded = await startEmbedded(config, { logger: log, env: process.env, signal: abort.signal });
      } catch (err) {
        log.flush();
        throw err instanceof AppError
          ? err
          : new AppError('EMBEDDED_START_FAILED', (err as Error).message, { cause: err });
      } finally {
        starting = false;
      }
      process.stderr.write(startBanner(config, embedded));
      log.info({ url: embedded.url, dataDir: embedded.layout.root }, 'regwatch run started');
      if (!signal) await new Promise<void>((resolve) => (wake = resolve));
      process.stderr.write(
        `regwatch run: ${signal}: shutting down (inputs → normalize → detector → alerts → outputs)\n`,
      );
      const timer = setTimeout(() => {
        process.stderr.write(`regwatch run: shutdown did not finish within ${config.shutdownTimeoutMs} ms; exiting\n`);
        process.exit(1);
      }, config.shutdownTimeoutMs);
      timer.unref();
      await embedded.stop();
      clearTimeout(timer);
      log.info('regwatch run stopped');
      log.flush();
      process.stderr.write('regwatch run: stopped cleanly; state saved in ' + embedded.layout.root + '\n');
    });
}
