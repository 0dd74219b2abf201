/**
 * The exit status of every `regwatch` command — one table, used by cli/main.ts and rendered into
 * README.md (`npm run docs`, section "exit-codes").
 */
import { CommanderError } from 'commander';
import { AppError, exitStatusForCode } from '../shared/src/errors.ts';

export interface ExitStatusRow {
  readonly status: number;
  readonly meaning: string;
  readonly when: string;
}

/** Exit statuses, in order. A command that completes (even with rejected lines or findings) exits 0. */
export const EXIT_STATUS_TABLE: readonly ExitStatusRow[] = [
  {
    status: 0,
    meaning: 'success',
    when: 'the command completed (rejected input lines, findings and warnings do not change this); `--help`, `--version`',
  },
  {
    status: 1,
    meaning: 'runtime failure',
    when: 'an error code not ending in `_INVALID`: unreadable input (`INPUT_UNREADABLE`), unwritable output, an unreachable or refusing service (Elasticsearch, Kafka, Kibana, alerts API), start-up failure, a bug (`INTERNAL`)',
  },
  {
    status: 2,
    meaning: 'usage error or invalid configuration/input',
    when: 'unknown command or option, missing required option or argument, value not among the choices (commander); any `*_INVALID` error code (`CONFIG_INVALID`, `FORECAST_INPUT_INVALID`, `BASELINE_INPUT_INVALID`, `ALERTS_SILENCE_INVALID`, `FINDING_INVALID`)',
  },
  {
    status: 130,
    meaning: 'interrupted',
    when: '`regwatch run` given up on after a signal (143 for SIGTERM): a second signal, or start-up still not ended `shutdownTimeoutMs` after the first',
  },
];

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

export { exitStatusForCode };

/**
 * Exit status for anything a command threw: commander's own errors (help/version → 0, every
 * usage error → 2), AppError by its code, anything else 1.
 */
export function exitStatusFor(err: unknown): number {
  if (err instanceof CommanderError) return err.exitCode === 0 ? EXIT_OK : EXIT_USAGE;
  if (err instanceof AppError) return exitStatusForCode(err.code);
  return EXIT_FAILURE;
}
