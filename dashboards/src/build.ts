import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DASHBOARDS } from './boards/index.ts';
import { bundle } from './dashboard.ts';
import { toNdjson } from './kibana.ts';

/** The directory the NDJSON files are committed in (`dashboards/`). */
export const DASHBOARDS_DIR = join(dirname(fileURLToPath(import.meta.url)), '..');

/** Renders every dashboard file: `file name → NDJSON text`. Pure and deterministic. */
export function renderAll(): Map<string, string> {
  const all = DASHBOARDS.map((d) => d.dashboard);
  return new Map(DASHBOARDS.map(({ file, dashboard }) => [file, toNdjson(bundle([dashboard], all))]));
}

/** `npm run dashboards:build`: writes dashboards/*.ndjson and lists them on stderr. */
if (import.meta.url === `file://${process.argv[1]}`) {
  for (const [file, text] of renderAll()) {
    writeFileSync(join(DASHBOARDS_DIR, file), text);
    process.stderr.write(`wrote dashboards/${file} (${text.split('\n').filter(Boolean).length} objects)\n`);
  }
}
