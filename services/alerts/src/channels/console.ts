import { z } from 'zod';
import { ok } from '../../../../shared/src/outcome.ts';
import { plainText } from '../render.ts';
import type { AlertChannel } from './types.ts';

const configSchema = z
  .object({
    type: z.literal('console'),
    /** Where to print: stdout (default) or stderr. */
    stream: z.enum(['stdout', 'stderr']).default('stdout'),
  })
  .strict();
type ConsoleConfig = z.infer<typeof configSchema>;

/** Prints a readable notification (the embedded default and `--debug` channel). */
export const consoleChannel: AlertChannel<ConsoleConfig> = {
  id: 'console',
  description: 'Prints each notification as readable text to stdout (embedded default).',
  configSchema,
  example: { type: 'console' },
  destination: (c) => `console:${c.stream}`,
  render: (n, c, settings) => ({ channel: 'console', target: c.stream, body: plainText(n, settings) }),
  async send(n, c, ctx) {
    const text = `${plainText(n, ctx.render)}\n${'-'.repeat(60)}\n`;
    (c.stream === 'stderr' ? process.stderr : process.stdout).write(text);
    return ok();
  },
};
