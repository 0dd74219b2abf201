/**
 * The synthetic event stream of `npm run bench:detect` (bench/detector.ts), shared with the A/B
 * harness (bench/detector-ab.ts) so both measure the same events. Deterministic for a given
 * (n, identities, start, spanMs, seed). See bench/detector.ts's header for what the stream holds
 * and how it changed over the optimisation rounds.
 */
import type { DetectorEvent } from '../services/detector/src/event.ts';

function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A fresh flat copy of `s`, as a consumer gets every string of every message from JSON.parse (a
 * template literal of 13+ characters is a V8 cons string instead, flattened again by the first
 * Map lookup of each event: a cost no real consumer pays).
 */
const fresh = (s: string): string => JSON.parse(JSON.stringify(s)) as string;

/** A 32-hex event id like the normalizer's stableId (deterministic, distinct per i and seed). */
function hexId(i: number, seed: number): string {
  let h = Math.imul(i + 1, 0x9e3779b1) ^ Math.imul(seed, 0x85ebca77);
  let s = '';
  for (let k = 0; k < 4; k++) {
    h = Math.imul(h ^ (h >>> 15), 0x2c1b3c6d) ^ (k + 1);
    h = Math.imul(h ^ (h >>> 12), 0x297a2d39);
    s += (h >>> 0).toString(16).padStart(8, '0');
  }
  return s;
}

/** A UUID-shaped `http.request.id` (Distribution logs a v4 UUID per request). */
function uuidOf(i: number, seed: number): string {
  const x = hexId(i, seed + 7919);
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-4${x.slice(13, 16)}-a${x.slice(17, 20)}-${x.slice(20, 32)}`;
}

/**
 * `n` DetectorEvents for `identities` identities, event times spread evenly over
 * [`start`, `start + spanMs`) (ms since epoch), in client sessions of 1–6 requests of one identity
 * and one repository; every string is a fresh flat copy (as JSON.parse gives a consumer).
 */
export function makeEvents(n: number, identities: number, start: number, spanMs: number, seed = 1): DetectorEvent[] {
  const r = rng(seed);
  const out: DetectorEvent[] = new Array(n);
  let who = 0;
  let left = 0;
  let repo = '';
  for (let i = 0; i < n; i++) {
    // Sessions: a client's requests come in runs of one repository (one image pull = a manifest
    // and its layers).
    if (left-- <= 0) {
      who = Math.floor(r() * identities);
      left = Math.floor(r() * 6);
      repo = `team-${who % 20}/svc-${Math.floor(r() * 8)}`;
    }
    const u = r();
    const action =
      u < 0.55
        ? 'manifest-pull'
        : u < 0.85
          ? 'blob-pull'
          : u < 0.93
            ? 'manifest-head'
            : u < 0.96
              ? 'manifest-push'
              : u < 0.98
                ? 'tags-list'
                : 'login-failure';
    const ts = start + Math.floor((i / n) * spanMs);
    const user = fresh(`user${who}`);
    out[i] = {
      ts,
      time: new Date(ts).toISOString(),
      id: fresh(hexId(i, seed)),
      action,
      outcome: action === 'login-failure' ? 'failure' : 'success',
      dataset: 'oci_registry.log',
      identity: user,
      user,
      ip: fresh(`10.${who % 200}.${(who >> 8) % 200}.${who % 250}`),
      actorKind: who % 10 === 0 ? 'robot' : 'user',
      anonymous: false,
      repository: fresh(repo),
      namespace: fresh(repo.split('/')[0]!),
      // CI re-pushes a release with the same content (same digest per repository and tag); one push
      // in 2,000 re-points a released tag (tag.released_repointed fires on those).
      tag: action === 'manifest-push' ? `1.${i % 100}.0` : undefined,
      digest:
        action === 'manifest-push'
          ? `sha256:${((who % 20) * 100 + (i % 100) + (r() < 0.0005 ? 7 : 0)).toString(16).padStart(64, '0')}`
          : undefined,
      bytes: action === 'blob-pull' ? 20_000_000 : 0,
      status: action === 'login-failure' ? 401 : 200,
      userAgent: fresh('containerd/v1.7.13'),
      imagePull: action === 'manifest-pull',
      head: action === 'manifest-head',
      requestId: fresh(uuidOf(i, seed)),
      durationNs: 12_000_000,
      attemptedUser: undefined,
    } as DetectorEvent;
  }
  return out;
}
