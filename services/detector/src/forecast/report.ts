/**
 * Weekly capacity report: one table row per storage scope (used, capacity, growth, days to the
 * warning level and to full with 80 % intervals, last sample, last GC) and the capacity chart of each scope
 * (ECharts SSR → SVG; resvg → PNG). Markdown for chat, HTML (inline SVG charts) for email.
 * Pure apart from reading the font file for the PNG. Delivered by the alerts service.
 *
 * Days are counted from each scope's last sample. A scope whose last sample is older than the
 * staleness threshold (staleness.ts: default max(2 × sampling interval, 1 day)) is flagged at the
 * top of the report and in its row, with the calendar date its forecast implies, so "full in
 * 151 d" from half-year-old data is not read as 151 days from today. Thresholds already reached
 * read "already at/over" (with the start of the episode when known).
 */
import type { ForecastResult } from './model.ts';
import type { SeriesPoint } from './csv.ts';
import { renderForecastSvg, svgToPng } from './chart.ts';
import { assessStaleness, formatAge, type Staleness } from './staleness.ts';
import { formatBytes, formatBytesPerDay } from './units.ts';
import { pct, staleWarning, usedPct } from './summary.ts';

export interface CapacityScopeInput {
  /** Scope id, e.g. `fs:/var/lib/registry` or `harbor:library`. */
  readonly scope: string;
  /** Used bytes over time, for the chart. */
  readonly history: readonly SeriesPoint[];
  readonly result: ForecastResult;
  /** True when usage was reconstructed from events (an estimate). */
  readonly estimate?: boolean;
}

export interface CapacityReportInput {
  readonly generatedAt: Date;
  readonly scopes: readonly CapacityScopeInput[];
  /** Report title; default "Registry capacity report (week of YYYY-MM-DD)". */
  readonly title?: string;
  readonly fontFile?: string;
  /** Staleness threshold, seconds; default max(2 × sampling interval, 1 day) per scope. */
  readonly staleAfterSeconds?: number;
}

export interface CapacityReport {
  readonly title: string;
  readonly markdown: string;
  readonly html: string;
  /** Chart of the most urgent scope (smallest days to full). */
  readonly svg: string;
  /** The same chart as PNG. */
  readonly png: Buffer;
  /** Staleness verdict per scope (judged at `generatedAt`). */
  readonly staleness: ReadonlyMap<string, Staleness>;
}

const dd = (x: number | null, h: number): string => (x === null ? `> ${h} d` : `${x.toFixed(1)} d`);
const band = (lo: number | null, hi: number | null, h: number): string => `${dd(lo, h)} – ${dd(hi, h)}`;
const esc = (s: string): string =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const mdCell = (s: string): string => s.replace(/\|/g, '\\|');

function urgency(r: ForecastResult): number {
  return r.days_to_full ?? Number.POSITIVE_INFINITY;
}

/**
 * Builds the capacity report.
 * @returns markdown, html, the most urgent scope's chart as svg + png, the title and each scope's
 *   staleness verdict.
 * @throws AppError CHART_FONT_MISSING when the PNG font is missing; AppError FORECAST_INPUT_INVALID
 *   for a non-positive `staleAfterSeconds`; Error when `scopes` is empty.
 */
