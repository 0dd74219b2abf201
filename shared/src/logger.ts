import { pino, type Logger, type DestinationStream } from 'pino';
import { isLogLevel } from './config.ts';

export type { Logger };

/** Paths pino redacts everywhere: credentials, bearer tokens, webhook URLs (they embed secrets). */
export const REDACT_PATHS = [
  'authorization',
  'headers.authorization',
  'req.headers.authorization',
  '*.authorization',
  'password',
  '*.password',
  '*.*.password',
  'token',
  '*.token',
  '*.apiKey',
  '*.api_key',
  '*.secret',
  '*.url',
  '*.webhookUrl',
  '*.webhook_url',
  'auth.pass',
  '*.auth.pass',
];

export interface LoggerOptions {
  /**
   * pino level (trace, debug, info, warn, error, fatal, silent). Anything else (a raw, not yet
   * validated `LOG_LEVEL`) falls back to `info` instead of throwing: the services' config schemas
   * report a bad LOG_LEVEL as CONFIG_INVALID with every other problem.
   */
  level?: string;
  /** Where to write; defaults to stdout (fd 1). Tests pass a stream to capture lines. */
  destination?: DestinationStream;
}

/**
 * Creates the root pino logger of a service: JSON lines to stdout, `service` in every line,
 * secrets redacted (see REDACT_PATHS). Components take `logger.child({ component })`.
 */
export function createLogger(service: string, options: LoggerOptions = {}): Logger {
  return pino(
    {
      name: service,
      base: { service },
      level: isLogLevel(options.level) ? options.level : 'info',
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    options.destination ?? pino.destination({ dest: 1, sync: false }),
  );
}

/** A logger that writes nothing (unit tests, CLI quiet mode). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
