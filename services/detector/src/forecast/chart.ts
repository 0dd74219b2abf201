/**
 * Capacity chart: usage history, forecast path with its 80 % band, capacity and warning lines.
 * Rendered server-side: ECharts SSR to an SVG string (https://echarts.apache.org/handbook/en/how-to/cross-platform/server/),
 * then @resvg/resvg-js to PNG with an explicit TTF font (a bare container has no system fonts).
 */
import { existsSync } from 'node:fs';
import { extname } from 'node:path';
import * as echarts from 'echarts';
import { Resvg } from '@resvg/resvg-js';
import { AppError } from '../../../../shared/src/errors.ts';
import type { ForecastResult } from './model.ts';
import type { SeriesPoint } from './csv.ts';

/** Default font: Debian/Ubuntu package `fonts-dejavu-core`. */
export const DEFAULT_FONT_FILE = '/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf';

export interface ChartInput {
  readonly title: string;
  /** Used bytes over time (ms since epoch). Downsampled to at most `maxPoints` for drawing. */
  readonly history: readonly SeriesPoint[];
  readonly result: ForecastResult;
  readonly width?: number;
  readonly height?: number;
  readonly maxPoints?: number;
  /** TTF/OTF file used by resvg for the PNG; default DEFAULT_FONT_FILE. */
  readonly fontFile?: string;
}

const GB = 1e9;

function downsample(points: readonly SeriesPoint[], max: number): SeriesPoint[] {
  if (points.length <= max) return [...points];
  const step = points.length / max;
  const out: SeriesPoint[] = [];
  for (let i = 0; i < max; i++) out.push(points[Math.floor(i * step)] as SeriesPoint);
  const last = points[points.length - 1];
  if (last !== undefined) out.push(last);
  return out;
}

/**
 * Renders the capacity chart as SVG (ECharts SSR). Values are drawn in GB (10^9 bytes).
 * @returns the SVG document as a string.
 */
export function renderForecastSvg(input: ChartInput): string {
  const width = input.width ?? 960;
  const height = input.height ?? 480;
  const r = input.result;
  const hist = downsample(input.history, input.maxPoints ?? 1500).map((p) => [p.t, p.v / GB]);
  const path = r.path.map((p) => [Date.parse(p.timestamp), p.expected / GB, p.lower / GB, p.upper / GB] as const);
  let yMax = r.capacity_bytes / GB;
  for (const p of hist) if (p[1]! > yMax) yMax = p[1]!;
  for (const p of path) if (p[3] > yMax) yMax = p[3];
  const chart = echarts.init(null, null, { renderer: 'svg', ssr: true, width, height });
  try {
    chart.setOption({
      animation: false,
      backgroundColor: '#ffffff',
      title: { text: input.title, left: 'center', textStyle: { fontFamily: 'DejaVu Sans', fontSize: 15 } },
      textStyle: { fontFamily: 'DejaVu Sans' },
      legend: { bottom: 0, data: ['used', 'forecast', '80 % interval'] },
      grid: { left: 70, right: 80, top: 50, bottom: 60 },
      xAxis: { type: 'time' },
      // Up to the capacity, or higher when the data is over it (over-capacity series are real:
      // a quota exceeded, a wrong capacity): nothing drawn outside the plot area.
      yAxis: { type: 'value', name: 'GB', min: 0, max: Math.ceil(yMax * 1.05) },
      series: [
        {
          name: 'used',
          type: 'line',
          showSymbol: false,
          data: hist,
          lineStyle: { color: '#1f77b4', width: 1.5 },
          itemStyle: { color: '#1f77b4' },
          markLine: {
            symbol: 'none',
            silent: true,
            data: [
              {
                yAxis: r.capacity_bytes / GB,
                name: 'capacity',
                lineStyle: { color: '#d62728', width: 2 },
                label: { formatter: 'capacity' },
              },
              {
                yAxis: (r.capacity_bytes * r.warn_ratio) / GB,
                name: 'warning',
                lineStyle: { color: '#ff7f0e', type: 'dashed' },
                label: { formatter: `${Math.round(r.warn_ratio * 100)} %` },
              },
            ],
          },
        },
        // band: an invisible lower line, then (upper - lower) stacked on it and filled
        {
          name: 'band-base',
          type: 'line',
          stack: 'band',
          showSymbol: false,
          data: path.map((p) => [p[0], p[2]]),
          lineStyle: { opacity: 0 },
          silent: true,
        },
        {
          name: '80 % interval',
          type: 'line',
          stack: 'band',
          showSymbol: false,
          data: path.map((p) => [p[0], p[3] - p[2]]),
          lineStyle: { opacity: 0 },
          areaStyle: { color: 'rgba(44,160,44,0.25)' },
          itemStyle: { color: 'rgba(44,160,44,0.5)' },
          silent: true,
        },
        {
          name: 'forecast',
          type: 'line',
          showSymbol: false,
          data: path.map((p) => [p[0], p[1]]),
          lineStyle: { color: '#2ca02c', type: 'dashed', width: 2 },
          itemStyle: { color: '#2ca02c' },
        },
      ],
    });
    return chart.renderToSVGString();
  } finally {
    chart.dispose();
  }
}

/**
 * Rasterises an SVG to PNG with resvg and an explicit font (white background).
 * @throws AppError CHART_FONT_MISSING when the font file does not exist (install `fonts-dejavu-core`).
 */
export function svgToPng(svg: string, fontFile: string = DEFAULT_FONT_FILE): Buffer {
  if (!existsSync(fontFile)) {
    throw new AppError(
      'CHART_FONT_MISSING',
      `font file ${fontFile} not found (install the Debian package fonts-dejavu-core)`,
    );
  }
  const rendered = new Resvg(svg, {
    background: '#ffffff',
    font: { fontFiles: [fontFile], loadSystemFonts: false, defaultFontFamily: 'DejaVu Sans' },
  }).render();
  return rendered.asPng();
}

/** A chart file format the renderer writes. */
export type ChartFormat = 'svg' | 'png';

/**
 * The chart format a file name asks for, from its extension (`.svg` or `.png`, any case).
 * @throws AppError FORECAST_INPUT_INVALID for any other extension (or none): writing SVG into
 *   `chart.jpg` would only produce a file no viewer opens.
 */
export function chartFormatOf(path: string): ChartFormat {
  const ext = extname(path).toLowerCase();
  if (ext === '.svg' || ext === '.png') return ext === '.svg' ? 'svg' : 'png';
  throw new AppError(
    'FORECAST_INPUT_INVALID',
    `cannot write a chart to ${path}: ${ext ? `"${ext}" is not a supported chart format` : 'no file extension'}; use a file name ending in .svg or .png`,
  );
}

/** Renders the chart to both SVG and PNG. */
export function renderForecastChart(input: ChartInput): { svg: string; png: Buffer } {
  const svg = renderForecastSvg(input);
  return { svg, png: svgToPng(svg, input.fontFile) };
}
