import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import type { Command } from 'commander';
import { SingleBar, Presets } from 'cli-progress';
import { parse as parseYaml } from 'yaml';
import { AppError } from '../../shared/src/errors.ts';
import { SEVERITIES } from '../../shared/src/model/finding.ts';
import { createEngine, parseDetectionConfig } from '../../services/detector/src/config.ts';
import {
  analyzeInputs,
  newSummary,
  type AnalyzeInput,
  type AnalyzeSummary,
} from '../../services/detector/src/pipeline/analyze.ts';

/** Parses an ISO 8601 / date option to ms. @throws AppError CONFIG_INVALID naming the option. */
export function parseTimeOption(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const t = Date.parse(v);
  if (!Number.isFinite(t)) throw new AppError('CONFIG_INVALID', `${name} must be an ISO 8601 time, got "${v}"`);
  return t;
}

/** Reads a detection config file (YAML or JSON), or returns {} without one. */
export async function readDetectionConfigFile(path: string | undefined): Promise<unknown> {
  if (!path) return {};
  try {
    return parseYaml(await readFile(path, 'utf8')) ?? {};
  } catch (err) {
    throw new AppError('INPUT_UNREADABLE', `cannot read detection config ${path}: ${(err as Error).message}`, {
      cause: err,
    });
  }
}

/** Prints the per-rule × severity summary table to stderr. */
export function printSummary(s: AnalyzeSummary, out: NodeJS.WritableStream = process.stderr): void {
  const sev = [...SEVERITIES];
  const rows = [...s.byRule].sort((a, b) => a[0].localeCompare(b[0]));
  const w = Math.max(28, ...rows.map(([r]) => r.length));
  const line = (cells: string[]): string =>
    cells[0]!.padEnd(w) +
    cells
      .slice(1)
      .map((c) => c.padStart(9))
      .join('') +
    '\n';
  out.write(
    `\nregwatch analyze: ${s.lines} lines, ${s.events} events (${s.rejected} rejected, ${s.ignored} ignored, ${s.duplicates} duplicates, ${s.joined} notification+log joins, ${s.late} late), ${s.findings} findings\n`,
  );
  out.write(line(['rule', ...sev, 'total']));
  for (const [rule, m] of rows) {
    const counts = sev.map((x) => m.get(x) ?? 0);
    out.write(line([rule, ...counts.map(String), String(counts.reduce((a, b) => a + b, 0))]));
  }
  if (s.rejects.length) {
    out.write(`first rejected inputs:\n`);
    for (const r of s.rejects.slice(0, 5))
      out.write(`  ${r.origin}:${r.line} ${r.reason}: ${r.detail.slice(0, 120)}\n`);
  }
}

/**
 * `regwatch analyze [FILES...|-]`: runs the streaming detection over recorded input in event-time
 * order; findings as NDJSON on stdout, a summary table (and a progress bar on a TTY) on stderr.
 */
export function register(program: Command): void {
  program
    .command('analyze')
    .description(
      'run detection over recorded registry input (logs, notifications, Harbor payloads, normalized events); findings as NDJSON',
    )
    .argument('[files...]', 'input files; - or none for stdin')
    .option('--from <time>', 'report findings whose window starts at or after this ISO 8601 time')
    .option('--to <time>', 'report findings whose window starts before this ISO 8601 time')
    .option('--config <file>', 'detection config (YAML/JSON): settings and rules.params / rules.disabled')
    .option('--kibana-url <url>', 'Kibana base URL for Discover links')
    .option('--tz <zone>', 'default IANA time zone for usual hours')
    .option('--chunk-size <n>', 'events per in-memory sort run before spilling to disk', '250000')
    .option('--quiet', 'no summary on stderr')
    .action(
      async (
        files: string[],
        opts: {
          from?: string;
          to?: string;
          config?: string;
          kibanaUrl?: string;
          tz?: string;
          chunkSize: string;
          quiet?: boolean;
        },
      ) => {
        const from = parseTimeOption('--from', opts.from);
        const to = parseTimeOption('--to', opts.to);
        const chunkSize = Number(opts.chunkSize);
        if (!Number.isInteger(chunkSize) || chunkSize < 1)
          throw new AppError('CONFIG_INVALID', '--chunk-size must be a positive integer');
        const raw = (await readDetectionConfigFile(opts.config)) as { settings?: Record<string, unknown> };
        const settings = { ...(raw.settings ?? {}) };
        if (opts.kibanaUrl) settings.kibanaUrl = opts.kibanaUrl;
        if (opts.tz) settings.defaultZone = opts.tz;
        const cfg = parseDetectionConfig({ ...raw, settings });
        let engine;
        try {
          engine = createEngine(cfg);
        } catch (err) {
          throw new AppError('CONFIG_INVALID', `invalid detection settings: ${(err as Error).message}`, { cause: err });
        }
        const names = files.length ? files : ['-'];
        let total = 0;
        const inputs: AnalyzeInput[] = [];
        for (const name of names) {
          if (name === '-') {
            inputs.push({ name, stream: process.stdin });
            continue;
          }
          try {
            total += (await stat(name)).size;
          } catch (err) {
            throw new AppError('INPUT_UNREADABLE', `cannot read ${name}: ${(err as Error).message}`, { cause: err });
          }
          inputs.push({ name, stream: createReadStream(name) });
        }
        const bar =
          process.stderr.isTTY && total > 0 && !opts.quiet
            ? new SingleBar(
                { stream: process.stderr, format: 'reading [{bar}] {percentage}% | {value}/{total} bytes' },
                Presets.shades_classic,
              )
            : undefined;
        bar?.start(total, 0);
        const summary = newSummary();
        const pending: string[] = [];
        for await (const f of analyzeInputs(inputs, engine, summary, {
          from,
          to,
          chunkSize,
          onProgress: (n) => bar?.update(Math.min(n, total)),
        })) {
          bar?.stop();
          pending.push(JSON.stringify(f) + '\n');
          if (pending.length >= 256) {
            if (!process.stdout.write(pending.join('')))
              await new Promise<void>((r) => process.stdout.once('drain', () => r()));
            pending.length = 0;
          }
        }
        bar?.stop();
        if (pending.length) process.stdout.write(pending.join(''));
        if (!opts.quiet) printSummary(summary);
      },
    );
}
