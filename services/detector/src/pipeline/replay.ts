import type { Client } from '@elastic/elasticsearch';
import { severityRank, type Finding } from '../../../../shared/src/model/finding.ts';
import type { DetectorEngine } from '../engine.ts';
import { toDetectorEvent, type DetectorEvent } from '../event.ts';
import { eventsInOrder } from '../jobs/es-queries.ts';
import { detectOrdered, type AnalyzeSummary } from './analyze.ts';

const DAY = 86_400_000;

export interface ReplayOptions {
  index: string;
  /** Report window [from, to), ms. */
  from: number;
  to: number;
  /** History read before `from` to warm baselines up (days). Default 14. */
  warmupDays?: number;
}

/** One row of the "expected alerts per day per rule" table. */
export interface DayRuleCount {
  day: string;
  rule: string;
  findings: number;
  mediumOrAbove: number;
}

/**
 * `regwatch replay` core: streams Elasticsearch history in event-time order (point in time +
 * search_after, one page in memory) through the same detection as the live service, warming
 * baselines up on `warmupDays` before `from`, and yields the findings of [from, to).
 */
export async function* replayFromElasticsearch(
  client: Client,
  engine: DetectorEngine,
  summary: AnalyzeSummary,
  o: ReplayOptions,
): AsyncGenerator<Finding> {
  const events = async function* (): AsyncGenerator<DetectorEvent> {
    for await (const e of eventsInOrder(client, {
      index: o.index,
      fromMs: o.from - (o.warmupDays ?? 14) * DAY,
      toMs: o.to,
    })) {
      const d = toDetectorEvent(e);
      if (d) {
        summary.events++;
        yield d;
      } else summary.rejected++;
    }
  };
  yield* detectOrdered(events(), engine, summary, { from: o.from, to: o.to });
}

/** Counts findings per UTC day (of the window start) and rule, sorted by day then rule. */
export function perDayPerRule(findings: Iterable<Finding>): DayRuleCount[] {
  const latest = new Map<string, Finding>();
  for (const f of findings) {
    const prev = latest.get(f.id);
    if (!prev || severityRank(f.severity) > severityRank(prev.severity)) latest.set(f.id, f);
  }
  const rows = new Map<string, DayRuleCount>();
  for (const f of latest.values()) {
    const day = f.window.start.slice(0, 10);
    const k = `${day}|${f.rule}`;
    const r = rows.get(k) ?? { day, rule: f.rule, findings: 0, mediumOrAbove: 0 };
    r.findings++;
    if (severityRank(f.severity) >= severityRank('medium')) r.mediumOrAbove++;
    rows.set(k, r);
  }
  return [...rows.values()].sort((a, b) => a.day.localeCompare(b.day) || a.rule.localeCompare(b.rule));
}
