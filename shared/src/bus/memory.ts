import { createHash } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { AppError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import type {
  BatchContext,
  BatchHandler,
  BusMessage,
  CommitOffset,
  MessageBus,
  OutgoingMessage,
  Publisher,
  SubscribeOptions,
  Subscription,
} from './types.ts';

export interface MemoryBusOptions {
  /**
   * Directory for the partition logs (`<topic>/<partition>.ndjson`) and committed offsets
   * (`offsets/<group>.json`). When set, a new bus on the same directory resumes where the old one
   * committed. When absent, everything lives in memory only.
   */
  readonly dataDir?: string;
  readonly logger?: Logger;
  /** Max messages handed to one handler call. Default 500. */
  readonly maxBatchSize?: number;
  /** Backoff after a handler failure before redelivery, ms (doubles, capped at 10 s). Default 100. */
  readonly handlerRetryBaseMs?: number;
}

interface StoredMessage {
  readonly key: string | null;
  readonly value: Buffer;
  readonly headers: Readonly<Record<string, string>>;
  readonly timestamp: number;
}

interface TopicState {
  readonly partitions: StoredMessage[][];
}

/** One consumer loop per (group, topic, partition). */
interface PartitionWorker {
  readonly topic: string;
  readonly partition: number;
  paused: boolean;
  /** Member that handled the last batch (a new owner starts again from the committed offset). */
  owner?: MemberState;
}

interface GroupState {
  readonly id: string;
  /** Committed next offset per `topic/partition`. */
  readonly committed: Map<string, number>;
  /**
   * Next offset to deliver per `topic/partition` when it is ahead of the commit (a member with
   * `manual` commits that has not committed yet); absent → the committed offset.
   */
  readonly position: Map<string, number>;
  readonly members: MemberState[];
  /** Running partition loops by `topic/partition`. */
  readonly workers: Map<string, Promise<void>>;
}

interface MemberState {
  readonly handler: BatchHandler;
  /** `manual`: resolved batches move `position` only; the member commits with Subscription.commit. */
  readonly manual: boolean;
  readonly topics: readonly string[];
  closed: boolean;
  /** Batches currently inside this member's handler. */
  readonly inFlight: Set<Promise<unknown>>;
}

const safeName = (s: string): string => s.replace(/[^A-Za-z0-9._-]/g, '_');

/**
 * Partition of a key: a stable hash (sha1, first 4 bytes) modulo the partition count, so the same
 * key always lands in the same partition and stays ordered. Null keys go round-robin.
 */
export function partitionForKey(key: string, partitions: number): number {
  return createHash('sha1').update(key).digest().readUInt32BE(0) % partitions;
}

/**
 * In-process MessageBus for the embedded mode, with the Kafka port's semantics: keys map to
 * partitions (ordering per key), consumers of one group share a topic's partitions, delivery is
 * at-least-once (a handler that throws gets the same batch again after a backoff; other partitions
 * go on), offsets are committed only after the handler resolved and, with `dataDir`, persisted
 * (atomic rename) together with an append-only log so a restarted process resumes.
 * Publishing resolves once the message is appended (and written to the log file when persistent).
 */
export function createMemoryBus(options: MemoryBusOptions = {}): MessageBus {
  const topics = new Map<string, TopicState>();
  const groups = new Map<string, GroupState>();
  const waiters = new Set<() => void>();
  const log = options.logger?.child({ component: 'bus', bus: 'memory' });
  const maxBatch = options.maxBatchSize ?? 500;
  const retryBase = options.handlerRetryBaseMs ?? 100;
  const dataDir = options.dataDir;
  let rrCounter = 0;
  let closed = false;
  const loops: Promise<void>[] = [];

  const wake = (): void => {
    for (const w of [...waiters]) w();
  };
  const waitForChange = (ms: number): Promise<void> =>
    new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(t);
        waiters.delete(done);
        resolve();
      };
      const t = setTimeout(done, ms);
      waiters.add(done);
    });

  function loadFromDisk(): void {
    if (!dataDir) return;
    mkdirSync(join(dataDir, 'topics'), { recursive: true });
    mkdirSync(join(dataDir, 'offsets'), { recursive: true });
    for (const tdir of readdirSync(join(dataDir, 'topics'))) {
      const meta = JSON.parse(readFileSync(join(dataDir, 'topics', tdir, 'meta.json'), 'utf8')) as {
        topic: string;
        partitions: number;
      };
      const state: TopicState = { partitions: Array.from({ length: meta.partitions }, () => []) };
      for (let p = 0; p < meta.partitions; p++) {
        const file = join(dataDir, 'topics', tdir, `${p}.ndjson`);
        if (!existsSync(file)) continue;
        for (const line of readFileSync(file, 'utf8').split('\n')) {
          if (!line) continue;
          let rec: { k: string | null; v: string; h: Record<string, string>; t: number };
          try {
            rec = JSON.parse(line) as typeof rec;
          } catch {
            // A torn last line (crash mid-append) was never acknowledged: drop it.
            continue;
          }
          state.partitions[p]!.push({
            key: rec.k,
            value: Buffer.from(rec.v, 'base64'),
            headers: rec.h,
            timestamp: rec.t,
          });
        }
      }
      topics.set(meta.topic, state);
    }
    for (const f of readdirSync(join(dataDir, 'offsets'))) {
      const saved = JSON.parse(readFileSync(join(dataDir, 'offsets', f), 'utf8')) as {
        group: string;
        offsets: Record<string, number>;
      };
      groups.set(saved.group, {
        id: saved.group,
        committed: new Map(Object.entries(saved.offsets)),
        position: new Map(),
        members: [],
        workers: new Map(),
      });
    }
  }
  loadFromDisk();

  function persistOffsets(g: GroupState): void {
    if (!dataDir) return;
    const file = join(dataDir, 'offsets', `${safeName(g.id)}.json`);
    writeFileSync(`${file}.tmp`, JSON.stringify({ group: g.id, offsets: Object.fromEntries(g.committed) }));
    renameSync(`${file}.tmp`, file);
  }

  async function ensureTopics(names: readonly string[], partitions: number): Promise<void> {
    if (!Number.isInteger(partitions) || partitions < 1)
      throw new AppError('INTERNAL', `partitions must be ≥ 1, got ${partitions}`);
    for (const topic of names) {
      if (topics.has(topic)) continue;
      topics.set(topic, { partitions: Array.from({ length: partitions }, () => []) });
      if (dataDir) {
        const dir = join(dataDir, 'topics', safeName(topic));
        mkdirSync(dir, { recursive: true });
        writeFileSync(join(dir, 'meta.json'), JSON.stringify({ topic, partitions }));
      }
    }
    wake();
  }

  function publisher(): Publisher {
    let pclosed = false;
    return {
      async publish(topic: string, messages: readonly OutgoingMessage[]): Promise<void> {
        if (pclosed || closed) throw new AppError('KAFKA_UNAVAILABLE', 'bus is closed', { retriable: true });
        const state = topics.get(topic);
        if (!state)
          throw new AppError('KAFKA_UNAVAILABLE', `unknown topic ${topic}`, { retriable: false, context: { topic } });
        const n = state.partitions.length;
        const now = Date.now();
        const lines = new Map<number, string[]>();
        const appended: [number, StoredMessage][] = [];
        for (const m of messages) {
          const key = m.key ?? null;
          const p = key === null ? rrCounter++ % n : partitionForKey(key, n);
          const stored: StoredMessage = {
            key,
            value: typeof m.value === 'string' ? Buffer.from(m.value, 'utf8') : Buffer.from(m.value),
            headers: { ...(m.headers ?? {}) },
            timestamp: now,
          };
          appended.push([p, stored]);
          if (dataDir) {
            const arr = lines.get(p) ?? [];
            arr.push(JSON.stringify({ k: key, v: stored.value.toString('base64'), h: stored.headers, t: now }));
            lines.set(p, arr);
          }
        }
        if (dataDir) {
          for (const [p, arr] of lines)
            appendFileSync(join(dataDir, 'topics', safeName(topic), `${p}.ndjson`), `${arr.join('\n')}\n`);
        }
        for (const [p, stored] of appended) state.partitions[p]!.push(stored);
        wake();
      },
      async close(): Promise<void> {
        pclosed = true;
      },
    };
  }

  async function runWorker(g: GroupState, w: PartitionWorker): Promise<void> {
    const tp = `${w.topic}/${w.partition}`;
    let failures = 0;
    while (!closed) {
      const live = g.members.filter((m) => !m.closed && m.topics.includes(w.topic));
      if (live.length === 0) return;
      const member = live[w.partition % live.length]!;
      // Like a Kafka rebalance: a partition that changes hands restarts from its committed offset.
      if (w.owner !== member) g.position.delete(tp);
      w.owner = member;
      const state = topics.get(w.topic)!;
      const log_ = state.partitions[w.partition]!;
      const from = g.position.get(tp) ?? g.committed.get(tp) ?? 0;
      if (w.paused || from >= log_.length) {
        await waitForChange(w.paused ? 50 : 1000);
        continue;
      }
      const slice = log_.slice(from, Math.min(log_.length, from + maxBatch));
      const batch: BusMessage[] = slice.map((m, i) => ({
        topic: w.topic,
        partition: w.partition,
        offset: String(from + i),
        key: m.key,
        value: m.value,
        headers: m.headers,
        timestamp: m.timestamp,
      }));
      const ctx: BatchContext = {
        heartbeat: async () => undefined,
        pause: () => {
          w.paused = true;
        },
        resume: () => {
          w.paused = false;
          wake();
        },
      };
      // The in-flight promise covers the handler and the commit, so close() returns only after
      // the offsets of a resolved batch are persisted.
      const attempt = (async (): Promise<{ failed: false } | { failed: true; err: unknown }> => {
        try {
          await member.handler(batch, ctx);
        } catch (err) {
          return { failed: true, err };
        }
        if (member.manual) {
          g.position.set(tp, from + slice.length);
        } else {
          g.committed.set(tp, from + slice.length);
          g.position.delete(tp);
          persistOffsets(g);
        }
        return { failed: false };
      })();
      member.inFlight.add(attempt);
      const result = await attempt;
      member.inFlight.delete(attempt);
      if (!result.failed) {
        failures = 0;
        continue;
      }
      failures++;
      const delay = Math.min(10_000, retryBase * 2 ** (failures - 1));
      log?.error(
        { err: result.err, topic: w.topic, partition: w.partition, offset: from, attempt: failures },
        'batch handler failed; will redeliver',
      );
      await sleep(delay);
    }
  }

  async function subscribe(sub: SubscribeOptions, handler: BatchHandler): Promise<Subscription> {
    if (closed) throw new AppError('KAFKA_UNAVAILABLE', 'bus is closed', { retriable: false });
    for (const t of sub.topics)
      if (!topics.has(t)) throw new AppError('KAFKA_UNAVAILABLE', `unknown topic ${t}`, { context: { topic: t } });
    let g = groups.get(sub.groupId);
    if (!g) {
      g = { id: sub.groupId, committed: new Map(), position: new Map(), members: [], workers: new Map() };
      groups.set(sub.groupId, g);
    }
    const group = g;
    const member: MemberState = {
      handler,
      manual: sub.commits === 'manual',
      topics: [...sub.topics],
      closed: false,
      inFlight: new Set(),
    };
    const fromBeginning = sub.fromBeginning ?? true;
    group.members.push(member);
    for (const t of sub.topics) {
      const parts = topics.get(t)!.partitions;
      for (let p = 0; p < parts.length; p++) {
        const tp = `${t}/${p}`;
        if (!group.committed.has(tp) && !fromBeginning) group.committed.set(tp, parts[p]!.length);
        // One loop per partition per group; it picks the owning member at every batch and ends
        // when the group has no live member for the topic.
        if (group.workers.has(tp)) continue;
        const loop = runWorker(group, { topic: t, partition: p, paused: false }).finally(() =>
          group.workers.delete(tp),
        );
        group.workers.set(tp, loop);
        loops.push(loop);
      }
    }
    let closing: Promise<void> | null = null;
    return {
      async commit(offsets: readonly CommitOffset[]): Promise<void> {
        if (closing) throw new AppError('KAFKA_UNAVAILABLE', 'subscription is closed', { retriable: false });
        for (const o of offsets) {
          const next = Number(o.offset);
          if (!Number.isSafeInteger(next) || next < 0)
            throw new AppError('KAFKA_UNAVAILABLE', `invalid offset ${o.offset} for ${o.topic}/${o.partition}`, {
              retriable: false,
            });
          group.committed.set(`${o.topic}/${o.partition}`, next);
        }
        persistOffsets(group);
      },
      close(): Promise<void> {
        closing ??= (async () => {
          member.closed = true;
          const idx = group.members.indexOf(member);
          if (idx >= 0) group.members.splice(idx, 1);
          wake();
          await Promise.allSettled([...member.inFlight]);
        })();
        return closing;
      },
    };
  }

  async function close(): Promise<void> {
    if (closed) return;
    closed = true;
    wake();
    await Promise.allSettled(loops);
  }

  return { ensureTopics, publisher, subscribe, close };
}
