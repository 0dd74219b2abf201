import type { Command } from 'commander';
import { register as setup } from './setup.ts';
import { register as forecast } from './forecast.ts';
import { register as collectStorage } from './collect-storage.ts';
import { register as report } from './report.ts';
import { register as baseline } from './baseline.ts';
import { register as analyze } from './analyze.ts';
import { register as replay } from './replay.ts';
import { register as normalize } from './normalize.ts';
import { register as alerts } from './alerts.ts';
import { register as silence } from './silence.ts';
import { register as run } from './run.ts';
import { register as demo } from './demo.ts';
import { register as dlq } from './dlq.ts';

/** A CLI command: one file, registered by one line below. */
export type RegisterCommand = (program: Command) => void;

export const commands: RegisterCommand[] = [
  setup,
  forecast,
  collectStorage,
  report,
  baseline,
  analyze,
  replay,
  normalize,
  alerts,
  silence,
  run,
  demo,
  dlq,
];
