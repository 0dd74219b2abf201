import type { TextSource } from './types.ts';
import { parseLogfmt } from '../common/gostring.ts';
import { reject } from '../common/event.ts';
import { logrusReader, normalizeLogrusRecord } from './distribution-logrus-json.ts';

/**
 * Distribution application log, logrus `TextFormatter` (FORMATS.md 1b.1):
 * - logfmt form `time="2016-02-23T19:10:37Z" level=info msg="response completed" key=value …`, values
 *   Go-`%q`-quoted when needed (decoded with Go escape rules);
 * - TTY form `INFO[0005] message<padding>  key=value …` (ANSI colours tolerated), which has no wall-clock
 *   time: the caller's `receivedAt` is used, and such lines are mostly debug traces (ignored);
 * - OpenShift's extra `msg=response` line per request (openshift/image-registry PR #110) is ignored,
 *   because the `response completed` line of the same request is the event.
 * Event/ignore decisions are shared with the JSON source ({@link normalizeLogrusRecord}).
 */
const TTY_RE = /^([A-Z]{4})\[(\d+)\] (.*)$/;
// logrus pads the TTY message to 44 columns and then writes ` key=value` per field, so the message
// ends at the first run of two or more spaces followed by a key.
const TTY_SPLIT_RE = /\s{2,}(?=[A-Za-z_][\w.@/-]*=)/;
const ANSI_RE = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, 'g');
const TTY_LEVELS: Record<string, string> = {
  TRAC: 'trace',
  DEBU: 'debug',
  INFO: 'info',
  WARN: 'warning',
  ERRO: 'error',
  FATA: 'fatal',
  PANI: 'panic',
};

function isLogfmtStart(line: string): boolean {
  // First character before the prefix compares: most lines tried here (access logs) fail at once.
  const c = line.charCodeAt(0);
  if (c === 116 /* t */) return line.startsWith('time=');
  if (c === 108 /* l */) return line.startsWith('level=');
  return c === 109 /* m */ && line.startsWith('msg=');
}

export const distributionLogrusTextSource: TextSource = {
  id: 'distribution-logrus-text',
  matches(line) {
    if (isLogfmtStart(line)) return true;
    const c = line.charCodeAt(0);
    return (c === 27 || (c >= 65 && c <= 90)) && TTY_RE.test(line.includes('\x1b') ? line.replace(ANSI_RE, '') : line);
  },
  normalize(line, ctx) {
    if (isLogfmtStart(line)) {
      const fields = parseLogfmt(line);
      if (fields === null) return [reject('schema_mismatch', line, 'logfmt: unterminated quote or invalid Go escape')];
      if (fields.get('msg') === 'response')
        return [{ kind: 'ignored', reason: 'OpenShift middleware "response" line (duplicate of response completed)' }];
      return normalizeLogrusRecord(logrusReader(fields), line, ctx, 'logrus-text');
    }
    const plain = line.includes('\x1b') ? line.replace(ANSI_RE, '') : line;
    const m = TTY_RE.exec(plain);
    if (!m) return [reject('unknown_format', line)];
    const rest = m[3] ?? '';
    const split = TTY_SPLIT_RE.exec(rest);
    const msg = (split === null ? rest : rest.slice(0, split.index)).trim();
    const fields = split === null ? new Map<string, string>() : parseLogfmt(rest, split.index);
    if (fields === null) return [reject('schema_mismatch', line, 'logfmt: unterminated quote or invalid Go escape')];
    fields.set('msg', msg);
    fields.set('level', TTY_LEVELS[m[1] ?? ''] ?? (m[1] ?? '').toLowerCase());
    return normalizeLogrusRecord(logrusReader(fields), line, ctx, 'logrus-text-tty');
  },
};
