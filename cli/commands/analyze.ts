import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { DateTime } from 'luxon';
import { SingleBar, Presets } from 'cli-progress';
import { AppError } from '../../shared/src/errors.ts';
import { openInput } from '../../shared/src/io/open-input.ts';
import { SEVERITIES } from '../../shared/src/model/finding.ts';
import { createEngine, parseDetectionConfig, parseDetectionConfigYaml } from '../../services/detector/src/config.ts';
import {
  analyzeInputs,
  newSummary,
  type AnalyzeInput,
  type AnalyzeSummary,
} from '../../services/detector/src/pipeline/analyze.ts';

/**
 * Parses an ISO 8601 time option (`--from`/`--to` of analyze and replay) to epoch ms: a calendar
 * date `YYYY-MM-DD`, optionally `THH:MM[:SS[.fff]]` and an offset (`Z`, `+02:00`); without an offset
 * the time is UTC. Parsed with luxon `DateTime.fromISO` (ISO 8601 extended/basic format), so
 * impossible dates (`2026-02-30`) are rejected; free-form dates (`nov 30`, `yesterday`) that
 * `Date.parse` would guess at are not accepted.
 * @returns undefined when `v` is undefined.
 * @throws AppError CONFIG_INVALID naming the option and the value.
 */
export function parseTimeOption(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const dt = /^\d{4}-?\d{2}-?\d{2}(?:T|$)/.test(v) ? DateTime.fromISO(v, { zone: 'utc' }) : null;
  if (!dt?.isValid)
    throw new AppError(
      'CONFIG_INVALID',
      `${name} must be an ISO 8601 time such as 2026-03-10 or 2026-03-10T08:00:00Z, got "${v}"${dt?.invalidExplanation ? ` (${dt.invalidExplanation})` : ''}`,
    );
  return dt.toMillis();
}

/**
 * Checks a report window as replay does: `--to` must be after `--from` when both are given.
 * @throws AppError CONFIG_INVALID otherwise.
 */
export function checkTimeWindow(from: number | undefined, to: number | undefined): void {
  if (from !== undefined && to !== undefined && to <= from)
    throw new AppError('CONFIG_INVALID', '--to must be after --from');
}

/**
 * Reads a detection config file (YAML or JSON) as a plain value, or returns {} without one;
 * validation is `parseDetectionConfig` (after CLI flags are merged in).
 * @throws AppError INPUT_UNREADABLE when the file cannot be read; CONFIG_INVALID for a YAML/JSON
 *   syntax error (`file:line:column: …`).
 */
export async function readDetectionConfigFile(path: string | undefined): Promise<unknown> {
  if (!path) return {};
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new AppError('INPUT_UNREADABLE', `cannot read detection config ${path}: ${(err as Error).message}`, {
      cause: err,
    });
  }
  return parseDetectionConfigYaml(text, path);
}

/**
 * Prints the per-rule × severity summary table (to stderr by default), headed
 * `regwatch <command>: N lines, …` with the name of the command that ran (`analyze`, `replay`).
 */
export function printSummary(
  s: AnalyzeSummary,
  out: NodeJS.WritableStream = process.stderr,
  command: string = 'analyze',
): void {
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
  const findings = s.windowed
    ? `${s.findings} findings in the window${s.outsideWindow > 0 ? `; ${s.outsideWindow} outside --from/--to` : ''}`
    : `${s.findings} findings`;
  out.write(
    `\nregwatch ${command}: ${s.lines} lines, ${s.events} events (${s.rejected} rejected, ${s.ignored} ignored, ${s.duplicates} duplicates, ${s.joined} copies joined to their request, ${s.late} late), ${findings}\n`,
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
 * Inputs are opened with shared/src/io/open-input.ts (gzip detected by magic bytes, so `.gz` and
 * gzip on stdin work); a missing or unreadable input is AppError INPUT_UNREADABLE before any output.
 */
export function register(program: Command): void {
  program
    .command('analyze')
    .description(
      'run detection over recorded registry input (logs, notifications, Harbor payloads, normalized events); findings as NDJSON',
    )
    .argument('[files...]', 'input files; - or none for stdin')
    .option(
      '--from <time>',
      'report findings whose window starts at or after this ISO 8601 time (e.g. 2026-03-10T08:00:00Z; UTC without an offset)',
    )
    .option('--to <time>', 'report findings whose window starts before this ISO 8601 time (after --from)')
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
        checkTimeWindow(from, to);
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
        try {
          for (const name of names) {
            const opened = await openInput(name);
            total += opened.size ?? 0;
            inputs.push({ name: opened.name, stream: opened.stream });
          }
        } catch (err) {
          for (const i of inputs) i.stream.destroy();
          throw err;
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
