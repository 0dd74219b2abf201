import type { Command } from 'commander';
import { AppError } from '../../shared/src/errors.ts';
import type { Client } from '@elastic/elasticsearch';
import { createEsClient, esConfigSchema, redactedNodes } from '../../shared/src/es/client.ts';
import { EVENTS_INDEX_PATTERN } from '../../shared/src/es/names.ts';
import type { Finding } from '../../shared/src/model/finding.ts';
import { createEngine, parseDetectionConfig } from '../../services/detector/src/config.ts';
import { newSummary } from '../../services/detector/src/pipeline/analyze.ts';
import { perDayPerRule, replayFromElasticsearch } from '../../services/detector/src/pipeline/replay.ts';
import { parseTimeOption, printSummary, readDetectionConfigFile } from './analyze.ts';

/**
 * How many indices, aliases and data streams `pattern` (comma list, wildcards) resolves to
 * (`GET _resolve/index/<pattern>`). 0 for a name that does not exist (404).
 * @returns the count, or null when the cluster could not answer (replay reports that itself).
 */
export async function matchedIndexCount(client: Client, pattern: string): Promise<number | null> {
  try {
    const r = await client.indices.resolveIndex({ name: pattern, expand_wildcards: ['open'] });
    return r.indices.length + r.aliases.length + r.data_streams.length;
  } catch (err) {
    if ((err as { meta?: { statusCode?: number } }).meta?.statusCode === 404) return 0;
    return null;
  }
}

/**
 * `regwatch replay --from … --to …`: runs detection over Elasticsearch history and prints the
 * alerts it would have raised per day per rule (CSV `day,rule,findings,medium_or_above` on
 * stdout), or the findings themselves with `--format ndjson` — before a rule is enabled.
 */
export function register(program: Command): void {
  program
    .command('replay')
    .description('replay detection over Elasticsearch history; prints expected alerts per day per rule')
    .requiredOption('--from <time>', 'start of the reported window (ISO 8601)')
    .requiredOption('--to <time>', 'end of the reported window (ISO 8601)')
    .option('--es-url <url>', 'Elasticsearch URL (default $ES_URLS or http://127.0.0.1:9200)')
    .option('--index <pattern>', 'events index pattern', EVENTS_INDEX_PATTERN)
    .option('--warmup-days <n>', 'days of history before --from used to warm baselines up', '14')
    .option('--config <file>', 'detection config (YAML/JSON)')
    .option('--format <format>', 'csv (per day per rule) or ndjson (findings)', 'csv')
    .action(
      async (opts: {
        from: string;
        to: string;
        esUrl?: string;
        index: string;
        warmupDays: string;
        config?: string;
        format: string;
      }) => {
        const from = parseTimeOption('--from', opts.from)!;
        const to = parseTimeOption('--to', opts.to)!;
        if (to <= from) throw new AppError('CONFIG_INVALID', '--to must be after --from');
        if (opts.format !== 'csv' && opts.format !== 'ndjson')
          throw new AppError('CONFIG_INVALID', '--format must be csv or ndjson');
        const warmupDays = Number(opts.warmupDays);
        if (!(warmupDays >= 0)) throw new AppError('CONFIG_INVALID', '--warmup-days must be a non-negative number');
        const es = esConfigSchema.safeParse({
          nodes: opts.esUrl
            ? [opts.esUrl]
            : (process.env.ES_URLS ?? 'http://127.0.0.1:9200').split(',').map((u) => u.trim()),
          ...(process.env.ES_USERNAME ? { username: process.env.ES_USERNAME, password: process.env.ES_PASSWORD } : {}),
          ...(process.env.ES_API_KEY ? { apiKey: process.env.ES_API_KEY } : {}),
        });
        if (!es.success)
          throw new AppError(
            'CONFIG_INVALID',
            `invalid Elasticsearch settings: ${es.error.issues.map((i) => i.message).join('; ')}`,
          );
        const cfg = parseDetectionConfig(await readDetectionConfigFile(opts.config));
        const client = createEsClient(es.data);
        const summary = newSummary();
        const findings: Finding[] = [];
        try {
          if ((await matchedIndexCount(client, opts.index)) === 0)
            process.stderr.write(
              `regwatch replay: warning: index pattern "${opts.index}" matched no index, data stream or alias on ${redactedNodes(es.data).join(', ')}; nothing to replay (check --index, or run the pipeline / regwatch setup elasticsearch first)\n`,
            );
          for await (const f of replayFromElasticsearch(client, createEngine(cfg), summary, {
            index: opts.index,
            from,
            to,
            warmupDays,
          })) {
            if (opts.format === 'ndjson') process.stdout.write(JSON.stringify(f) + '\n');
            findings.push(f);
          }
        } finally {
          await client.close();
        }
        if (opts.format === 'csv') {
          process.stdout.write('day,rule,findings,medium_or_above\n');
          for (const r of perDayPerRule(findings))
            process.stdout.write(`${r.day},${r.rule},${r.findings},${r.mediumOrAbove}\n`);
        }
        printSummary(summary, process.stderr, 'replay');
      },
    );
}
