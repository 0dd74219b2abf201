/**
 * Generates the README's reference sections from the code, so they cannot drift:
 * - configuration: one table per service from its zod schema (names, defaults, descriptions);
 * - CLI: `--help` of every `regwatch` command and subcommand (commander);
 * - error codes: the ERROR_CODES catalog;
 * - exit status: the table in cli/exit-codes.ts.
 * `npm run docs` rewrites README.md between `<!-- BEGIN GENERATED: x -->` / `<!-- END GENERATED: x -->`;
 * `npm run docs -- --check` exits 1 when README.md is stale (a unit test runs the same check).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { z } from 'zod';
import { commands } from '../cli/commands/index.ts';
import { ERROR_CODES } from '../shared/src/errors.ts';
import { EXIT_STATUS_TABLE } from '../cli/exit-codes.ts';
import { ingestEnvObject } from '../services/ingest/src/config.ts';
import { detectorEnvSchema } from '../services/detector/src/env-config.ts';
import { alertsEnvSchema } from '../services/alerts/src/env-config.ts';
import { embeddedConfigSchema, EMBEDDED_ENV } from '../services/embedded/src/config.ts';

interface JsonProp {
  description?: string;
  default?: unknown;
  type?: string;
  enum?: unknown[];
}

const cell = (s: string): string => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

function envTable(schema: z.ZodType, nameOf: (key: string) => string = (k) => k): string {
  const json = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as {
    properties?: Record<string, JsonProp>;
  };
  const rows = Object.entries(json.properties ?? {}).map(([key, p]) => {
    const def =
      p.default === undefined ? '' : `\`${Array.isArray(p.default) ? p.default.join(',') : String(p.default)}\``;
    const values = p.enum ? ` (${p.enum.map((v) => `\`${String(v)}\``).join(', ')})` : '';
    return `| \`${nameOf(key)}\` | ${def} | ${cell((p.description ?? '') + values)} |`;
  });
  return ['| Variable | Default | Meaning |', '| --- | --- | --- |', ...rows].join('\n');
}

function configSection(): string {
  const embeddedName = (k: string): string => EMBEDDED_ENV[k as keyof typeof EMBEDDED_ENV] ?? k;
  return [
    '### `regwatch run` (embedded default)',
    '',
    'Each setting also has a flag (see `regwatch run` in the CLI reference); flags win over environment variables.',
    '',
    envTable(embeddedConfigSchema, embeddedName),
    '',
    '### ingest service (`services/ingest/src/main.ts`)',
    '',
    envTable(ingestEnvObject),
    '',
    '### detector service (`services/detector/src/main.ts`)',
    '',
    envTable(detectorEnvSchema),
    '',
    '### alerts service (`services/alerts/src/main.ts`)',
    '',
    envTable(alertsEnvSchema),
  ].join('\n');
}

function cliSection(): string {
  const program = new Command('regwatch').configureHelp({ helpWidth: 100 });
  for (const register of commands) register(program);
  const out: string[] = [];
  const walk = (cmd: Command, path: string): void => {
    for (const sub of cmd.commands) {
      const name = `${path} ${sub.name()}`;
      // Text added with addHelpText('after', …) is not part of helpInformation(): commander
      // writes it from an `afterHelp` listener, captured here.
      let after = '';
      (sub as unknown as NodeJS.EventEmitter).emit('afterHelp', {
        error: false,
        command: sub,
        write: (t: string) => (after += t),
      });
      const help = `${sub.helpInformation()}${after}`.trimEnd();
      out.push(`#### \`${name}\``, '', '```text', help, '```', '');
      walk(sub, name);
    }
  };
  walk(program, 'regwatch');
  return out.join('\n').trimEnd();
}

function errorsSection(): string {
  const rows = Object.entries(ERROR_CODES).map(([code, meaning]) => `| \`${code}\` | ${cell(meaning)} |`);
  return ['| Code | Meaning |', '| --- | --- |', ...rows].join('\n');
}

function exitCodesSection(): string {
  const rows = EXIT_STATUS_TABLE.map((r) => `| ${r.status} | ${cell(r.meaning)} | ${cell(r.when)} |`);
  return ['| Status | Meaning | When |', '| --- | --- | --- |', ...rows].join('\n');
}

export function renderReadme(readme: string): string {
  const sections: Record<string, () => string> = {
    config: configSection,
    cli: cliSection,
    errors: errorsSection,
    'exit-codes': exitCodesSection,
  };
  let text = readme;
  for (const [name, render] of Object.entries(sections)) {
    const begin = `<!-- BEGIN GENERATED: ${name} -->`;
    const end = `<!-- END GENERATED: ${name} -->`;
    const a = text.indexOf(begin);
    const b = text.indexOf(end);
    if (a < 0 || b < a) throw new Error(`README.md lacks the markers for the generated "${name}" section`);
    text = `${text.slice(0, a + begin.length)}\n\n${render()}\n\n${text.slice(b)}`;
  }
  return text;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const path = fileURLToPath(new URL('../README.md', import.meta.url));
  const current = readFileSync(path, 'utf8');
  const next = renderReadme(current);
  if (process.argv.includes('--check')) {
    if (next !== current) {
      process.stderr.write('README.md reference sections are stale: run `npm run docs`\n');
      process.exit(1);
    }
  } else if (next !== current) {
    writeFileSync(path, next);
    process.stderr.write('README.md reference sections updated\n');
  }
}
