/**
 * The real-registry proof of the normalizer: the Debian `docker-registry` (CNCF Distribution
 * 2.8.2) is driven by the real `skopeo` 1.9.3; everything the registry printed (JSON app log on
 * stderr, Apache combined access log on stdout) and every notification it POSTed is normalized,
 * and the counts that detection relies on are asserted exactly.
 *
 * How requests are counted. One HTTP request can yield several documents: its notification event
 * (`oci_registry.notification`, carries the user), its app-log completion line
 * (`oci_registry.log`; in 2.x the success line has no `auth.user.name`) and its access-log line
 * (`oci_registry.access`, no request id, no user). Notification and app-log documents of one
 * request share `http.request.id` (FORMATS.md §1a.3), so "image pulls" are counted as the set of
 * distinct `http.request.id` values over notification + app-log events with
 * `oci_registry.image_pull: true`, attributed to the `user.name` of that request's notification.
 * Access-log lines cannot be joined (no id) and are checked separately (parsed, never
 * rejected). Each step is isolated: the test records which output lines and notifications belong
 * to which step (a sentinel request marks the end of a step's log output, and the step's
 * successful manifest/blob requests must all have been notified before the next step starts).
 *
 * What the real registry does that matters here (seen in the saved run,
 * test/fixtures/real-registry/):
 * - `skopeo inspect` GETs the manifest by tag, the config blob and the tag list: the registry cannot
 *   tell it from a pull whose layers are cached, so it counts as one image pull.
 * - `skopeo delete` GETs the manifest by digest before the DELETE: one image pull for the deleter.
 * - every skopeo command starts with an unauthenticated `GET /v2/` answered 401 (a challenge,
 *   never a failed login).
 * - a wrong password logs `error authenticating user "<name>": authentication failure` (level
 *   error; 2.8.2 htpasswd) and then `error authorizing context: … authentication failure`.
 *
 * Set REGWATCH_SAVE_REGISTRY_RUN=<dir> to write this run's raw output there (registry-output.log,
 * notifications.ndjson, steps.json) — that is how test/fixtures/real-registry/ was made.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createNormalizer } from '../../shared/src/normalize/index.ts';
import type { NormalizeResult } from '../../shared/src/normalize/types.ts';
import type { RegistryEvent } from '../../shared/src/model/registry-event.ts';
import { buildOciLayout, skopeo, startRegistry } from '../helpers/registry.ts';
import type { OciLayout, RegistryHandle } from '../helpers/registry.ts';

const USERS = { alice: 'alice-Secret-1', bob: 'bob-Secret-2', carol: 'carol-Secret-3' };
const NOTIFY_TOKEN = 'regwatch-notify-token';

interface Notification {
  contentType: string;
  authorization: string;
  body: string;
}

interface StepRecord {
  name: string;
  user: string;
  command: string[];
  exitCode: number;
  /** Output lines [from, to) of this step in `RegistryHandle.stdoutLines()`. */
  lines: [number, number];
  /** Notifications [from, to) of this step. */
  notifications: [number, number];
}

interface StepData {
  record: StepRecord;
  logEvents: RegistryEvent[];
  notificationEvents: RegistryEvent[];
  logRejected: NormalizeResult[];
  notificationRejected: NormalizeResult[];
}

const notifications: Notification[] = [];
const steps: StepData[] = [];
let receiver: Server;
let registry: RegistryHandle;
let work: string;
let single: OciLayout;
let multi: OciLayout;

const basic = (user: keyof typeof USERS): string => 'Basic ' + Buffer.from(`${user}:${USERS[user]}`).toString('base64');

