/**
 * `regwatch demo`, shortened, end to end: it starts the Debian docker-registry and the embedded
 * pipeline itself, drives them with skopeo as four users (pushes, normal pulls, a crawl, a brute
 * force) and must show the findings (stdout NDJSON) and the alerts (stderr) arriving.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { findingSchema } from '../../../shared/src/model/finding.ts';
import { ndjson, regwatch } from './child.ts';

describe('regwatch demo (shortened)', () => {
  test(
    'drives a real registry and shows findings and alerts for the crawl and the brute force',
    { timeout: 240_000 },
    async () => {
      const demo = regwatch(['demo', '--duration', '15', '--wait', '60']);
      const code = await demo.exited;
      assert.equal(code, 0, `exit code; stderr tail:\n${demo.stderr.slice(-3000)}`);
      const findings = ndjson(demo.stdout).map((f) => findingSchema.parse(f));
      const rules = new Set(findings.map((f) => f.rule));
      assert.ok(rules.has('repo.crawl'), `rules: ${[...rules].join(', ')}`);
      assert.ok(rules.has('auth.bruteforce_ip'), `rules: ${[...rules].join(', ')}`);
      // The crawl is mallory's: Distribution 2.x log lines carry no user, but the live detector
      // joins each log line with the notification of the same request (http.request.id), so the
      // requests are credited to the user whichever of the two arrives first — never to the address.
      const crawls = findings.filter((f) => f.rule === 'repo.crawl');
      assert.ok(
        crawls.some((f) => f.entity.type === 'user' && f.entity.id === 'mallory'),
        `crawl entities: ${JSON.stringify(crawls.map((f) => f.entity))}`,
      );
      assert.ok(
        crawls.every((f) => f.entity.type === 'user'),
        `no crawl is credited to a client address: ${JSON.stringify(crawls.map((f) => f.entity))}`,
      );
      // Progress and guidance on stderr, then the alerts of the console channel.
      for (const phase of ['[setup]', '[normal]', '[exfil]', '[brute]'])
        assert.ok(demo.stderr.includes(phase), `progress for ${phase}`);
      assert.match(demo.stderr, /\[FIRING:1\] repo\.crawl/);
      assert.match(demo.stderr, /\[FIRING:1\] auth\.bruteforce_ip/);
      assert.match(demo.stderr, /result: \d+ finding\(s\).*\d+ alert notification\(s\) delivered/);
      // No failed skopeo call other than the intended wrong passwords.
      assert.doesNotMatch(demo.stderr, /unexpected skopeo failures/);
    },
  );
});
