import cron from 'node-cron';
import type { Logger } from '../../../../shared/src/logger.ts';
import type { Finding } from '../../../../shared/src/model/finding.ts';

export interface ScheduledJob {
  /** Job name (`baseline.hourly`, `slo.hourly`, `storage.exhaustion`). */
  name: string;
  /** cron expression (node-cron syntax, 5 or 6 fields). */
  schedule: string;
  run(now: number): Promise<Finding[]>;
}

/**
 * Runs the scheduled jobs with node-cron (no overlap: a run still in progress is not started
 * again) and hands every finding to `publish`. Errors are logged with their code and the job
 * runs again at its next slot. Returns a stop function.
 *
 * `deps.onRun(job, outcome, seconds)`, when given, is told of every finished run: `ok` or `error`
 * (the job or the publish of its findings threw) and the wall time in seconds by `deps.clock`
 * (metrics.ts `jobRun`). It must not throw.
 */
export function startScheduler(
  jobs: readonly ScheduledJob[],
  deps: {
    publish: (fs: Finding[]) => Promise<void>;
    clock: () => number;
    logger: Logger;
    timezone?: string;
    onRun?: (job: string, outcome: 'ok' | 'error', seconds: number) => void;
  },
): () => Promise<void> {
  const log = deps.logger.child({ component: 'scheduler' });
  const tasks = jobs.map((job) =>
    cron.schedule(
      job.schedule,
      async () => {
        const started = deps.clock();
        try {
          const fs = await job.run(started);
          if (fs.length) await deps.publish(fs);
          const ms = deps.clock() - started;
          log.info({ job: job.name, findings: fs.length, ms }, 'scheduled job done');
          deps.onRun?.(job.name, 'ok', ms / 1000);
        } catch (err) {
          log.error({ err, job: job.name, code: (err as { code?: string }).code }, 'scheduled job failed');
          deps.onRun?.(job.name, 'error', (deps.clock() - started) / 1000);
        }
      },
      { name: job.name, noOverlap: true, ...(deps.timezone ? { timezone: deps.timezone } : {}) },
    ),
  );
  return async () => {
    for (const t of tasks) await t.stop();
  };
}
