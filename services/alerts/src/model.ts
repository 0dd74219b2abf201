import type { Finding, Severity } from '../../../shared/src/model/finding.ts';
import type { Labels } from './labels.ts';

/** One alert as a notification shows it (a finding plus the state the alerts service keeps). */
export interface AlertView {
  /** Alert key: the finding id (stable across firing → resolved). */
  readonly key: string;
  readonly status: 'firing' | 'resolved';
  readonly labels: Labels;
  readonly finding: Finding;
  /** ms since epoch when this service first saw it firing. */
  readonly startsAt: number;
  /** ms since epoch when it resolved (resolved alerts only). */
  readonly endsAt?: number;
  /** True when the alert fired while a mute/silence hid it, and only its resolution is shown. */
  readonly mutedWhileFiring?: boolean;
  /**
   * Resolved alerts only: it fired and resolved before any notification told anyone it fired
   * (e.g. inside `group_wait`, a replayed late log): this notice is the only one about it.
   */
  readonly endedBeforeNotification?: boolean;
  /** Firing alerts only: the severity last notified, when the alert escalated since (e.g. `medium`). */
  readonly escalatedFrom?: Severity;
}

/** A file to deliver with a notification (capacity report chart). */
export interface Attachment {
  readonly filename: string;
  readonly contentType: string;
  readonly content: Buffer;
  /** Content-ID for inline use in HTML email (`<img src="cid:…">`). */
  readonly cid?: string;
}

/**
 * What a receiver is asked to deliver: one grouped notification (Alertmanager's "group" of
 * alerts), or a report. `key` is unique per notification and stable across retries and
 * restarts (group key + sequence number); channels use it as their idempotency / dedup key.
 */
export interface Notification {
  readonly kind: 'alert' | 'report' | 'health';
  readonly key: string;
  readonly groupKey: string;
  readonly receiver: string;
  /** `firing` when any alert fires, else `resolved`. */
  readonly status: 'firing' | 'resolved';
  readonly groupLabels: Labels;
  readonly firing: readonly AlertView[];
  readonly resolved: readonly AlertView[];
  /** Alerts left out by the per-key throttle since the last notification of this group. */
  readonly throttled: number;
  /** ms since epoch the notification was built. */
  readonly createdAt: number;
  /** Report / health notifications: title and body given directly. */
  readonly title?: string;
  readonly text?: string;
  readonly html?: string;
  readonly attachments?: readonly Attachment[];
  /** Public link to an attachment for channels that cannot carry files. */
  readonly link?: string;
}

/** Settings used to render human text (links to Kibana and to the silences API). */
export interface RenderSettings {
  /** Base URL of the alerts service, shown in "how to silence" (no token). */
  readonly alertsUrl?: string;
  /**
   * Data directory of `regwatch run`, when not the default `.data`: the printed silence command
   * then carries `--data-dir` so it finds the API URL and token written there.
   */
  readonly dataDir?: string;
  /**
   * Full mode: the CLI finds no token file, so the printed command ends with a shell comment
   * naming REGWATCH_ALERTS_TOKEN (never the token itself).
   */
  readonly tokenHint?: boolean;
}
