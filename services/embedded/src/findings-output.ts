import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { appendFile, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Writable } from 'node:stream';
import type { BatchHandler, MessageBus, Subscription } from '../../../shared/src/bus/types.ts';
import { AppError } from '../../../shared/src/errors.ts';
import type { Logger } from '../../../shared/src/logger.ts';
import { findingSchema, type Finding } from '../../../shared/src/model/finding.ts';

/** Where findings go: NDJSON appended to a file, or written to a stream (stdout). */
export type FindingsTarget =
  { readonly kind: 'file'; readonly path: string } | { readonly kind: 'stream'; readonly stream: Writable };

export interface FindingsOutputDeps {
  readonly bus: MessageBus;
  readonly topic: string;
  readonly target: FindingsTarget;
  /** Consumer group. Default `findings-output`. */
  readonly groupId?: string;
  /**
   * File remembering which (id, severity, status) were already written, so a redelivered batch
   * or a restart does not print the same finding twice. Absent = in memory only.
   */
  readonly stateFile?: string;
  readonly logger: Logger;
  /** Called with every finding written (progress output, tests). */
  readonly onFinding?: (f: Finding) => void;
}

export interface FindingsOutput {
  readonly handleBatch: BatchHandler;
  /** Subscribes. @throws AppError OUTPUT_UNWRITABLE (not retriable) when the findings file cannot be created or appended. */
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Findings written since start. */
  readonly written: () => number;
}

const MAX_REMEMBERED = 100_000;

function writeStream(stream: Writable, text: string): Promise<void> {
  return new Promise((resolve, reject) => {
    stream.write(text, (err) =>
      err ? reject(new AppError('OUTPUT_UNWRITABLE', `findings output: ${err.message}`, { cause: err })) : resolve(),
    );
  });
}

/**
 * Consumes `regwatch.findings` and writes each finding as one JSON line (the Finding contract,
 * shared/src/model/finding.ts) to the target. A finding is written again only when its severity
 * or status changed (an early spike escalating, a resolved notice). Messages that do not match
 * the contract are logged and skipped (the detector is ours; this is a bug signal, not input).
 * The batch resolves after the write, so the bus commits only what was written.
 * @throws AppError OUTPUT_UNWRITABLE (from the handler) when the file cannot be appended; the bus
 *   redelivers the batch.
 */
export function createFindingsOutput(deps: FindingsOutputDeps): FindingsOutput {
  const log = deps.logger.child({ component: 'findings-output' });
  const seen = new Map<string, string>();
  if (deps.stateFile && existsSync(deps.stateFile)) {
    try {
      for (const [k, v] of Object.entries(JSON.parse(readFileSync(deps.stateFile, 'utf8')) as Record<string, string>))
        seen.set(k, v);
    } catch (err) {
      log.warn({ err, file: deps.stateFile }, 'findings output state unreadable; starting empty');
    }
  }
  let subscription: Subscription | null = null;
  let written = 0;

  const persist = (): void => {
    if (!deps.stateFile) return;
    while (seen.size > MAX_REMEMBERED) {
      const first = seen.keys().next().value;
      if (first === undefined) break;
      seen.delete(first);
    }
    writeFileSync(`${deps.stateFile}.tmp`, JSON.stringify(Object.fromEntries(seen)));
    renameSync(`${deps.stateFile}.tmp`, deps.stateFile);
  };

  const handleBatch: BatchHandler = async (batch) => {
    const out: Finding[] = [];
    for (const m of batch) {
      let parsed: ReturnType<typeof findingSchema.safeParse>;
      try {
        parsed = findingSchema.safeParse(JSON.parse(m.value.toString('utf8')));
      } catch (err) {
        log.error({ err, offset: m.offset, partition: m.partition }, 'finding is not JSON; skipped');
        continue;
      }
      if (!parsed.success) {
        log.error(
          { issues: parsed.error.issues.slice(0, 5), offset: m.offset },
          'finding does not match the contract; skipped',
        );
        continue;
      }
      const f = parsed.data;
      const mark = `${f.severity}|${f.status}`;
      if (seen.get(f.id) === mark) continue;
      seen.delete(f.id);
      seen.set(f.id, mark);
      out.push(f);
    }
    if (out.length === 0) return;
    const text = out.map((f) => `${JSON.stringify(f)}\n`).join('');
    if (deps.target.kind === 'file') {
      try {
        await appendFile(deps.target.path, text);
      } catch (err) {
        for (const f of out) seen.delete(f.id);
        throw new AppError(
          'OUTPUT_UNWRITABLE',
          `cannot append findings to ${deps.target.path}: ${(err as Error).message}`,
          { retriable: true, cause: err },
        );
      }
    } else {
      await writeStream(deps.target.stream, text);
    }
    persist();
    written += out.length;
    for (const f of out) deps.onFinding?.(f);
  };

  return {
    handleBatch,
    written: () => written,
    async start() {
      // A findings file that cannot be written fails the start, not every finding afterwards.
      if (deps.target.kind === 'file') {
        const path = deps.target.path;
        try {
          await mkdir(dirname(path), { recursive: true });
          await appendFile(path, '');
        } catch (err) {
          throw new AppError('OUTPUT_UNWRITABLE', `cannot write findings to ${path}: ${(err as Error).message}`, {
            retriable: false,
            cause: err,
          });
        }
      }
      subscription = await deps.bus.subscribe(
        { groupId: deps.groupId ?? 'findings-output', topics: [deps.topic], fromBeginning: true },
        handleBatch,
      );
    },
    async stop() {
      await subscription?.close();
      subscription = null;
    },
  };
}