function parseJson(line: string): Record<string, unknown> | undefined {
  if (!line.startsWith('{')) return undefined;
  try {
    return JSON.parse(line) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

/**
 * Request ids of a step's app-log lines whose request must produce a notification (FORMATS.md
 * §1a.4): a successful (2xx) GET/HEAD/PUT/DELETE on `/v2/<name>/manifests/<ref>` or
 * `/v2/<name>/blobs/<digest>`, or the finishing `PUT …/blobs/uploads/<uuid>` (201).
 */
function notifiableRequestIds(lines: string[]): Set<string> {
  const ids = new Set<string>();
  for (const line of lines) {
    const j = parseJson(line);
    if (!j || j['msg'] !== 'response completed') continue;
    const status = j['http.response.status'];
    const uri = String(j['http.request.uri'] ?? '').split('?')[0] ?? '';
    const method = String(j['http.request.method']);
    if (typeof status !== 'number' || status < 200 || status > 299) continue;
    const content = /^\/v2\/.+\/(manifests|blobs)\/[^/]+$/.test(uri) && !uri.includes('/blobs/uploads/');
    const uploadDone = method === 'PUT' && status === 201 && /\/blobs\/uploads\/[^/]+$/.test(uri);
    if ((content && ['GET', 'HEAD', 'PUT', 'DELETE'].includes(method)) || uploadDone) {
      ids.add(String(j['http.request.id']));
    }
  }
  return ids;
}

function notifiedRequestIds(from: number): Set<string> {
  const ids = new Set<string>();
  for (const n of notifications.slice(from)) {
    const env = JSON.parse(n.body) as { events?: { request?: { id?: string } }[] };
    for (const e of env.events ?? []) if (e.request?.id) ids.add(e.request.id);
  }
  return ids;
}

async function until(what: string, cond: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Runs one client action and records the registry output and notifications it caused. After the
 * action, a sentinel `GET /v2/` (no credentials, unique User-Agent) is sent; once its app-log and
 * access-log lines are printed, every earlier request of the step has been logged. Then the step
 * waits until every notifiable request of the step has been notified.
 */
async function step(
  name: string,
  user: string,
  command: string[],
  action: () => Promise<number>,
  expectExit = 0,
): Promise<void> {
  const lineFrom = registry.stdoutLines().length;
  const notFrom = notifications.length;
  const exitCode = await action();
  assert.equal(exitCode, expectExit, `step ${name}: exit code`);
  const ua = `regwatch-sentinel/${steps.length}`;
  const res = await fetch(`${registry.url}/v2/`, { headers: { 'User-Agent': ua } });
  await res.arrayBuffer();
  assert.equal(res.status, 401);
  await registry.waitForLine((l) => l.includes(`"http.request.useragent":"${ua}"`));
  await registry.waitForLine((l) => !l.startsWith('{') && l.endsWith(`"${ua}"`));
  const stepLines = registry.stdoutLines().slice(lineFrom);
  const want = notifiableRequestIds(stepLines);
  await until(`notifications of step ${name}`, () => {
    const got = notifiedRequestIds(notFrom);
    return [...want].every((id) => got.has(id));
  });
  // One request can fan out into several notifications (a DELETE by digest → manifest + tag
  // delete), which the registry may POST separately: wait until no new POST came for 500 ms.
  for (let seen = notifications.length, quietSince = Date.now(); Date.now() - quietSince < 500;) {
    await new Promise((r) => setTimeout(r, 50));
    if (notifications.length !== seen) {
      seen = notifications.length;
      quietSince = Date.now();
    }
  }
  const lineTo = registry.stdoutLines().length;
  const notTo = notifications.length;
  steps.push({
    record: { name, user, command, exitCode, lines: [lineFrom, lineTo], notifications: [notFrom, notTo] },
    logEvents: [],
    notificationEvents: [],
    logRejected: [],
    notificationRejected: [],
  });
}

function skopeoStep(name: string, user: string, args: string[], expectExit = 0): Promise<void> {
  return step(
    name,
    user,
    ['skopeo', ...args],
    async () => {
      const r = await skopeo(args);
      if (r.code !== expectExit) throw new Error(`skopeo ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
      return r.code;
    },
    expectExit,
  );
}

const creds = (user: keyof typeof USERS, password = USERS[user]): string => `${user}:${password}`;

function stepData(name: string): StepData {
  const s = steps.find((x) => x.record.name === name);
  assert.ok(s, `step ${name} ran`);
  return s;
}

/** Distinct http.request.id of image pulls (notification + app log), each with its notified user. */
function imagePulls(s: StepData[]): Map<string, string | undefined> {
  const pulls = new Map<string, string | undefined>();
  const userOf = new Map<string, string>();
  for (const x of s) {
    for (const e of x.notificationEvents) {
      const id = e.http?.request?.id;
      if (id && e.user?.name) userOf.set(id, e.user.name);
    }
  }
  for (const x of s) {
    for (const e of [...x.notificationEvents, ...x.logEvents]) {
      if (e.event.dataset === 'oci_registry.access' || !e.oci_registry.image_pull) continue;
      const id = e.http?.request?.id;
      assert.ok(id, `an image pull without http.request.id: ${JSON.stringify(e)}`);
      pulls.set(id, userOf.get(id) ?? e.user?.name);
    }
  }
  return pulls;
}

const count = (m: Map<string, string | undefined>, user: string): number =>
  [...m.values()].filter((u) => u === user).length;

const actions = (events: RegistryEvent[], action: string, dataset?: string): RegistryEvent[] =>
  events.filter((e) => e.event.action === action && (dataset === undefined || e.event.dataset === dataset));

describe('real Distribution 2.8 registry driven by skopeo, normalized', { timeout: 300_000 }, () => {
  before(async () => {
    receiver = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        notifications.push({
          contentType: String(req.headers['content-type'] ?? ''),
          authorization: String(req.headers['authorization'] ?? ''),
          body: Buffer.concat(chunks).toString('utf8'),
        });
        res.writeHead(200).end();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    const addr = receiver.address();
    assert.ok(addr && typeof addr === 'object');
    registry = await startRegistry({
      users: USERS,
      notifyUrl: `http://127.0.0.1:${addr.port}/registry-events`,
      notifyToken: NOTIFY_TOKEN,
    });
    work = await mkdtemp(join(tmpdir(), 'regwatch-registry-normalize-'));
    single = await buildOciLayout(join(work, 'single'), { tag: 'v1', layers: 2 });
    multi = await buildOciLayout(join(work, 'multi'), {
      tag: 'v1',
      layers: 2,
      platforms: [
        { os: 'linux', architecture: 'amd64' },
        { os: 'linux', architecture: 'arm64' },
      ],
    });
    const H = registry.host;
    const app = `docker://${H}/team/app`;

    await skopeoStep('push', 'alice', [
      'copy',
      '--dest-tls-verify=false',
      '--dest-creds',
      creds('alice'),
      single.reference,
      `${app}:v1`,
    ]);
    await skopeoStep('pull-by-tag', 'bob', [
      'copy',
      '--src-tls-verify=false',
      '--src-creds',
      creds('bob'),
      `${app}:v1`,
      `dir:${join(work, 'pull-by-tag')}`,
    ]);
    await skopeoStep('pull-by-digest', 'bob', [
      'copy',
      '--src-tls-verify=false',
      '--src-creds',
      creds('bob'),
      `${app}@${single.digest}`,
      `dir:${join(work, 'pull-by-digest')}`,
    ]);
    // The existence check `docker pull` makes before fetching: HEAD on the manifest by tag.
    await step('head-check', 'bob', ['curl', '-I', `${registry.url}/v2/team/app/manifests/v1`], async () => {
      const res = await fetch(`${registry.url}/v2/team/app/manifests/v1`, {
        method: 'HEAD',
        headers: {
          Authorization: basic('bob'),
          Accept: 'application/vnd.oci.image.manifest.v1+json',
          'User-Agent': 'regwatch-test-head/1.0',
        },
      });
      assert.equal(res.status, 200);
      return 0;
    });
    await skopeoStep('inspect', 'bob', ['inspect', '--tls-verify=false', '--creds', creds('bob'), `${app}:v1`]);
    await skopeoStep('list-tags', 'bob', ['list-tags', '--tls-verify=false', '--creds', creds('bob'), app]);
    await skopeoStep(
      'wrong-password',
      'carol',
      ['inspect', '--tls-verify=false', '--creds', creds('carol', 'not-the-password'), `${app}:v1`],
      1,
    );
    await skopeoStep('push-multi-arch', 'alice', [
      'copy',
      '--all',
      '--dest-tls-verify=false',
      '--dest-creds',
      creds('alice'),
      multi.reference,
      `docker://${H}/team/multi:v1`,
    ]);
    await skopeoStep('pull-multi-arch', 'bob', [
      'copy',
      '--src-tls-verify=false',
      '--src-creds',
      creds('bob'),
      `docker://${H}/team/multi:v1`,
      `dir:${join(work, 'pull-multi-arch')}`,
    ]);
    await skopeoStep('delete', 'alice', [
      'delete',
      '--tls-verify=false',
      '--creds',
      creds('alice'),
      `${app}@${single.digest}`,
    ]);

    // Normalize: the merged registry output as one stream (as a collector tailing the container
    // log sees it), each notification POST body as a payload with its Content-Type, all POSTs through
    // one long-lived normalizer (as the receiver does) so the multi-arch pull-once rule spans POSTs.
    const lines = registry.stdoutLines();
    const normalizer = createNormalizer();
    const notificationNormalizer = createNormalizer();
    for (const s of steps) {
      for (const line of lines.slice(...s.record.lines)) {
        for (const r of normalizer.push(line, { origin: 'registry-output' })) {
          if (r.kind === 'event') s.logEvents.push(r.event);
          else if (r.kind === 'rejected') s.logRejected.push(r);
        }
      }
      for (const n of notifications.slice(...s.record.notifications)) {
        for (const r of notificationNormalizer.pushPayload(n.body, 'notification', { contentType: n.contentType })) {
          if (r.kind === 'event') s.notificationEvents.push(r.event);
          else if (r.kind === 'rejected') s.notificationRejected.push(r);
        }
      }
    }
    const last = steps.at(-1);
    for (const r of normalizer.flush()) if (r.kind === 'event') last?.logEvents.push(r.event);

    const saveDir = process.env['REGWATCH_SAVE_REGISTRY_RUN'];
    if (saveDir) {
      await mkdir(saveDir, { recursive: true });
      await writeFile(join(saveDir, 'registry-output.log'), lines.join('\n') + '\n');
      await writeFile(
        join(saveDir, 'notifications.ndjson'),
        notifications
          .map((n) => JSON.stringify({ content_type: n.contentType, authorization: n.authorization, body: n.body }))
          .join('\n') + '\n',
      );
      await writeFile(
        join(saveDir, 'steps.json'),
        JSON.stringify(
          {
            registry: 'docker-registry 2.8.2+ds1 (Debian), log.formatter json, htpasswd, notifications v1',
            client: 'skopeo 1.9.3',
            host: registry.host,
            single: { reference: 'team/app:v1', digest: single.digest, images: single.images },
            multi: { reference: 'team/multi:v1', digest: multi.digest, images: multi.images },
            steps: steps.map((s) => s.record),
          },
          null,
          2,
        ) + '\n',
      );
    }
  });

  after(async () => {
    await registry?.stop();
    await new Promise<void>((resolve) => (receiver ? receiver.close(() => resolve()) : resolve()));
    if (work) await rm(work, { recursive: true, force: true });
  });

  test('nothing the registry printed or sent is rejected', () => {
    for (const s of steps) {
      assert.deepEqual(
        s.logRejected.map((r) => (r.kind === 'rejected' ? `${r.reason}: ${r.original.slice(0, 200)}` : '')),
        [],
        `log lines rejected in step ${s.record.name}`,
      );
      assert.deepEqual(s.notificationRejected, [], `notifications rejected in step ${s.record.name}`);
    }
  });

  test('notifications: one event per POST, v1 media type, bearer token from the config', () => {
    assert.ok(notifications.length > 0);
    for (const n of notifications) {
      assert.equal(n.contentType, 'application/vnd.docker.distribution.events.v1+json');
      assert.equal(n.authorization, `Bearer ${NOTIFY_TOKEN}`);
      const env = JSON.parse(n.body) as { events: unknown[] };
      assert.equal(env.events.length, 1);
    }
    const total = steps.reduce((a, s) => a + s.notificationEvents.length, 0);
    assert.equal(total, notifications.length);
    for (const s of steps) {
      for (const e of s.notificationEvents) {
        assert.equal(e.event.dataset, 'oci_registry.notification');
        assert.equal(e.oci_registry.source_format, 'notification-v1');
      }
    }
  });

  test('push: exactly one manifest-push (alice, tag v1, image digest), no image pull, 3 blob pushes', () => {
    const s = stepData('push');
    const pushes = actions(s.notificationEvents, 'manifest-push');
    assert.equal(pushes.length, 1);
    const p = pushes[0];
    assert.equal(p?.user?.name, 'alice');
    assert.equal(p?.oci_registry.tag, 'v1');
    assert.equal(p?.oci_registry.digest, single.digest);
    assert.equal(p?.oci_registry.repository, 'team/app');
    assert.equal(p?.oci_registry.image_pull, false);
    assert.equal(actions(s.notificationEvents, 'blob-push').length, 3, 'two layers and the config');
    const logPushes = actions(s.logEvents, 'manifest-push', 'oci_registry.log');
    assert.equal(logPushes.length, 1);
    assert.equal(logPushes[0]?.http?.request?.id, p?.http?.request?.id, 'log and notification join on request id');
    assert.equal(imagePulls([s]).size, 0);
    assert.equal(actions([...s.logEvents, ...s.notificationEvents], 'login-failure').length, 0);
  });

  test('pull by tag: exactly one image pull, by bob, tag v1', () => {
    const s = stepData('pull-by-tag');
    const pulls = imagePulls([s]);
    assert.equal(pulls.size, 1);
    assert.equal(count(pulls, 'bob'), 1);
    const n = s.notificationEvents.filter((e) => e.oci_registry.image_pull);
    assert.equal(n.length, 1);
    assert.equal(n[0]?.event.action, 'manifest-pull');
    assert.equal(n[0]?.oci_registry.tag, 'v1');
    assert.equal(n[0]?.oci_registry.digest, single.digest);
    assert.equal(actions(s.notificationEvents, 'blob-pull').length, 3);
    assert.ok(
      s.notificationEvents.filter((e) => e.event.action === 'blob-pull').every((e) => !e.oci_registry.image_pull),
    );
  });

  test('pull by digest: exactly one image pull, by bob, no tag', () => {
    const s = stepData('pull-by-digest');
    const pulls = imagePulls([s]);
    assert.equal(pulls.size, 1);
    assert.equal(count(pulls, 'bob'), 1);
    const n = s.notificationEvents.filter((e) => e.oci_registry.image_pull);
    assert.equal(n.length, 1);
    assert.equal(n[0]?.oci_registry.tag, undefined);
    assert.equal(n[0]?.oci_registry.digest, single.digest);
  });

  test('HEAD manifest check: a manifest-head notification for bob, zero image pulls', () => {
    const s = stepData('head-check');
    const heads = actions(s.notificationEvents, 'manifest-head');
    assert.equal(heads.length, 1);
    assert.equal(heads[0]?.user?.name, 'bob');
    assert.equal(heads[0]?.oci_registry.head, true);
    assert.equal(imagePulls([s]).size, 0);
    assert.equal(
      s.logEvents.filter((e) => e.oci_registry.image_pull).length,
      0,
      'no log or access-log event of a HEAD counts',
    );
  });

  test('skopeo inspect: one image pull (manifest GET by tag), one tags-list', () => {
    const s = stepData('inspect');
    const pulls = imagePulls([s]);
    assert.equal(pulls.size, 1);
    assert.equal(count(pulls, 'bob'), 1);
    assert.equal(actions(s.logEvents, 'tags-list', 'oci_registry.log').length, 1);
  });

  test('skopeo list-tags: one tags-list request, no image pull, no notification', () => {
    const s = stepData('list-tags');
    assert.equal(actions(s.logEvents, 'tags-list', 'oci_registry.log').length, 1);
    assert.equal(actions(s.logEvents, 'tags-list', 'oci_registry.access').length, 1);
    assert.equal(s.notificationEvents.length, 0);
    assert.equal(imagePulls([s]).size, 0);
  });

  test('wrong password: exactly one login-failure, for carol; nothing pulled', () => {
    const s = stepData('wrong-password');
    const failures = actions([...s.logEvents, ...s.notificationEvents], 'login-failure');
    assert.equal(failures.length, 1, JSON.stringify(failures.map((f) => f.event.original ?? f.http?.request?.id)));
    const f = failures[0];
    assert.equal(f?.user?.name ?? f?.oci_registry.attempted_user, 'carol');
    assert.equal(f?.event.outcome, 'failure');
    assert.equal(imagePulls([s]).size, 0);
    assert.equal(s.notificationEvents.length, 0);
  });

  test('401 challenges are never login failures for alice or bob', () => {
    const all = steps.flatMap((s) => [...s.logEvents, ...s.notificationEvents]);
    const failures = actions(all, 'login-failure');
    assert.equal(failures.length, 1, 'only carol');
    for (const f of failures) {
      assert.notEqual(f.user?.name, 'alice');
      assert.notEqual(f.user?.name, 'bob');
    }
    // Every skopeo command plus the sentinel starts with an unauthenticated GET /v2/ → 401.
    const challenges = all.filter(
      (e) => e.event.dataset === 'oci_registry.log' && e.http?.request?.method === 'GET' && e.url?.path === '/v2/',
    );
    assert.ok(challenges.length >= steps.length * 2 - 1, `challenges seen: ${challenges.length}`);
    for (const c of challenges) {
      assert.equal(c.event.action, 'auth-challenge');
      assert.equal(c.user?.name, undefined);
    }
  });

  test('multi-arch push: three manifest-push events (two platform manifests by digest, the index by tag)', () => {
    const s = stepData('push-multi-arch');
    const pushes = actions(s.notificationEvents, 'manifest-push');
    assert.equal(pushes.length, 3);
    const tagged = pushes.filter((p) => p.oci_registry.tag === 'v1');
    assert.equal(tagged.length, 1);
    assert.equal(tagged[0]?.oci_registry.digest, multi.digest);
    assert.equal(tagged[0]?.oci_registry.object_kind, 'index');
    assert.deepEqual(
      pushes
        .filter((p) => p.oci_registry.tag === undefined)
        .map((p) => p.oci_registry.digest)
        .sort(),
      multi.images.map((i) => i.manifestDigest).sort(),
    );
    assert.equal(imagePulls([s]).size, 0);
  });

  test('multi-arch pull: index + platform manifest GETs count as one image pull for bob', () => {
    const s = stepData('pull-multi-arch');
    assert.equal(actions(s.notificationEvents, 'manifest-pull').length, 2, 'index by tag, platform manifest by digest');
    const pulls = imagePulls([s]);
    assert.equal(pulls.size, 1, `image pulls: ${JSON.stringify([...pulls])}`);
    assert.equal(count(pulls, 'bob'), 1);
  });

  test('delete by digest: one manifest-delete and one tag-delete (fan-out, same request)', () => {
    const s = stepData('delete');
    const md = actions(s.notificationEvents, 'manifest-delete');
    const td = actions(s.notificationEvents, 'tag-delete');
    assert.equal(md.length, 1);
    assert.equal(td.length, 1);
    assert.equal(md[0]?.oci_registry.digest, single.digest);
    assert.equal(md[0]?.user?.name, 'alice');
    assert.equal(td[0]?.oci_registry.tag, 'v1');
    assert.equal(md[0]?.http?.request?.id, td[0]?.http?.request?.id);
    assert.equal(actions(s.logEvents, 'manifest-delete', 'oci_registry.log').length, 1);
    // skopeo delete GETs the manifest by digest first: the registry sees a pull by alice.
    const pulls = imagePulls([s]);
    assert.equal(pulls.size, 1);
    assert.equal(count(pulls, 'alice'), 1);
  });

  test('whole run: image pulls per user, joined across notification + app log by http.request.id', () => {
    const pulls = imagePulls(steps);
    assert.equal(count(pulls, 'bob'), 4, 'tag, digest, inspect, multi-arch');
    assert.equal(count(pulls, 'alice'), 1, 'the GET before the delete');
    assert.equal(count(pulls, 'carol'), 0);
    assert.equal(pulls.size, 5);
    // Each stream on its own agrees: notification pulls and app-log pulls are the same requests.
    const byDataset = (ds: string): Set<string> =>
      new Set(
        steps.flatMap((s) =>
          [...s.logEvents, ...s.notificationEvents]
            .filter((e) => e.event.dataset === ds && e.oci_registry.image_pull)
            .map((e) => e.http?.request?.id ?? ''),
        ),
      );
    assert.deepEqual([...byDataset('oci_registry.notification')].sort(), [...pulls.keys()].sort());
    assert.deepEqual([...byDataset('oci_registry.log')].sort(), [...pulls.keys()].sort());
  });

  test('access log: every line becomes an oci_registry.access event with method, path and status', () => {
    const all = registry.stdoutLines();
    const accessLines = steps
      .flatMap((s) => all.slice(...s.record.lines))
      .filter((l) => !l.startsWith('{') && / HTTP\/1\.1" \d{3} /.test(l));
    const accessEvents = steps.flatMap((s) => s.logEvents.filter((e) => e.event.dataset === 'oci_registry.access'));
    assert.equal(accessEvents.length, accessLines.length);
    for (const e of accessEvents) {
      assert.ok(e.http?.request?.method);
      assert.ok(e.url?.path?.startsWith('/v2/'));
      assert.equal(typeof e.http?.response?.status_code, 'number');
      assert.equal(e.user?.name, undefined, 'the access log cannot attribute users');
    }
  });
});
