/**
 * Hot-path stand-ins for the Harbor and Quay zod schemas (and the hand-unrolled stableId) must agree
 * with the documented forms: a hand check may only accept what its zod schema accepts, and for such
 * input the schema's output must equal the input (so reading the input directly is the same as
 * reading zod's copy). fast-check generates objects whose fields are usually well-typed and
 * sometimes any JSON value; the samples must all pass the fast path.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import type { z } from 'zod';
import { DefaultPayloadSchema, isDefaultPayload } from '../../../shared/src/normalize/harbor/webhook-default.ts';
import { CloudEventSchema, isCloudEvent } from '../../../shared/src/normalize/harbor/webhook-cloudevents.ts';
import { AuditRecordSchema, isAuditRecord } from '../../../shared/src/normalize/harbor/audit-api.ts';
import { HarborEventDataSchema, isHarborEventData } from '../../../shared/src/normalize/harbor/webhook.ts';
import { EntrySchema, isQuayApiEntry } from '../../../shared/src/normalize/other/quay-api.ts';
import { LogEntrySchema, isQuayLogEntry } from '../../../shared/src/normalize/other/quay-kafka.ts';
import { stableId } from '../../../shared/src/normalize/common/hash.ts';

const RUNS = { numRuns: 3000 };
const SAMPLES = new URL('../../fixtures/registry-samples/', import.meta.url);
const json = (f: string): unknown => JSON.parse(readFileSync(new URL(f, SAMPLES), 'utf8'));
const ndjson = (f: string): unknown[] =>
  readFileSync(new URL(f, SAMPLES), 'utf8')
    .split('\n')
    .filter((l) => l.trim().length > 0)
    .map((l) => JSON.parse(l) as unknown);

const anyValue = fc.oneof(
  fc.constant(undefined),
  fc.constant(null),
  fc.string({ maxLength: 4 }),
  fc.constantFrom('', 'x', '1.0'),
  fc.constantFrom(0, -0, -1, 1.5, 2 ** 53, 2 ** 60, 1708000000),
  fc.boolean(),
  fc.constant([]),
  fc.constant({}),
  fc.constant([{}]),
);
const mostly = <T>(good: fc.Arbitrary<T>): fc.Arbitrary<unknown> =>
  fc.oneof({ weight: 6, arbitrary: good }, { weight: 1, arbitrary: anyValue });
const nStr = mostly(fc.option(fc.string({ maxLength: 4 }), { nil: null }));
const nNum = mostly(fc.option(fc.integer(), { nil: null }));
const nBool = mostly(fc.option(fc.boolean(), { nil: null }));
const nRecord = mostly(fc.option(fc.dictionary(fc.string({ maxLength: 3 }), anyValue, { maxKeys: 3 }), { nil: null }));
const loose = (spec: Record<string, fc.Arbitrary<unknown>>) => mostly(fc.record(spec, { requiredKeys: [] }));

const resource = loose({ digest: nStr, tag: nStr, resource_url: nStr, scan_overview: nRecord });
const eventData = loose({
  resources: mostly(fc.option(fc.array(resource, { maxLength: 3 }), { nil: null })),
  repository: mostly(
    fc.option(
      fc.record(
        { date_created: nNum, name: nStr, namespace: nStr, repo_full_name: nStr, repo_type: nStr },
        { requiredKeys: [] },
      ),
      { nil: null },
    ),
  ),
  custom_attributes: nRecord,
  replication: nRecord,
  retention: nRecord,
  scan: mostly(fc.option(fc.record({ scan_type: nStr }, { requiredKeys: [] }), { nil: null })),
});

interface Case {
  name: string;
  check: (v: unknown) => boolean;
  schema: z.ZodType;
  samples: unknown[];
  arb: fc.Arbitrary<unknown>;
}

const harborWebhooks = [
  '26-harbor-webhook-push-artifact-user.json',
  '27-harbor-webhook-push-artifact-robot-tag-is-digest.json',
  '28-harbor-webhook-pull-artifact-default.json',
  '28b-harbor-webhook-pull-artifact-anonymous-nested.json',
  '29-harbor-webhook-pull-artifact-cloudevents.json',
  '30-harbor-webhook-quota-warning.json',
  '31-harbor-webhook-quota-exceed.json',
  '32-harbor-webhook-scanning-completed.json',
  '33-harbor-webhook-v2.0-push-legacy-resource-url.json',
].map((f) => json(f) as Record<string, unknown>);
const defaults = harborWebhooks.filter((w) => 'occur_at' in w);
const cloudEvents = harborWebhooks.filter((w) => 'specversion' in w);
const audit = [
  ...(json('35-harbor-api-auditlog-exts.json') as unknown[]),
  ...(json('36-harbor-api-audit-logs-legacy.json') as unknown[]),
];
const quayPage = json('37-quay-api-logs.json') as { logs: unknown[] };

const CASES: Case[] = [
  {
    name: 'Harbor event_data',
    check: isHarborEventData,
    schema: HarborEventDataSchema,
    samples: [...defaults.map((d) => d.event_data), ...cloudEvents.map((c) => c.data)],
    arb: eventData,
  },
  {
    name: 'Harbor Default webhook',
    check: isDefaultPayload,
    schema: DefaultPayloadSchema,
    samples: defaults,
    arb: loose({
      type: mostly(fc.constantFrom('PUSH_ARTIFACT', 'PULL_ARTIFACT')),
      occur_at: mostly(fc.integer()),
      operator: nStr,
      event_data: eventData,
    }),
  },
  {
    name: 'Harbor CloudEvents webhook',
    check: isCloudEvent,
    schema: CloudEventSchema,
    samples: cloudEvents,
    arb: loose({
      specversion: mostly(fc.constant('1.0')),
      id: mostly(fc.string({ maxLength: 3 })),
      source: nStr,
      type: mostly(fc.constantFrom('harbor.artifact.pulled', 'x')),
      time: mostly(fc.string({ maxLength: 3 })),
      requestid: nStr,
      operator: nStr,
      data: eventData,
    }),
  },
  {
    name: 'Harbor audit API record',
    check: isAuditRecord,
    schema: AuditRecordSchema,
    samples: audit,
    arb: loose({
      id: mostly(fc.oneof(fc.integer({ min: -2 }), fc.string({ maxLength: 2 }), fc.constant(null))),
      log_id: mostly(fc.oneof(fc.nat(), fc.string({ maxLength: 2 }), fc.constant(null))),
      username: mostly(fc.string({ maxLength: 3 })),
      resource: nStr,
      resource_type: nStr,
      repo_name: nStr,
      repo_tag: nStr,
      operation: mostly(fc.string({ maxLength: 3 })),
      operation_description: nStr,
      operation_result: nBool,
      op_time: mostly(fc.string({ maxLength: 3 })),
    }),
  },
  {
    name: 'Quay API log entry',
    check: isQuayApiEntry,
    schema: EntrySchema,
    samples: quayPage.logs,
    arb: loose({
      kind: mostly(fc.string({ maxLength: 3 })),
      metadata: nRecord,
      ip: nStr,
      datetime: mostly(fc.string({ maxLength: 3 })),
      performer: mostly(
        fc.option(fc.record({ kind: nStr, name: nStr, is_robot: nBool }, { requiredKeys: [] }), { nil: null }),
      ),
    }),
  },
  {
    name: 'Quay Kafka LogEntry',
    check: isQuayLogEntry,
    schema: LogEntrySchema,
    samples: ndjson('38-quay-kafka-logentry.ndjson'),
    arb: loose({
      random_id: mostly(fc.string({ maxLength: 3 })),
      kind_id: mostly(fc.integer()),
      account_id: nNum,
      performer_id: nNum,
      repository_id: nNum,
      ip: nStr,
      metadata_json: nStr,
      datetime: mostly(fc.string({ maxLength: 3 })),
    }),
  },
];

for (const c of CASES) {
  describe(`${c.name}: hand check vs zod schema`, () => {
    test('every sample passes the hand check (fast path) and the schema', () => {
      assert.ok(c.samples.length > 0);
      for (const s of c.samples) {
        assert.equal(c.schema.safeParse(s).success, true, JSON.stringify(s).slice(0, 200));
        assert.equal(c.check(s), true, JSON.stringify(s).slice(0, 200));
      }
    });

    test('never accepts what the schema rejects; accepted input equals the schema output', () => {
      let accepted = 0;
      let rejected = 0;
      fc.assert(
        // Input always comes from JSON.parse: plain prototypes, no `undefined` members.
        fc.property(
          c.arb.map((x) => (x === undefined ? x : (JSON.parse(JSON.stringify(x)) as unknown))),
          (v) => {
            const z = c.schema.safeParse(v);
            if (c.check(v)) {
              accepted++;
              assert.equal(z.success, true, `hand check accepted what zod rejects: ${JSON.stringify(v)}`);
              assert.deepEqual(z.data, v);
            } else rejected++;
          },
        ),
        RUNS,
      );
      // The generators must exercise both sides.
      assert.ok(accepted > 50 && rejected > 50, `accepted ${accepted}, rejected ${rejected}`);
    });
  });
}

/** The joined-string definition of stableId (FORMATS.md "Dedupe and correlation keys"), written plainly. */
function referenceStableId(...parts: (string | number | undefined)[]): string {
  const s = parts.map((p) => (p === undefined ? '' : String(p))).join('\u001f');
  const lanes = [0x9e3779b1 | 0, 0x85ebca77 | 0, 0xc2b2ae3d | 0, 0x27d4eb2f | 0];
  const mul = [0x85ebca6b, 0xcc9e2d51, 0x1b873593, 0xe6546b64];
  const rot = [13, 15, 11, 17];
  for (let j = 0; j < s.length; j++) {
    for (let k = 0; k < 4; k++) {
      const h = Math.imul((lanes[k] ?? 0) ^ s.charCodeAt(j), mul[k] ?? 0);
      lanes[k] = (h << (rot[k] ?? 0)) | (h >>> (32 - (rot[k] ?? 0)));
    }
  }
  let [h1 = 0, h2 = 0, h3 = 0, h4 = 0] = lanes;
  h1 ^= s.length;
  h1 = (h1 + h2) | 0;
  h2 = (h2 + h3) | 0;
  h3 = (h3 + h4) | 0;
  h4 = (h4 + h1) | 0;
  const fmix = (x: number): string => {
    let h = x;
    h ^= h >>> 16;
    h = Math.imul(h, 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    h ^= h >>> 16;
    return (h >>> 0).toString(16).padStart(8, '0');
  };
  return fmix(h1) + fmix(h2) + fmix(h3) + fmix(h4 ^ s.length);
}

describe('stableId (unrolled lanes) equals its joined-string definition', () => {
  test('known value is stable across versions', () => {
    // Fixed output: ids are dedupe keys already stored in indices; they must never change.
    assert.equal(stableId('a', 1, undefined), referenceStableId('a', 1, undefined));
    assert.match(stableId(''), /^[0-9a-f]{32}$/);
  });
  test('any parts', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.string(), fc.integer(), fc.constant(undefined)), { maxLength: 5 }), (parts) => {
        assert.equal(stableId(...parts), referenceStableId(...parts));
      }),
      RUNS,
    );
  });
});
