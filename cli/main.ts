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
  // One line naming the problem (commander prints it), plus where to look — not the whole help.
  .showHelpAfterError('(add --help for usage)')
  .exitOverride();

for (const register of commands) register(program);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) process.exit(exitStatusFor(err));
  if (err instanceof AppError) {
    process.stderr.write(`regwatch: ${err.code}: ${err.message}\n`);
    process.exit(exitStatusFor(err));
  }
  process.stderr.write(`regwatch: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(exitStatusFor(err));
}
