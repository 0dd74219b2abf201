/**
 * End to end with the real Distribution registry (Debian docker-registry, htpasswd users,
 * notifications pointed at the receiver with a bearer token) driven by skopeo: registry →
 * receiver → Kafka → indexer → Elasticsearch, exact counts per action and user; the registry's
 * own output lines are fed to POST /v1/logs as a log shipper would.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { buildOciLayout, skopeo, startRegistry, type RegistryHandle } from '../../helpers/registry.ts';
import { TOKEN, post, startPipeline, type Pipeline } from './pipeline.ts';

const USERS = { alice: 'alice-pw-1', bob: 'bob-pw-2', carol: 'carol-pw-3' };

describe('end to end: real registry + skopeo → ingest → Elasticsearch', () => {
  let p: Pipeline;
  let reg: RegistryHandle;
  let work: string;
  before(async () => {
    p = await startPipeline({ partitions: 3 });
    reg = await startRegistry({
      users: USERS,
      notifyUrl: `${p.url}/v1/notifications`,
      notifyToken: TOKEN,
      notifyTimeout: '5s',
      logFormatter: 'json',
    });
    work = await mkdtemp(join(tmpdir(), 'regwatch-e2e-'));
  });
  after(async () => {
    await reg?.stop();
    await p?.close();
    if (work) await rm(work, { recursive: true, force: true });
  });

  const count = (filters: object[]): Promise<number> => p.countEvents({ bool: { filter: filters } });
  const term = (field: string, value: string | boolean): object => ({ term: { [field]: value } });

  async function waitCount(filters: object[], n: number, timeoutMs = 60_000): Promise<number> {
    const end = Date.now() + timeoutMs;
    let c = 0;
    while (Date.now() < end) {
      c = await count(filters);
      if (c >= n) return c;
      await sleep(300);
    }
    return c;
  }

  test('push by alice, pulls by bob (2×) and carol (1×): exact manifest counts per action and user', async () => {
    const layout = await buildOciLayout(join(work, 'src'), { tag: 'v1', layers: 2 });
    const push = await skopeo([
      'copy',
      '--dest-tls-verify=false',
      '--dest-creds',
      `alice:${USERS.alice}`,
      layout.reference,
      `docker://${reg.host}/team-a/app:v1`,
    ]);
    assert.equal(push.code, 0, push.stderr);
    const pull = async (user: 'bob' | 'carol', i: number): Promise<void> => {
      const r = await skopeo([
        'copy',
        '--src-tls-verify=false',
        '--src-creds',
        `${user}:${USERS[user]}`,
        `docker://${reg.host}/team-a/app:v1`,
        `oci:${join(work, `${user}-${i}`)}:v1`,
      ]);
      assert.equal(r.code, 0, r.stderr);
    };
    await pull('bob', 1);
    await pull('bob', 2);
    await pull('carol', 1);
    const bad = await skopeo([
      'inspect',
      '--tls-verify=false',
      '--creds',
      'bob:wrong-password',
      `docker://${reg.host}/team-a/app:v1`,
    ]);
    assert.notEqual(bad.code, 0, 'wrong password rejected by the registry');

    const notif = term('event.dataset', 'oci_registry.notification');
    assert.equal(await waitCount([notif, term('event.action', 'manifest-push'), term('user.name', 'alice')], 1), 1);
    assert.equal(await waitCount([notif, term('event.action', 'manifest-pull'), term('user.name', 'bob')], 2), 2);
    assert.equal(await waitCount([notif, term('event.action', 'manifest-pull'), term('user.name', 'carol')], 1), 1);
    const blobsBob = await count([notif, term('event.action', 'blob-pull'), term('user.name', 'bob')]);
    const blobsCarol = await count([notif, term('event.action', 'blob-pull'), term('user.name', 'carol')]);
    assert.ok(blobsCarol >= 3, 'config + 2 layers fetched by carol');
    assert.equal(blobsBob, 2 * blobsCarol, 'bob fetched the same blobs twice');
    await sleep(2000); // late or duplicate deliveries would show now
    assert.equal(await count([notif, term('event.action', 'manifest-push')]), 1);
    assert.equal(await count([notif, term('event.action', 'manifest-pull')]), 3);
    assert.equal(await count([notif, term('oci_registry.image_pull', true)]), 3, 'three image pulls');

    // The registry's own output, shipped to /v1/logs.
    const lines = reg.stdoutLines();
    assert.ok(lines.length > 0);
    const r = await post(p, '/v1/logs', lines.join('\n'), 'text/plain');
    assert.equal(r.status, 202);
    const logFilter = { bool: { must_not: [notif] } };
    const end = Date.now() + 30_000;
    let fromLogs = 0;
    while (Date.now() < end && fromLogs === 0) {
      fromLogs = await p.countEvents(logFilter);
      await sleep(300);
    }
    await sleep(2000);
    fromLogs = await p.countEvents(logFilter);
    const failures = await p.countEvents({ bool: { must_not: [notif], filter: [term('event.outcome', 'failure')] } });
    const all = await p.countEvents();
    console.log(
      `e2e: registry lines=${lines.length} log-derived docs=${fromLogs} log failures=${failures} total docs=${all} dlq=${p.indexer!.totals.dlq}`,
    );
    assert.ok(fromLogs > 0, 'log lines indexed');
    assert.ok(failures >= 1, 'the rejected login is visible from the logs');

    // One request counted once (shared CASES C12): the app-log copies of the three pulls add no
    // image pull, and the documents not marked oci_registry.duplicate carry each request's bytes
    // once — what the access log (one line per request) sums.
    assert.equal(await p.countEvents(term('oci_registry.image_pull', true)), 3, 'still three image pulls');
    const bytesOf = async (query: object): Promise<number> => {
      const res = await p.es.search({
        index: `logs-oci_registry.*-${p.namespace}`,
        size: 0,
        query,
        aggs: { b: { sum: { field: 'http.response.body.bytes' } } },
      });
      return (res.aggregations?.['b'] as { value: number }).value;
    };
    const access = term('event.dataset', 'oci_registry.access');
    const counted = { bool: { must_not: [term('oci_registry.duplicate_bytes', true)] } };
    let accessBytes = 0;
    let countedBytes = -1;
    for (const until = Date.now() + 30_000; Date.now() < until; await sleep(500)) {
      await p.countEvents(); // refresh
      accessBytes = await bytesOf(access);
      countedBytes = await bytesOf(counted);
      if (accessBytes > 0 && countedBytes === accessBytes) break;
    }
    const allBytes = await bytesOf({ match_all: {} });
    console.log(`e2e: bytes all docs=${allBytes} not duplicate_bytes=${countedBytes} access lines=${accessBytes}`);
    assert.ok(accessBytes > 0);
    assert.equal(countedBytes, accessBytes, 'bytes counted once');
    assert.ok(allBytes > countedBytes, 'the app log and the access log both carry the bytes');
  });
});
