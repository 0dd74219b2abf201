#!/usr/bin/env node
/**
 * regwatch CLI entry point (commander). Each command lives in cli/commands/<name>.ts and is
 * turned on by one line in cli/commands/index.ts. Run through bin/regwatch, which picks Node >= 22.
 * Exit statuses: cli/exit-codes.ts (0 ok, 1 runtime failure, 2 usage error or invalid config/input).
 */
import { Command, CommanderError } from 'commander';
import { commands } from './commands/index.ts';
import { AppError } from '../shared/src/errors.ts';
import { exitStatusFor } from './exit-codes.ts';

const program = new Command('regwatch')
  .description('Audit and anomaly detection for container registries: normalize, detect, forecast, alert.')
  .version('0.1.0')
  // Usage errors in the same one-line shape as every other error, with where to look (not the
  // whole help): `regwatch: USAGE_INVALID: <commander's message> (add --help for usage)`.
  // Subcommands inherit this (they are added with .command()).
  .configureOutput({
    outputError: (text, write) =>
      write(`${text.replace(/^error: /, 'regwatch: USAGE_INVALID: ').trimEnd()} (add --help for usage)\n`),
  })
  .exitOverride();

for (const register of commands) register(program);

/**
 * Error text safe for a terminal: messages often quote input (a CSV cell, a file name, a config
 * value), and raw control characters there could retitle or recolour the user's terminal. C0/C1
 * controls other than tab and newline are shown as \xNN escapes.
 */
const printable = (s: string): string =>
  // eslint-disable-next-line no-control-regex -- matching control characters is the point
  s.replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) process.exit(exitStatusFor(err));
  if (err instanceof AppError) {
    process.stderr.write(`regwatch: ${err.code}: ${printable(err.message)}\n`);
    process.exit(exitStatusFor(err));
  }
  // Not one of ours: a bug. One line for the user; the stack with REGWATCH_DEBUG=1.
  const debug = process.env['REGWATCH_DEBUG'] === '1';
  const text = err instanceof Error ? (debug ? (err.stack ?? err.message) : err.message) : String(err);
  process.stderr.write(
    `regwatch: INTERNAL: ${printable(text)}\n${debug ? '' : '(set REGWATCH_DEBUG=1 to print the stack trace)\n'}`,
  );
  process.exit(exitStatusFor(err));
}
