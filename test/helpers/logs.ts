import { Writable } from 'node:stream';
import { createLogger, type Logger } from '../../shared/src/logger.ts';

/**
 * A debug-level pino logger (service name `service`) that keeps every JSON line it writes, parsed,
 * in `lines` — for tests that assert what was logged (warnings with their fields, no swallowed
 * write failure).
 */
export function capturingLogger(service = 'detector'): { logger: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _e, cb) {
      for (const l of chunk.toString().split('\n')) if (l.trim()) lines.push(JSON.parse(l) as Record<string, unknown>);
      cb();
    },
  });
  return { logger: createLogger(service, { level: 'debug', destination }), lines };
}
