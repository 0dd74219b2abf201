import { open, stat } from 'node:fs/promises';
import { closeSync, openSync, readSync } from 'node:fs';
import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { AppError } from '../errors.ts';

/**
 * One opener for every recorded input the CLI and the embedded run read (`regwatch normalize`,
 * `regwatch analyze`, `regwatch run --input`): a file path or `-` (stdin); gzip is recognised by
 * its magic bytes `1f 8b` (RFC 1952 §2.3.1), never by the file name, and decompressed with
 * node:zlib (concatenated gzip members, as `cat a.gz b.gz` makes, are read as one stream).
 */

/** The two bytes every gzip member starts with (RFC 1952 ID1, ID2). */
export const GZIP_MAGIC = Object.freeze([0x1f, 0x8b] as const);

/** True when `head` starts with the gzip magic bytes. */
export function isGzipMagic(head: Uint8Array): boolean {
  return head.length >= 2 && head[0] === GZIP_MAGIC[0] && head[1] === GZIP_MAGIC[1];
}

export interface OpenedInput {
  /** What to call the input in messages and `log.file.path`: the path, or `stdin` for `-`. */
  readonly name: string;
  /** The input's bytes, already gunzipped when it was gzip. Read errors (I/O, corrupt gzip) arrive as stream errors. */
  readonly stream: Readable;
  /** True when the input was gzip (detected by magic bytes). */
  readonly gzip: boolean;
  /** Size on disk in bytes (compressed size for gzip) for regular files; null for stdin, pipes and devices. */
  readonly size: number | null;
}

export interface OpenInputOptions {
  /** Stream read for `-` (default process.stdin). */
  readonly stdin?: Readable;
}

function unreadable(name: string, err: unknown): AppError {
  const message = err instanceof Error ? err.message : String(err);
  return new AppError('INPUT_UNREADABLE', `cannot read ${name}: ${message}`, { cause: err, context: { file: name } });
}

/**
 * Waits for the stream's first chunk and puts it back (`unshift`), so the caller can look at the
 * leading bytes without consuming them. Resolves null for an empty stream.
 * @throws the stream's error when it fails before the first chunk.
 */
async function peek(src: Readable): Promise<Buffer | null> {
  const first = await new Promise<Buffer | null>((resolve, reject) => {
    const onReadable = (): void => {
      cleanup();
      resolve(src.read() as Buffer | null);
    };
    const onError = (err: Error): void => {
      cleanup();
      reject(err);
    };
    const onEnd = (): void => {
      cleanup();
      resolve(null);
    };
    const cleanup = (): void => {
      src.off('readable', onReadable);
      src.off('error', onError);
      src.off('end', onEnd);
    };
    src.once('readable', onReadable);
    src.once('error', onError);
    src.once('end', onEnd);
  });
  if (first !== null) src.unshift(first);
  return first;
}

/**
 * Returns `src` unchanged, or piped through node:zlib's gunzip when its first bytes are the gzip
 * magic. An error of `src` is forwarded to the gunzip stream (one error surface for the reader).
 * @throws the source stream's error when it fails before its first chunk.
 */
export async function gunzipIfGzip(src: Readable): Promise<{ stream: Readable; gzip: boolean }> {
  let first = await peek(src);
  // One byte alone cannot be judged: wait for a second chunk when the first was that short.
  if (first !== null && first.length === 1 && first[0] === GZIP_MAGIC[0]) {
    src.read();
    const more = await peek(src);
    first = more === null ? first : Buffer.concat([first, more]);
    if (more !== null) src.read();
    src.unshift(first);
  }
  // An empty input has already emitted 'end' while it was peeked at: a reader attached now would
  // wait forever for it, so an empty input is handed on as a fresh, already-empty stream.
  if (first === null) return { stream: Readable.from([]), gzip: false };
  if (!isGzipMagic(first)) return { stream: src, gzip: false };
  const gunzip = createGunzip();
  src.on('error', (err) => gunzip.destroy(err));
  return { stream: src.pipe(gunzip), gzip: true };
}

/**
 * Opens a recorded input: `-` reads `options.stdin` (default process.stdin), anything else is a
 * file path (regular file, FIFO, `/dev/stdin`, process substitution). Gzip is detected by magic
 * bytes and decompressed. The file is opened before this resolves, so a missing or unreadable file
 * fails here, before anything has been written for it.
 * @returns the opened input; reading errors later (EIO, corrupt or truncated gzip) come as
 *   stream errors, which readers wrap as INPUT_UNREADABLE (see {@link inputReadError}).
 * @throws AppError INPUT_UNREADABLE (not retriable) when the path is missing, unreadable, a
 *   directory, or fails on its first read.
 */
export async function openInput(path: string, options: OpenInputOptions = {}): Promise<OpenedInput> {
  if (path === '-') {
    const stdin = options.stdin ?? process.stdin;
    try {
      const { stream, gzip } = await gunzipIfGzip(stdin);
      return { name: 'stdin', stream, gzip, size: null };
    } catch (err) {
      throw unreadable('stdin', err);
    }
  }
  let size: number | null = null;
  try {
    const st = await stat(path);
    if (st.isDirectory()) throw Object.assign(new Error('is a directory'), { code: 'EISDIR' });
    if (st.isFile()) size = st.size;
  } catch (err) {
    throw unreadable(path, err);
  }
  let fh;
  try {
    fh = await open(path, 'r');
  } catch (err) {
    throw unreadable(path, err);
  }
  const raw = fh.createReadStream({ autoClose: true });
  try {
    const { stream, gzip } = await gunzipIfGzip(raw);
    return { name: path, stream, gzip, size };
  } catch (err) {
    raw.destroy();
    throw unreadable(path, err);
  }
}

/**
 * Wraps an error met while reading an opened input as AppError INPUT_UNREADABLE naming the input
 * (zlib's `Z_DATA_ERROR` for corrupt gzip, `Z_BUF_ERROR` for a truncated one, fs errors). An
 * AppError passes through unchanged.
 */
export function inputReadError(name: string, err: unknown): AppError {
  if (err instanceof AppError) return err;
  const code = (err as { code?: unknown } | null)?.code;
  const hint = code === 'Z_DATA_ERROR' || code === 'Z_BUF_ERROR' ? ' (corrupt or truncated gzip)' : '';
  const e = unreadable(name, err);
  return hint ? new AppError('INPUT_UNREADABLE', `${e.message}${hint}`, { cause: err, context: { file: name } }) : e;
}

/**
 * True when the file at `path` starts with the gzip magic bytes (synchronous, reads 2 bytes).
 * False for a missing, unreadable or shorter file (callers report those themselves).
 */
export function fileIsGzip(path: string): boolean {
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    const head = Buffer.alloc(2);
    const n = readSync(fd, head, 0, 2, 0);
    return isGzipMagic(head.subarray(0, n));
  } catch {
    return false;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
