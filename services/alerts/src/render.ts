import type { AlertView, Notification, RenderSettings } from './model.ts';
import { labelsText } from './labels.ts';

/** The parts of one alert every channel shows (issue 7: what, entity, actual vs typical, evidence, severity, window, link, how to silence). */
export interface AlertParts {
  readonly status: 'firing' | 'resolved';
  readonly headline: string;
  readonly severity: string;
  readonly entity: string;
  readonly rule: string;
  /** e.g. `observed 1240 count vs typical 35 count (10–60)`. */
  readonly measure: string;
  /** e.g. `2026-11-29 09:00 → 09:15 UTC`. */
  readonly window: string;
  /** Top evidence lines (repositories, source IPs, user agents), at most 3 of each. */
  readonly evidence: readonly string[];
  readonly kibana?: string;
  /** CLI command that silences this alert for 2h. */
  readonly silence: string;
  readonly note?: string;
}

const fmtNum = (n: number): string =>
  Number.isInteger(n) ? n.toLocaleString('en-US') : n.toLocaleString('en-US', { maximumFractionDigits: 2 });

function fmtTime(iso: string): string {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toISOString().slice(0, 16).replace('T', ' ');
}

/** POSIX shell single-quoting, only when the value needs it (paths with spaces etc.). */
function shellQuote(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/** POSIX shell single-quoting, always (matcher values stay visibly quoted). */
const singleQuote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

/**
 * How the printed commands start: the package's bin through npx, which works as pasted from the
 * repository root (where `npm start` / `regwatch run` runs; README "Quick start"); a bare
 * `regwatch` is not on PATH after `npm install`.
 */
export const CLI_PREFIX = 'npx regwatch';

/** Ends the full-mode silence command: a shell comment, so the line still pastes as is. */
export const SILENCE_TOKEN_HINT = '# with REGWATCH_ALERTS_TOKEN set to a token of the alerts service';

/**
 * The shell command that silences one alert for 2h (matchers on rule and entity), e.g.
 * `npx regwatch silence add --matcher 'rule=auth.bruteforce_ip' --matcher 'entity=ip:198.51.100.9' --duration 2h --comment 'reason'`;
 * with `--url` / `--data-dir` when the settings say the API or the data dir are not the defaults,
 * and with SILENCE_TOKEN_HINT when `tokenHint` is set (full mode).
 */
export function silenceCommand(a: AlertView, settings: RenderSettings): string {
  const url = settings.alertsUrl ? ` --url ${shellQuote(settings.alertsUrl)}` : '';
  const dir = settings.dataDir ? ` --data-dir ${shellQuote(settings.dataDir)}` : '';
  const rule = singleQuote(`rule=${a.finding.rule}`);
  const entity = singleQuote(`entity=${a.labels['entity'] ?? ''}`);
  const hint = settings.tokenHint ? `  ${SILENCE_TOKEN_HINT}` : '';
  return `${CLI_PREFIX} silence add${url}${dir} --matcher ${rule} --matcher ${entity} --duration 2h --comment 'reason'${hint}`;
}

/** The one-line remark on an alert's state, if it needs one (escalated, muted, ended unseen). */
function noteOf(a: AlertView): string | undefined {
  if (a.endedBeforeNotification) return 'fired and ended before notification (this is the only notice of it)';
  if (a.mutedWhileFiring) return 'fired while muted; shown now that it resolved';
  if (a.escalatedFrom) return `escalated from ${a.escalatedFrom.toUpperCase()} to ${a.finding.severity.toUpperCase()}`;
  return undefined;
}

/** Builds the display parts of one alert. */
export function alertParts(a: AlertView, settings: RenderSettings): AlertParts {
  const f = a.finding;
  const o = f.observed;
  const e = f.expected;
  const bounds = e.lower !== undefined && e.upper !== undefined ? ` (${fmtNum(e.lower)}–${fmtNum(e.upper)})` : '';
  const evidence: string[] = [];
  const ev = f.evidence;
  if (ev.repositories.length > 0)
    evidence.push(
      `repositories: ${ev.repositories
        .slice(0, 3)
        .map((r) => `${r.name} (${fmtNum(r.count)})`)
        .join(', ')}`,
    );
  if (ev.source_ips.length > 0)
    evidence.push(
      `source IPs: ${ev.source_ips
        .slice(0, 3)
        .map((r) => `${r.ip} (${fmtNum(r.count)})`)
        .join(', ')}`,
    );
  if (ev.user_agents.length > 0)
    evidence.push(
      `user agents: ${ev.user_agents
        .slice(0, 3)
        .map((r) => `${r.name} (${fmtNum(r.count)})`)
        .join(', ')}`,
    );
  const start = fmtTime(f.window.start);
  const end = fmtTime(f.window.end);
  return {
    status: a.status,
    headline: f.message,
    severity: f.severity,
    entity: `${f.entity.type}:${f.entity.id}`,
    rule: f.rule,
    measure: `observed ${fmtNum(o.value)} ${o.unit} vs typical ${fmtNum(e.value)} ${e.unit}${bounds}`,
    window: `${start} → ${end.slice(0, 10) === start.slice(0, 10) ? end.slice(11) : end} UTC`,
    evidence,
    ...(f.links.discover ? { kibana: f.links.discover } : {}),
    silence: silenceCommand(a, settings),
    ...(noteOf(a) !== undefined ? { note: noteOf(a) } : {}),
  };
}

/** Alertmanager-style title: `[FIRING:2] pull.volume_spike {entity="user:alice"}`. */
export function notificationTitle(n: Notification): string {
  if (n.title) return n.title;
  const count = n.status === 'firing' ? n.firing.length : n.resolved.length;
  const rules = new Set([...n.firing, ...n.resolved].map((a) => a.finding.rule));
  const first = [...rules][0] ?? 'alert';
  const what = rules.size > 1 ? `${first} +${rules.size - 1}` : first;
  const gl = Object.keys(n.groupLabels).length > 0 ? ` ${labelsText(n.groupLabels)}` : '';
  return `[${n.status.toUpperCase()}:${count}] ${what}${gl}`;
}

/** All alerts of a notification as parts, firing first (highest severity first), then resolved. */
export function notificationParts(n: Notification, settings: RenderSettings): AlertParts[] {
  const rank = ['critical', 'high', 'medium', 'low', 'info'];
  const firing = [...n.firing].sort((a, b) => rank.indexOf(a.finding.severity) - rank.indexOf(b.finding.severity));
  return [...firing, ...n.resolved].map((a) => alertParts(a, settings));
}

/** Plain-text body (email text part, console, chat fallbacks). */
export function plainText(n: Notification, settings: RenderSettings): string {
  if (n.kind !== 'alert') return `${notificationTitle(n)}\n\n${n.text ?? ''}${n.link ? `\n\n${n.link}` : ''}`;
  const lines: string[] = [notificationTitle(n), ''];
  for (const p of notificationParts(n, settings)) {
    lines.push(`${p.status === 'firing' ? '🔥' : '✅'} [${p.severity.toUpperCase()}] ${p.rule} — ${p.entity}`);
    lines.push(`  ${p.headline}`);
    lines.push(`  ${p.measure}`);
    lines.push(`  window: ${p.window}`);
    for (const e of p.evidence) lines.push(`  ${e}`);
    if (p.kibana) lines.push(`  Kibana: ${p.kibana}`);
    if (p.note) lines.push(`  note: ${p.note}`);
    if (p.status === 'firing') lines.push(`  silence: ${p.silence}`);
    lines.push('');
  }
  if (n.throttled > 0) lines.push(`(${n.throttled} similar alert(s) held back by the per-key throttle)`);
  return lines.join('\n').trimEnd();
}

/** Markdown body (Mattermost, Teams text, DingTalk, WeCom, Telegram-free text). */
export function markdown(n: Notification, settings: RenderSettings): string {
  if (n.kind !== 'alert')
    return `**${notificationTitle(n)}**\n\n${n.text ?? ''}${n.link ? `\n\n[open](${n.link})` : ''}`;
  const out: string[] = [`**${notificationTitle(n)}**`, ''];
  for (const p of notificationParts(n, settings)) {
    out.push(`${p.status === 'firing' ? '🔥' : '✅'} **[${p.severity.toUpperCase()}] ${p.rule}** — \`${p.entity}\``);
    out.push(`${p.headline}  `);
    out.push(`${p.measure}  `);
    out.push(`window: ${p.window}  `);
    for (const e of p.evidence) out.push(`${e}  `);
    if (p.kibana) out.push(`[Open in Kibana](${p.kibana})  `);
    if (p.note) out.push(`_${p.note}_  `);
    if (p.status === 'firing') out.push(`silence: \`${p.silence}\``);
    out.push('');
  }
  if (n.throttled > 0) out.push(`_${n.throttled} similar alert(s) held back by the per-key throttle_`);
  return out.join('\n').trimEnd();
}
