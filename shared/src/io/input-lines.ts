/**
 * How recorded registry input is cut into messages: byte lines, with pretty-printed JSON documents
 * given back whole (shared/src/io/json-documents.ts). One reader for every command that reads
 * recorded input (`regwatch normalize`, `regwatch analyze`, `regwatch run --input`), so they all
 * see the same messages as the receiver's `POST /v1/logs` does.
 *
 * Lines are split on bytes, not decoded text: a UTF-8 decoder would turn invalid bytes into
 * U+FFFD, and a line splitter that aborts on over-long lines would lose input; here each line's
 * exact bytes reach the caller, and an over-long line comes back marked `overflow`.
 */
import { createDocumentGrouper, type StreamUnit } from './json-documents.ts';

/** One line of input. */
export interface RawLine {
  /** The line's bytes without its `\n` (a `\r` before it is kept, for the normalizer to judge). */
  bytes: Buffer;
  /** Byte offset of the line start in the (decompressed) input. */
  offset: number;
  /** 1-based line number. */
  line: number;
  /** True when the line exceeded the limit; `bytes` then holds only its first 4 KiB. */
  overflow: boolean;
}

/**
 * Splits a byte stream (string chunks are taken as UTF-8) on `\n` (a trailing `\r` is left in `bytes`), capping line length at
 * `maxBytes` (longer lines come back with `overflow: true` and their first 4 KiB). A last line
 * without `\n` is given too. Blank lines are given (the caller decides).
 * @throws whatever the source stream throws (I/O, corrupt gzip).
 */
export async function* readLines(src: AsyncIterable<Buffer | string>, maxBytes: number): AsyncGenerator<RawLine> {
  let parts: Buffer[] = [];
  let partLen = 0;
  let overflow = false;
  let offset = 0;
  let lineNo = 0;
  let lineStart = 0;
  for await (const c of src) {
    const chunk = typeof c === 'string' ? Buffer.from(c, 'utf8') : c;
    let pos = 0;
    while (pos < chunk.length) {
      const nl = chunk.indexOf(10, pos);
      const end = nl < 0 ? chunk.length : nl;
      if (!overflow) {
        const piece = chunk.subarray(pos, end);
        if (partLen + piece.length > maxBytes) {
          overflow = true;
          parts = [Buffer.concat([...parts, piece]).subarray(0, 4096)];
          partLen = parts[0]?.length ?? 0;
        } else if (piece.length > 0) {
          parts.push(Buffer.from(piece));
          partLen += piece.length;
        }
      }
      offset += end - pos;
      if (nl < 0) break;
      lineNo++;
      yield { bytes: Buffer.concat(parts, partLen), offset: lineStart, line: lineNo, overflow };
      offset += 1;
      lineStart = offset;
      parts = [];
      partLen = 0;
      overflow = false;
      pos = nl + 1;
    }
  }
  if (partLen > 0 || overflow) {
    lineNo++;
    yield { bytes: Buffer.concat(parts, partLen), offset: lineStart, line: lineNo, overflow };
  }
}

/**
 * The messages of a recorded input, in order: every line as it came (`kind: 'line'`, blank and
 * over-long ones included), except runs of lines that form one pretty-printed JSON document
 * (`kind: 'document'`, up to `maxDocumentBytes`; see shared/src/io/json-documents.ts for the shape).
 * An over-long line ends any document being collected and comes back as a line with `overflow`.
 * Every input line is in exactly one unit.
 * @param maxLineBytes longest line (bytes) before `overflow`; @param maxDocumentBytes largest document.
 * @throws whatever the source stream throws (I/O, corrupt gzip).
 */
export async function* readInputUnits(
  src: AsyncIterable<Buffer | string>,
  maxLineBytes: number,
  maxDocumentBytes: number,
): AsyncGenerator<StreamUnit<RawLine>> {
  const grouper = createDocumentGrouper((l: RawLine) => l.bytes, maxDocumentBytes);
  for await (const l of readLines(src, maxLineBytes)) {
    if (l.overflow) {
      yield* grouper.flush();
      yield { kind: 'line', line: l };
    } else yield* grouper.push(l);
  }
  yield* grouper.flush();
}
