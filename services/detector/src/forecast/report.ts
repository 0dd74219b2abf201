/**
 * Weekly capacity report: one table row per storage scope (used, capacity, growth, days to the
 * warning level and to full with 80 % intervals, last GC) and the capacity chart of each scope
 * (ECharts SSR → SVG; resvg → PNG). Markdown for chat, HTML (inline SVG charts) for email.
 * Pure apart from reading the font file for the PNG. Delivered by the alerts service.
 */
import type { ForecastResult } from './model.ts';
import type { SeriesPoint } from './csv.ts';
import { renderForecastSvg, svgToPng } from './chart.ts';

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
}

export interface CapacityReport {
  readonly title: string;
  readonly markdown: string;
  readonly html: string;
  /** Chart of the most urgent scope (smallest days to full). */
  readonly svg: string;
  /** The same chart as PNG. */
  readonly png: Buffer;
}

const gb = (b: number): string => `${(b / 1e9).toFixed(1)} GB`;
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
 * @returns markdown, html, the most urgent scope's chart as svg + png, and the title.
 * @throws AppError CHART_FONT_MISSING when the PNG font is missing; Error when `scopes` is empty.
 */
export function buildCapacityReport(input: CapacityReportInput): CapacityReport {
  if (input.scopes.length === 0) throw new Error('buildCapacityReport: no scopes');
  const day = input.generatedAt.toISOString().slice(0, 10);
  const title = input.title ?? `Registry capacity report (week of ${day})`;
  const scopes = [...input.scopes].sort(
    (a, b) => urgency(a.result) - urgency(b.result) || a.scope.localeCompare(b.scope),
  );
  const header = [
    'Scope',
    'Used',
    'Capacity',
    'Used %',
    'Growth/day',
    'Days to warn (80 %)',
    'Days to full (80 %)',
    'Last GC',
  ];
  const rows = scopes.map(({ scope, result: r, estimate }) => {
    const h = r.horizon_days;
    return [
      scope + (estimate ? ' (estimate)' : ''),
      gb(r.level_bytes),
      gb(r.capacity_bytes),
      `${((100 * r.level_bytes) / r.capacity_bytes).toFixed(1)} %`,
      gb(r.growth_bytes_per_day),
      `${dd(r.days_to_warn, h)} (${band(r.days_to_warn_lower, r.days_to_warn_upper, h)})`,
      `${dd(r.days_to_full, h)} (${band(r.days_to_full_lower, r.days_to_full_upper, h)})`,
      r.last_gc ?? '—',
    ];
  });
  const charts = scopes.map((s) =>
    renderForecastSvg({ title: `${s.scope}${s.estimate ? ' (estimate)' : ''}`, history: s.history, result: s.result }),
  );
  const first = scopes[0] as CapacityScopeInput;
  const svg = charts[0] as string;
  const png = svgToPng(svg, input.fontFile);

  const warnPct = Math.round(first.result.warn_ratio * 100);
  const summary =
    first.result.days_to_full === null
      ? `No scope reaches full within ${first.result.horizon_days} days.`
      : `Most urgent: ${first.scope} is full in ${dd(first.result.days_to_full, first.result.horizon_days)} (80 % interval ${band(first.result.days_to_full_lower, first.result.days_to_full_upper, first.result.horizon_days)}).`;
  const md = [
    `# ${title}`,
    '',
    summary,
    '',
    `| ${header.join(' | ')} |`,
    `|${header.map(() => '---').join('|')}|`,
    ...rows.map((r) => `| ${r.map(mdCell).join(' | ')} |`),
    '',
    `Warning level ${warnPct} % of capacity. Days are counted from each scope's last sample; "> N d" means not within the ${first.result.horizon_days}-day horizon.`,
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
    `<p>${esc(summary)}</p>`,
    `<table><thead><tr>${header.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>`,
    ...rows.map((r) => `<tr>${r.map((c) => `<td>${esc(c)}</td>`).join('')}</tr>`),
    '</tbody></table>',
    `<p>Warning level ${warnPct} % of capacity. Days are counted from each scope's last sample.</p>`,
    ...scopes.map((s, i) => `<h2>${esc(s.scope)}</h2>\n<div>${charts[i] as string}</div>`),
    '</body></html>',
    '',
  ].join('\n');
  return { title, markdown: md, html, svg, png };
}
