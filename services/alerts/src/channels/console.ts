import { z } from 'zod';
import { ok } from '../../../../shared/src/outcome.ts';
import { plainText } from '../render.ts';
import type { AlertChannel } from './types.ts';

const configSchema = z
  .object({
    type: z.literal('console'),
    /** Where to print: `stdout` (default; the standalone alerts service) or `stderr` (the embedded `regwatch run`, whose stdout carries the findings NDJSON). */
    stream: z.enum(['stdout', 'stderr']).default('stdout'),
  })
  .strict();
type ConsoleConfig = z.infer<typeof configSchema>;

/**
 * Prints a readable notification on the configured `stream` (the embedded default and debug
 * channel). `render`'s target and `destination` name that stream, so `regwatch alerts test`
 * shows where the text really goes.
 */
export const consoleChannel: AlertChannel<ConsoleConfig> = {
  id: 'console',
  description:
    'Prints each notification as readable text to stdout or stderr (`stream`; the embedded default uses stderr).',
  configSchema,
  example: { type: 'console', stream: 'stderr' },
  destination: (c) => `console:${c.stream}`,
  render: (n, c, settings) => ({ channel: 'console', target: c.stream, body: plainText(n, settings) }),
  async send(n, c, ctx) {
    const text = `${plainText(n, ctx.render)}\n${'-'.repeat(60)}\n`;
    (c.stream === 'stderr' ? process.stderr : process.stdout).write(text);
    return ok();
  },
};
