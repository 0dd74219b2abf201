import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { AppError } from '../../../shared/src/errors.ts';
import { parseDuration } from './duration.ts';
import { matchAll, parseMatcher, type Matcher } from './matchers.ts';
import type { Labels } from './labels.ts';

/** A silence (Alertmanager vocabulary): hides alerts matching every matcher between startsAt and endsAt (ms since epoch). */
export interface Silence {
  readonly id: string;
  readonly matchers: readonly Matcher[];
  readonly startsAt: number;
  readonly endsAt: number;
  readonly createdBy: string;
  readonly comment: string;
  readonly createdAt: number;
  /** Set when expired early through the API/CLI. */
  readonly expiredAt?: number;
}

/** Request body of `POST /api/v1/silences` (and `regwatch silence add`). */
export const silenceRequestSchema = z
  .object({
    /** `rule=pull.volume_spike`, `entity=user:alice`, `severity=~high|critical`. */
    matchers: z.array(z.string()).min(1),
    /** Duration such as `2h` (from startsAt or now); or give endsAt. */
    duration: z.string().optional(),
    startsAt: z.iso.datetime({ offset: true }).optional(),
    endsAt: z.iso.datetime({ offset: true }).optional(),
    createdBy: z.string().min(1),
    comment: z.string().min(1),
  })
  .strict();
export type SilenceRequest = z.infer<typeof silenceRequestSchema>;

/**
 * Builds a silence from a request, listing every problem.
 * @throws AppError ALERTS_SILENCE_INVALID (not retriable) for bad matchers, durations or times.
 */
export function createSilence(input: unknown, now: number, id: string = randomUUID()): Silence {
  const parsed = silenceRequestSchema.safeParse(input);
  if (!parsed.success)
    throw new AppError(
      'ALERTS_SILENCE_INVALID',
      parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; '),
    );
  const req = parsed.data;
  const problems: string[] = [];
  const matchers: Matcher[] = [];
  for (const text of req.matchers) {
    const m = parseMatcher(text);
    if ('error' in m) problems.push(m.error);
    else matchers.push(m);
  }
  // As Alertmanager: a silence whose matchers all match the empty string would silence everything.
  if (matchers.length > 0 && matchAll(matchers, {}))
    problems.push('matchers would match every alert; add at least one matcher that needs a non-empty value');
  const startsAt = req.startsAt ? Date.parse(req.startsAt) : now;
  let endsAt: number | undefined;
  if (req.endsAt) endsAt = Date.parse(req.endsAt);
  else if (req.duration) {
    const d = parseDuration(req.duration);
    if (d === undefined || d <= 0) problems.push(`bad duration "${req.duration}" (e.g. 2h, 30m)`);
    else endsAt = startsAt + d;
  } else problems.push('give duration or endsAt');
  if (endsAt !== undefined && endsAt <= startsAt) problems.push('endsAt must be after startsAt');
  if (endsAt !== undefined && endsAt <= now) problems.push('the silence would already be over');
  if (problems.length > 0 || endsAt === undefined) throw new AppError('ALERTS_SILENCE_INVALID', problems.join('; '));
  return { id, matchers, startsAt, endsAt, createdBy: req.createdBy, comment: req.comment, createdAt: now };
}

/** True while `now` is within [startsAt, endsAt). */
export function silenceActive(s: Silence, now: number): boolean {
  return s.startsAt <= now && now < s.endsAt;
}

/** The id of the first active silence matching `labels`, else undefined. */
export function silencedBy(labels: Labels, silences: readonly Silence[], now: number): string | undefined {
  for (const s of silences) if (silenceActive(s, now) && matchAll(s.matchers, labels)) return s.id;
  return undefined;
}

/** Silence as JSON for the API and CLI (ISO times). */
export function silenceJson(s: Silence, now: number): Record<string, unknown> {
  return {
    id: s.id,
    matchers: s.matchers.map((m) => `${m.name}${m.op}${m.value}`),
    startsAt: new Date(s.startsAt).toISOString(),
    endsAt: new Date(s.endsAt).toISOString(),
    createdBy: s.createdBy,
    comment: s.comment,
    status: now < s.startsAt ? 'pending' : now < s.endsAt ? 'active' : 'expired',
  };
}
