import { setTimeout as sleep } from 'node:timers/promises';
import { followFile, type FollowHandle } from '../io/follow.ts';
import type { Logger } from '../logger.ts';

export interface LogShipperOptions {
  /** Registry log file to tail. */
  readonly file: string;
  /** Receiver base URL (`http://host:port`); lines go to `<url>/v1/logs`. */
  readonly receiverUrl: string;
  readonly token?: string;
  readonly logger: Logger;
  /** Lines per POST. Default 200. */
  readonly batchLines?: number;
  /** Max wait before a partial batch is sent, ms. Default 300. */
  readonly lingerMs?: number;
}

export interface LogShipper {
  /** Stops tailing and sends what is buffered. */
  stop(): Promise<void>;
  readonly shipped: () => number;
}

/**
 * A minimal log shipper for the demo (what Fluent Bit / Vector do in the compose stack): tails the
 * registry's log file and POSTs the lines as `application/x-ndjson` to the regwatch receiver's
 * `/v1/logs`, retrying 503/network errors with backoff (the receiver answers 202 only after the
 * bus acknowledged), so no line is dropped while the receiver is briefly unavailable.
 */
export async function shipLogs(o: LogShipperOptions): Promise<LogShipper> {
  const log = o.logger.child({ component: 'log-shipper' });
  const max = o.batchLines ?? 200;
  let buf: string[] = [];
  let shipped = 0;
  let sending: Promise<void> = Promise.resolve();
  let timer: NodeJS.Timeout | null = null;

  const post = async (lines: string[]): Promise<void> => {
    for (let attempt = 0; ; attempt++) {
      try {
        const res = await fetch(`${o.receiverUrl.replace(/\/+$/, '')}/v1/logs`, {
          method: 'POST',
          headers: {
            'content-type': 'application/x-ndjson',
            ...(o.token ? { authorization: `Bearer ${o.token}` } : {}),
          },
          body: `${lines.join('\n')}\n`,
          signal: AbortSignal.timeout(10_000),
        });
        await res.arrayBuffer();
        if (res.status === 202) {
          shipped += lines.length;
          return;
        }
        if (res.status !== 503 && res.status !== 429) {
          log.error({ status: res.status }, 'receiver refused log lines; dropping this batch');
          return;
        }
      } catch (err) {
        log.warn({ err: (err as Error).message, attempt }, 'receiver unreachable; retrying');
      }
      await sleep(Math.min(5000, 200 * 2 ** attempt));
    }
  };
  const flush = (): Promise<void> => {
    if (timer) clearTimeout(timer);
    timer = null;
    if (buf.length === 0) return sending;
    const lines = buf;
    buf = [];
    sending = sending.then(() => post(lines));
    return sending;
  };
  const handle: FollowHandle = await followFile(
    o.file,
    async (line) => {
      buf.push(line);
      if (buf.length >= max) await flush();
      else timer ??= setTimeout(() => void flush(), o.lingerMs ?? 300);
    },
    { logger: log, pollMs: 200 },
  );
  return {
    shipped: () => shipped,
    async stop() {
      await handle.stop();
      await flush();
    },
  };
}
