import type { EventAction, RegistryEvent } from '../../../shared/src/model/registry-event.ts';
import { toDetectorEvent, type DetectorEvent } from '../../../services/detector/src/event.ts';
import {
  activeRules,
  createEngine,
  parseDetectionConfig,
  type DetectionConfigInput,
} from '../../../services/detector/src/config.ts';
import { DetectorEngine } from '../../../services/detector/src/engine.ts';
import type { Detection } from '../../../services/detector/src/findings.ts';

let seq = 0;

export interface EvOpts {
  user?: string;
  ip?: string;
  kind?: 'user' | 'robot' | 'service' | 'anonymous';
  repo?: string;
  tag?: string;
  digest?: string;
  bytes?: number;
  status?: number;
  ua?: string;
  requestId?: string;
  durationMs?: number;
  dataset?: RegistryEvent['event']['dataset'];
  attemptedUser?: string;
  id?: string;
}

/** A normalized RegistryEvent as the normalizer would produce it, projected for the detector. */
export function ev(at: number | string, action: EventAction, o: EvOpts = {}): DetectorEvent {
  const ts = typeof at === 'number' ? at : Date.parse(at);
  const status = o.status ?? (action === 'login-failure' ? 401 : action === 'access-denied' ? 403 : 200);
  const kind = o.kind ?? (o.user ? 'user' : 'anonymous');
  const e: RegistryEvent = {
    '@timestamp': new Date(ts).toISOString(),
    event: {
      kind: 'event',
      category: ['web'],
      type: ['access'],
      action,
      outcome: status >= 400 ? 'failure' : 'success',
      id: o.id ?? `e${++seq}`,
      dataset: o.dataset ?? 'oci_registry.log',
      ...(o.durationMs !== undefined ? { duration: o.durationMs * 1e6 } : {}),
    },
    ...(o.user ? { user: { name: o.user } } : {}),
    source: { ip: o.ip ?? '10.0.0.1' },
    user_agent: { original: o.ua ?? 'containerd/1.7.2' },
    http: {
      request: { method: 'GET', ...(o.requestId ? { id: o.requestId } : {}) },
      response: { status_code: status, ...(o.bytes ? { body: { bytes: o.bytes } } : {}) },
    },
    oci_registry: {
      image_pull: action === 'manifest-pull' && status < 400,
      actor: { kind, anonymous: !o.user },
      source_format: 'test',
      ...(o.repo ? { repository: o.repo, namespace: o.repo.split('/')[0] } : {}),
      ...(o.tag ? { tag: o.tag } : {}),
      ...(o.digest ? { digest: o.digest } : {}),
      ...(o.attemptedUser ? { attempted_user: o.attemptedUser } : {}),
    },
  };
  const d = toDetectorEvent(e);
  if (!d) throw new Error('bad test event');
  return d;
}

export function engineWith(input: DetectionConfigInput = {}): DetectorEngine {
  return createEngine(parseDetectionConfig(input));
}

/** Runs events through the engine (then flushes) and returns all detections. */
export function runAll(engine: DetectorEngine, events: readonly DetectorEvent[], flush = true): Detection[] {
  const out: Detection[] = [];
  for (const e of events) out.push(...engine.process(e));
  if (flush) out.push(...engine.flush());
  return out;
}

export const H = 3_600_000;
export const D = 24 * H;

/** Working-hours history: `perHour` pulls of `repos` by `user` on weekdays `fromHour`–`toHour` UTC for `days` days from `start`. */
export function history(
  user: string,
  start: number,
  days: number,
  perHour: number,
  opts: { fromHour?: number; toHour?: number; repos?: string[]; ip?: string; kind?: EvOpts['kind']; ua?: string } = {},
): DetectorEvent[] {
  const out: DetectorEvent[] = [];
  const repos = opts.repos ?? ['team-a/api', 'team-a/web'];
  for (let d = 0; d < days; d++) {
    const day = start + d * D;
    const wd = new Date(day).getUTCDay();
    if (wd === 0 || wd === 6) continue;
    for (let h = opts.fromHour ?? 9; h < (opts.toHour ?? 17); h++) {
      for (let i = 0; i < perHour; i++) {
        out.push(
          ev(day + h * H + Math.floor(((i + 0.5) * H) / perHour), 'manifest-pull', {
            user,
            repo: repos[i % repos.length]!,
            ip: opts.ip ?? '10.1.0.5',
            kind: opts.kind,
            ua: opts.ua,
          }),
        );
      }
    }
  }
  return out;
}

export const rulesOf = (ds: readonly Detection[], rule: string): Detection[] => ds.filter((d) => d.rule === rule);

/** Simulates a restart: snapshot → JSON → a new engine from the snapshot. */
export function restart(engine: DetectorEngine, input: DetectionConfigInput = {}): DetectorEngine {
  const cfg = parseDetectionConfig(input);
  const snap = JSON.parse(JSON.stringify(engine.snapshot())) as ReturnType<DetectorEngine['snapshot']>;
  return DetectorEngine.fromSnapshot(snap, engine.settings, activeRules(cfg));
}
