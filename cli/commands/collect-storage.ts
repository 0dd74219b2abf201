/**
 * `regwatch collect-storage --path DIR [--interval 5m] [--once] [--brokers h:p,...] [--topic-prefix P]
 *   [--data-dir DIR] [--harbor-url URL --harbor-project NAME ...]`
 * Measures the registry's storage root (statfs + byte accounting of docker/registry/v2/blobs and
 * repositories) and, optionally, Harbor project quotas; publishes each sample to `regwatch.storage`
 * (`<prefix>regwatch.storage` with --brokers; prefix from --topic-prefix or REGWATCH_TOPIC_PREFIX,
 * as the ingest service names its topics) or appends it to the local store under --data-dir, and prints it as NDJSON on
 * stdout. Harbor credentials come from HARBOR_USERNAME / HARBOR_PASSWORD.
 * S3-style backends cannot be measured here: post samples to the receiver instead
 * (`POST /v1/storage` with `{timestamp, used_bytes, capacity_bytes, scope}`).
 */
import type { Command } from 'commander';
import { AppError } from '../../shared/src/errors.ts';
import { createLogger } from '../../shared/src/logger.ts';
import { createKafkaBus } from '../../shared/src/bus/kafka.ts';
import { TOPICS } from '../../shared/src/topics.ts';
import { collectFilesystem } from '../../services/detector/src/storage/filesystem.ts';
import { collectHarborQuota } from '../../services/detector/src/storage/harbor.ts';
import { busSink, localStoreSink } from '../../services/detector/src/storage/sink.ts';
import type { StorageSampleRecord, StorageSink } from '../../services/detector/src/storage/types.ts';

/** Parses `30s`, `5m`, `1h` into ms. */
function intervalMs(raw: string): number {
  const m = /^(\d+(?:\.\d+)?)(s|m|h)$/.exec(raw.trim());
  if (!m) throw new AppError('CONFIG_INVALID', `--interval must look like 30s, 5m or 1h, got "${raw}"`);
  const n = Number(m[1]) * { s: 1000, m: 60_000, h: 3_600_000 }[m[2] as 's' | 'm' | 'h'];
  if (n < 1000) throw new AppError('CONFIG_INVALID', '--interval must be at least 1s');
  return n;
}

const collectList = (v: string, prev: string[]): string[] => [...prev, v];

export function register(program: Command): void {
  program
    .command('collect-storage')
    .description('measure registry storage (statfs + registry tree, Harbor quotas) and publish samples')
    .option('--path <dir>', "registry storage root (the filesystem driver's rootdirectory)")
    .option('--interval <duration>', 'time between samples', '5m')
    .option('--once', 'take one sample and exit')
    .option('--brokers <list>', 'Kafka brokers host:port,... (full mode: publish to regwatch.storage)')
    .option(
      '--topic-prefix <prefix>',
      'prefix of the topic name, as the ingest service REGWATCH_TOPIC_PREFIX',
      process.env.REGWATCH_TOPIC_PREFIX ?? '',
    )
    .option('--data-dir <dir>', 'local store for embedded mode', '.data')
    .option('--harbor-url <url>', 'Harbor base URL for project quota samples')
    .option('--harbor-project <name>', 'Harbor project (repeatable)', collectList, [])
    .action(
      async (opts: {
        path?: string;
        interval: string;
        once?: boolean;
        brokers?: string;
        topicPrefix: string;
        dataDir: string;
        harborUrl?: string;
        harborProject: string[];
      }) => {
        if (opts.path === undefined && opts.harborProject.length === 0) {
          throw new AppError('CONFIG_INVALID', 'give --path DIR and/or --harbor-url URL --harbor-project NAME');
        }
        if (opts.harborProject.length > 0 && opts.harborUrl === undefined)
          throw new AppError('CONFIG_INVALID', '--harbor-project needs --harbor-url');
        const every = intervalMs(opts.interval);
        let sink: StorageSink;
        if (opts.brokers) {
          const logger = createLogger('collect-storage', { destination: process.stderr });
          const bus = createKafkaBus({
            brokers: opts.brokers.split(',').map((s) => s.trim()),
            clientId: 'regwatch-collect-storage',
            logger,
          });
          const topic = `${opts.topicPrefix}${TOPICS.storage}`;
          await bus.ensureTopics([topic], 3);
          const pub = busSink(bus.publisher(), topic);
          sink = {
            write: pub.write,
            close: async () => {
              await pub.close();
              await bus.close();
            },
          };
        } else sink = localStoreSink(opts.dataDir);
        const harbor = {
          baseUrl: opts.harborUrl ?? '',
          username: process.env.HARBOR_USERNAME,
          password: process.env.HARBOR_PASSWORD,
        };
        const tick = async (): Promise<void> => {
          const now = new Date();
          const samples: StorageSampleRecord[] = [];
          if (opts.path !== undefined) samples.push(await collectFilesystem(opts.path, now));
          for (const p of opts.harborProject) samples.push(await collectHarborQuota(p, harbor, now));
          await sink.write(samples);
          for (const s of samples) process.stdout.write(JSON.stringify(s) + '\n');
        };
        try {
          await tick();
          if (opts.once) return;
          process.stderr.write(`collect-storage: sampling every ${opts.interval}; Ctrl-C to stop\n`);
          await new Promise<void>((resolve) => {
            const timer = setInterval(() => {
              tick().catch((err: unknown) => {
                // a failed sample is reported and retried at the next tick; nothing else is lost
                process.stderr.write(
                  `collect-storage: ${err instanceof AppError ? `${err.code}: ` : ''}${(err as Error).message}\n`,
                );
              });
            }, every);
            const stop = (): void => {
              clearInterval(timer);
              resolve();
            };
            process.once('SIGINT', stop);
            process.once('SIGTERM', stop);
          });
        } finally {
          await sink.close();
        }
      },
    );
}
