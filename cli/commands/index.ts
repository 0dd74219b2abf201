import type { Command } from 'commander';

/** A CLI command: one file, registered by one line below. */
export type RegisterCommand = (program: Command) => void;

export const commands: RegisterCommand[] = [];
