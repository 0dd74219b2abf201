/**
 * The recorded input shared by the parity test: a real registry session captured with
 * record-demo-fixture.ts (Distribution 2.8 JSON log + notification envelopes: pushes, normal
 * pulls, a crawl by one user, a brute force) plus every file of test/fixtures/registry-samples.
 * Messages carry fixed headers and are keyed by their file (as `regwatch run --follow/--input`
 * does), so both modes receive byte-identical raw messages, each file's lines in order.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { Finding } from '../../../shared/src/model/finding.ts';
import { recordedMessages, type RawKind } from '../../../services/embedded/src/inputs.ts';
import type { OutgoingMessage } from '../../../shared/src/bus/types.ts';

export const RECORDED_DIR = join(import.meta.dirname, 'fixtures', 'recorded-demo');
export const SAMPLES_DIR = join(import.meta.dirname, '..', '..', 'fixtures', 'registry-samples');
const RECEIVED_AT = new Date('2026-11-29T12:00:00.000Z');

export interface RecordedInput {
  /** `origin`: the segment a message belongs to (`recorded-demo`, or the sample file's path). */
  readonly messages: readonly { kind: RawKind; message: OutgoingMessage; origin: string }[];
}

/** Event time of a recorded raw line (log `time`, or the envelope's first event), ms; 0 if none. */
function timeOf(text: string): number {
  try {
    const o = JSON.parse(text) as { time?: string; events?: { timestamp?: string }[] };
    const t = Date.parse(o.time ?? o.events?.[0]?.timestamp ?? '');
    return Number.isFinite(t) ? t : 0;
  } catch {
    return 0;
  }
}

/**
 * Loads the recorded session (notifications and log lines interleaved by time, as the receiver
 * got them live) followed by the registry samples (file by file), as raw bus messages.
 */
export function loadRecordedInput(options: { samples?: boolean } = {}): RecordedInput {
  const session: { kind: RawKind; message: OutgoingMessage; origin: string; t: number }[] = [];
  for (const f of [join(RECORDED_DIR, 'notifications.ndjson'), join(RECORDED_DIR, 'registry-stdout.ndjson')]) {
    for (const m of recordedMessages(readFileSync(f, 'utf8'), 'parity', RECEIVED_AT, `file:${basename(f)}`))
      session.push({ ...m, origin: 'recorded-demo', t: timeOf(m.message.value.toString()) });
  }
  session.sort((a, b) => a.t - b.t);
  const messages: { kind: RawKind; message: OutgoingMessage; origin: string }[] = session.map(({ t: _t, ...m }) => m);
  if (options.samples ?? true) {
    for (const f of readdirSync(SAMPLES_DIR).sort()) {
      if (f.endsWith('.md')) continue;
      const path = join(SAMPLES_DIR, f);
      for (const m of recordedMessages(readFileSync(path, 'utf8'), 'parity', RECEIVED_AT, `file:${f}`))
        messages.push({ ...m, origin: path });
    }
  }
  return { messages };
}

/** What parity compares: the finding's identity (id, rule, entity, event-time window). */
export function findingKey(f: Pick<Finding, 'id' | 'rule' | 'entity' | 'window'>): string {
  return `${f.id} ${f.rule} ${f.entity.type}:${f.entity.id} ${f.window.start}..${f.window.end}`;
}
