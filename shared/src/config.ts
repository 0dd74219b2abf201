import { z } from 'zod';
import { AppError } from './errors.ts';

/** Recursively freezes a plain object graph. */
export function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value as Record<string, unknown>)) deepFreeze(v);
  }
  return value;
}

/**
 * Parses `input` with `schema` once, listing every problem, and returns a deep-frozen result.
 * Only entry points call this (with `process.env` or a parsed file); everything else takes a slice.
 * @throws AppError CONFIG_INVALID (not retriable) with one line per issue: `path: message`.
 */
export function loadConfig<S extends z.ZodType>(schema: S, input: unknown, source = 'configuration'): z.infer<S> {
  const parsed = schema.safeParse(input);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  - ${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`);
    throw new AppError('CONFIG_INVALID', `invalid ${source} (${lines.length} problem(s)):\n${lines.join('\n')}`, {
      context: { issues: parsed.error.issues.length },
    });
  }
  return deepFreeze(parsed.data);
}

/** zod helpers for environment variables (strings in, typed values out). */
export const env = {
  int: (def: number) => z.coerce.number().int().default(def),
  bool: (def: boolean) =>
    z
      .enum(['true', 'false', '1', '0', 'yes', 'no'])
      .default(def ? 'true' : 'false')
      .transform((v) => v === 'true' || v === '1' || v === 'yes'),
  list: (def: string) =>
    z
      .string()
      .default(def)
      .transform((v) =>
        v
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean),
      ),
};
