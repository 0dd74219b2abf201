#!/usr/bin/env node
/**
 * regwatch CLI entry point (commander). Each command lives in cli/commands/<name>.ts and is
 * turned on by one line in cli/commands/index.ts. Run through bin/regwatch, which picks Node >= 22.
 */
import { Command, CommanderError } from 'commander';
import { commands } from './commands/index.ts';
import { AppError } from '../shared/src/errors.ts';

const program = new Command('regwatch')
  .description('Audit and anomaly detection for container registries: normalize, detect, forecast, alert.')
  .version('0.1.0')
  .showHelpAfterError()
  .exitOverride();

for (const register of commands) register(program);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) process.exit(err.exitCode);
  if (err instanceof AppError) {
    process.stderr.write(`regwatch: ${err.code}: ${err.message}\n`);
    process.exit(err.code === 'CONFIG_INVALID' || err.code.endsWith('_INVALID') ? 2 : 1);
  }
  process.stderr.write(`regwatch: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
}