export function buildCapacityReport(input: CapacityReportInput): CapacityReport {
  if (input.scopes.length === 0) throw new Error('buildCapacityReport: no scopes');
  const day = input.generatedAt.toISOString().slice(0, 10);
  const title = input.title ?? `Registry capacity report (week of ${day})`;
  const scopes = [...input.scopes].sort(
    (a, b) => urgency(a.result) - urgency(b.result) || a.scope.localeCompare(b.scope),
  );
  const staleness = new Map<string, Staleness>();
  for (const s of scopes)
    staleness.set(
      s.scope,
      assessStaleness(s.result, input.generatedAt, { staleAfterSeconds: input.staleAfterSeconds }),
    );
  const stOf = (scope: string): Staleness => staleness.get(scope) as Staleness;
  // The warning level is a share of capacity (warn_ratio, default 85 %); the bracketed range of
  // each days cell is the 80 % prediction interval — the header names both so neither reads as
  // "days to 80 % full".
  const warnPct = pct((scopes[0] as CapacityScopeInput).result.warn_ratio);
  const header = [
    'Scope',
    'Used',
    'Capacity',
    'Used %',
    'Growth/day',
    `Days to ${warnPct} used (80 % interval)`,
    'Days to 100 % used (80 % interval)',
    'Last sample',
    'Last GC',
  ];
  const daysCell = (
    reached: boolean,
    since: string | null | undefined,
    d: number | null,
    lo: number | null,
    hi: number | null,
    h: number,
  ): string =>
    reached
      ? `already at/over${since ? ` since ${since.slice(0, 16).replace('T', ' ')}` : ''}`
      : `${dd(d, h)} (${band(lo, hi, h)})`;
  const rows = scopes.map(({ scope, result: r, estimate }) => {
    const h = r.horizon_days;
    const st = stOf(scope);
    return [
      scope + (estimate ? ' (estimate)' : '') + (st.stale ? ' (STALE)' : ''),
      formatBytes(r.level_bytes),
      formatBytes(r.capacity_bytes),
      usedPct(r.level_bytes / r.capacity_bytes),
      formatBytesPerDay(r.growth_bytes_per_day),
      daysCell(
        r.warn_reached ?? r.days_to_warn === 0,
        r.warn_reached_since,
        r.days_to_warn,
        r.days_to_warn_lower,
        r.days_to_warn_upper,
        h,
      ),
      daysCell(
        r.full_reached ?? r.days_to_full === 0,
        r.full_reached_since,
        r.days_to_full,
        r.days_to_full_lower,
        r.days_to_full_upper,
        h,
      ),
      `${r.last_timestamp.slice(0, 16).replace('T', ' ')}${st.stale ? ` (${formatAge(st.age_seconds)} old)` : ''}`,
      r.last_gc ?? '—',
    ];
  });
  const staleLines = scopes.flatMap((s) => {
    const w = staleWarning(stOf(s.scope));
    return w === null ? [] : [`${s.scope}: ${w.replace(/^WARNING: stale data: /, '')}`];
  });
  const charts = scopes.map((s) =>
    renderForecastSvg({ title: `${s.scope}${s.estimate ? ' (estimate)' : ''}`, history: s.history, result: s.result }),
  );
  const first = scopes[0] as CapacityScopeInput;
  const svg = charts[0] as string;
  const png = svgToPng(svg, input.fontFile);

  const fr = first.result;
  const firstSt = stOf(first.scope);
  const fromLast = `after its last sample (${fr.last_timestamp.slice(0, 16).replace('T', ' ')} UTC${firstSt.stale ? ', STALE' : ''})`;
  const summary =
    fr.days_to_full === null
      ? `No scope reaches full within ${fr.horizon_days} days.`
      : fr.full_reached === true || fr.days_to_full === 0
        ? `Most urgent: ${first.scope} is already at/over capacity${fr.full_reached_since ? ` since ${fr.full_reached_since}` : ''} (last sample ${fr.last_timestamp.slice(0, 16).replace('T', ' ')} UTC${firstSt.stale ? ', STALE' : ''}).`
        : `Most urgent: ${first.scope} is full ${dd(fr.days_to_full, fr.horizon_days)} ${fromLast}, around ${(firstSt.full_at ?? '').slice(0, 10)} (80 % interval ${band(fr.days_to_full_lower, fr.days_to_full_upper, fr.horizon_days)}).`;
  const staleBanner =
    staleLines.length === 0
      ? []
      : [
          `> **⚠ STALE DATA** — ${staleLines.length} scope(s) have no recent samples; their forecasts describe the past:`,
          ...staleLines.map((l) => `> - ${l}`),
          '',
        ];
  const md = [
    `# ${title}`,
    '',
    ...staleBanner,
    summary,
    '',
    `| ${header.join(' | ')} |`,
    `|${header.map(() => '---').join('|')}|`,
    ...rows.map((r) => `| ${r.map(mdCell).join(' | ')} |`),
    '',
    `Warning level ${warnPct} of capacity. Days are counted from each scope's last sample (not from the report date); the range in brackets is the 80 % prediction interval; "> N d" means not within the ${first.result.horizon_days}-day horizon.`,
    '',
    `![capacity chart: ${first.scope}](capacity.png)`,
    '',
  ].join('\n');
  const html = [
    '<!doctype html>',
    `<html><head><meta charset="utf-8"><title>${esc(title)}</title>`,
    '<style>body{font-family:DejaVu Sans,Arial,sans-serif}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}td:first-child,th:first-child{text-align:left}</style>',
    '</head><body>',
    `<h1>${esc(title)}</h1>`,
    ...(staleLines.length === 0
      ? []
      : [
          `<div style="border:2px solid #d62728;background:#fde8e8;padding:8px"><strong>⚠ STALE DATA</strong> — ${staleLines.length} scope(s) have no recent samples; their forecasts describe the past:<ul>`,
          ...staleLines.map((l) => `<li>${esc(l)}</li>`),
          '</ul></div>',
        ]),
    `<p>${esc(summary)}</p>`,
    `<table><thead><tr>${header.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>`,
    ...rows.map((r) => `<tr>${r.map((c) => `<td>${esc(c)}</td>`).join('')}</tr>`),
    '</tbody></table>',
    `<p>Warning level ${warnPct} of capacity. Days are counted from each scope's last sample (not from the report date); the range in brackets is the 80 % prediction interval.</p>`,
    ...scopes.map((s, i) => `<h2>${esc(s.scope)}</h2>\n<div>${charts[i] as string}</div>`),
    '</body></html>',
    '',
  ].join('\n');
  return { title, markdown: md, html, svg, png, staleness };
}
