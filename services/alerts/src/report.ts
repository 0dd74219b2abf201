import type { Deliverer, ChannelResult } from './delivery.ts';
import type { Notification } from './model.ts';

/** The capacity report as built by services/detector/src/forecast/report.ts (`buildCapacityReport`). */
export interface CapacityReportLike {
  readonly title: string;
  readonly markdown: string;
  readonly html: string;
  readonly png: Buffer;
}

/** Content-ID of the chart in the report e-mail (`<img src="cid:capacity-chart">`). */
export const REPORT_CHART_CID = 'capacity-chart';

/**
 * Wraps the weekly capacity report as a `report` notification: markdown text for chat, HTML +
 * the PNG chart inline for e-mail, and the chart as a photo where a channel accepts images
 * (Telegram). Channels that cannot carry files show `link` (where the report is published).
 * @param now ms since epoch; the key is stable per receiver and week so a re-run does not re-send twice to idempotent channels.
 */
export function capacityNotification(
  report: CapacityReportLike,
  receiver: string,
  now: number,
  link?: string,
): Notification {
  const week = new Date(now).toISOString().slice(0, 10);
  return {
    kind: 'report',
    key: `report:capacity:${receiver}:${week}`,
    groupKey: `report:capacity:${receiver}`,
    receiver,
    status: 'firing',
    groupLabels: {},
    firing: [],
    resolved: [],
    throttled: 0,
    createdAt: now,
    title: report.title,
    text: report.markdown,
    html: report.html,
    attachments: [{ filename: 'capacity.png', contentType: 'image/png', content: report.png, cid: REPORT_CHART_CID }],
    ...(link ? { link } : {}),
  };
}

/** Delivers the capacity report to a receiver (all its channels, retries and records as for alerts). */
export function deliverCapacityReport(
  deliverer: Deliverer,
  report: CapacityReportLike,
  receiver: string,
  now: number,
  link?: string,
): Promise<ChannelResult[]> {
  return deliverer.deliverTo(receiver, capacityNotification(report, receiver, now, link));
}
