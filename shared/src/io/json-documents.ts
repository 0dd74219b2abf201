/**
 * Finds pretty-printed JSON documents inside a line stream.
 *
 * A registry's notification envelope is sent pretty-printed (Distribution marshals it with
 * `json.MarshalIndent`), and people paste Harbor payloads and audit API pages the same way, so a
 * mixed stream of log lines can hold a document spanning many lines. Cut into lines, each line
 * would be rejected on its own and the document's events lost. This grouper gives such a run of
 * lines back as one document, and every other line as it came.
 *
 * Shape recognised (what `json.MarshalIndent`, `JSON.stringify(v, null, n)` and Python's
 * `json.dumps(v, indent=n)` print): a line that is only `{` or `[` (an opener at column 0), then
 * lines indented by a space or tab, then a closer at column 0 (`}` or `]`, the opener's pair) after
 * which the lines read so far parse as JSON. A line that starts with `[` and has more on it (a
 * compact JSON array that parses, e.g. one audit API page) is a one-line document.
 *
 * Nothing is lost or reordered: when the run breaks the shape (a line at column 0 that is not the
 * closer, a closer after which the text does not parse, more than `maxBytes`, end of input), the
 * lines held so far come back one by one, in order, as plain lines, and the line that broke the
 * shape is then judged on its own (it may open a document itself).
 */

/** One unit of the stream: a plain line, or several lines forming one JSON document. */
export type StreamUnit<L> =
  | { readonly kind: 'line'; readonly line: L }
  | {
      readonly kind: 'document';
      /** The lines of the document, in order. */
      readonly lines: readonly L[];
      /** The document's bytes: the lines joined with `\n`. */
      readonly bytes: Buffer;
    };

/** A stateful grouper fed one line at a time (see the module comment). */
export interface DocumentGrouper<L> {
  /** Takes the next line (without its `\n`); returns the units that are complete, in order. */
  push(line: L): StreamUnit<L>[];
  /** End of input: returns whatever is held, as plain lines. */
  flush(): StreamUnit<L>[];
}

const SPACE = 0x20;
const TAB = 0x09;
const CR = 0x0d;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;

/** The byte at column 0 when the rest of the line is only spaces, tabs and CR; -1 otherwise. */
function loneByte(b: Uint8Array): number {
  if (b.length === 0) return -1;
  for (let i = 1; i < b.length; i++) {
    const c = b[i];
    if (c !== SPACE && c !== TAB && c !== CR) return -1;
  }
  return b[0]!;
}

function parses(bytes: Buffer): boolean {
  try {
    JSON.parse(bytes.toString('utf8'));
    return true;
  } catch {
    return false;
  }
}

/**
 * Creates a grouper over lines of any type (`bytesOf` gives a line's bytes, without `\n`).
 * @param maxBytes the largest document held (bytes); a longer run is given back as lines.
 */
export function createDocumentGrouper<L>(bytesOf: (line: L) => Uint8Array, maxBytes: number): DocumentGrouper<L> {
  let held: L[] = [];
  let heldBytes = 0;
  let closer = 0;

  const release = (): StreamUnit<L>[] => {
    const out = held.map((line): StreamUnit<L> => ({ kind: 'line', line }));
    held = [];
    heldBytes = 0;
    return out;
  };
  const joined = (): Buffer => {
    const parts: Uint8Array[] = [];
    const nl = Buffer.from('\n');
    held.forEach((l, i) => {
      if (i > 0) parts.push(nl);
      parts.push(bytesOf(l));
    });
    return Buffer.concat(parts);
  };

  const start = (line: L): StreamUnit<L>[] => {
    const b = bytesOf(line);
    const lone = loneByte(b);
    if (lone === OPEN_BRACE || lone === OPEN_BRACKET) {
      held = [line];
      heldBytes = b.length;
      closer = lone === OPEN_BRACE ? CLOSE_BRACE : CLOSE_BRACKET;
      return [];
    }
    if (b[0] === OPEN_BRACKET) {
      // A compact array (one API page) is a document; a text line such as `[GIN] 2024/…` is not.
      const bytes = Buffer.from(b);
      if (parses(bytes)) return [{ kind: 'document', lines: [line], bytes }];
    }
    return [{ kind: 'line', line }];
  };

  return {
    push(line) {
      if (held.length === 0) return start(line);
      const b = bytesOf(line);
      const first = b[0];
      if (b.length > 0 && (first === SPACE || first === TAB) && heldBytes + 1 + b.length <= maxBytes) {
        held.push(line);
        heldBytes += 1 + b.length;
        return [];
      }
      if (first === closer && heldBytes + 1 + b.length <= maxBytes) {
        held.push(line);
        const bytes = joined();
        if (parses(bytes)) {
          const lines = held;
          held = [];
          heldBytes = 0;
          return [{ kind: 'document', lines, bytes }];
        }
        return release();
      }
      return [...release(), ...start(line)];
    },
    flush() {
      return release();
    },
  };
}
