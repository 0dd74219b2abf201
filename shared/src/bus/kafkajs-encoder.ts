import { createRequire } from 'node:module';

/**
 * A narrow run-time patch of kafkajs 2.2.x's protocol Encoder (src/protocol/encoder.js), the
 * class that serializes every request (produce record batches included). The module is loaded,
 * not modified on disk. Measured in `npm run bench:ingest`: before it, ~30 % of the indexer's
 * CPU went to the Encoder's buffer handling and the garbage it makes, because kafkajs
 *  - allocates a zero-filled 512-byte `Buffer.alloc` (a fresh ArrayBuffer each) for every
 *    Encoder — one per record, per record header, per partition/topic/request level;
 *  - grows by allocating a zero-filled buffer and copying (bytes about to be overwritten);
 *  - writes every varint/varlong by building an array and a `Buffer.from(array)` of 1–10 bytes,
 *    and computes varlong sizes with its Long class (several objects per record).
 *
 * What changes (the bytes produced are the same; the Kafka protocol guide's varint = zig-zag
 * + LEB128, kafka.apache.org/protocol#protocol_types):
 *  - `ensureAvailable` grows with `Buffer.allocUnsafe` (Node's shared pool below 4 KiB, no
 *    zero fill), to what is needed plus room or to twice the size (see capacityFor). Safe because an Encoder never exposes a byte it did not write: `buffer` is
 *    `buf.slice(0, offset)`, `writeEncoder` copies `value.buffer`, growth copies `[0, offset)`,
 *    and every write method advances `offset` by exactly the bytes it wrote.
 *  - The constructor's initial capacity becomes 0: `Encoder.nextPowerOfTwo` is used by exactly
 *    two callers in kafkajs 2.2.4, the constructor (initial capacity) and `ensureAvailable`
 *    (replaced here, no longer calling it); so it now answers 0, and the first write takes its
 *    room from the pool.
 *  - Blocks of ROPE_MIN bytes or more (encoded records, nested encoders, large Buffer values)
 *    are appended by reference to a list of parts ("rope") instead of being copied into a
 *    growing buffer at every nesting level (record → batch → partition → topic → request:
 *    before, a produce request's payload was copied ~8 times, each time into a fresh buffer).
 *    `writeEncoder` of an encoder with parts takes over its parts; `size()` counts them; the
 *    `buffer` getter concatenates once and keeps the result as the encoder's own buffer (a
 *    second read, such as kafkajs' byteLength-then-write, does not copy again). The parts are
 *    never written to: only `[0, offset)` of a buffer is ever referenced, and writes go past it.
 *  - `writeUVarInt` writes its bytes in place (same loop, same operators as kafkajs);
 *    `writeVarLong` and `sizeOfVarLong` take a plain-number path for int32-range integers, where
 *    the 64-bit zig-zag value equals the unsigned 32-bit one (other values: kafkajs' own code).
 * Applied only to kafkajs 2.2.x with the expected shape; idempotent. Returns whether it is applied.
 * Round-trip tests against the real broker: test/integration/ingest/kafka-bus.test.ts.
 */
export function speedUpKafkajsEncoder(): boolean {
  const require = createRequire(import.meta.url);
  let version: string;
  let Encoder: EncoderClass;
  try {
    version = (require('kafkajs/package.json') as { version: string }).version;
    Encoder = require('kafkajs/src/protocol/encoder.js') as EncoderClass;
  } catch {
    return false;
  }
  const proto = Encoder.prototype;
  if (
    !version.startsWith('2.2.') ||
    typeof proto.ensureAvailable !== 'function' ||
    typeof proto.writeUVarInt !== 'function' ||
    typeof proto.writeVarLong !== 'function' ||
    typeof Encoder.sizeOfVarLong !== 'function' ||
    typeof Encoder.nextPowerOfTwo !== 'function' ||
    typeof proto.writeBufferInternal !== 'function' ||
    typeof proto.writeEncoder !== 'function' ||
    typeof proto.writeEncoderArray !== 'function' ||
    typeof proto.writeBytes !== 'function' ||
    typeof proto.size !== 'function' ||
    typeof Object.getOwnPropertyDescriptor(proto, 'buffer')?.get !== 'function'
  )
    return false;
  if (proto[PATCHED]) return true;
  const originalWriteVarLong = proto.writeVarLong;
  const originalSizeOfVarLong = Encoder.sizeOfVarLong;
  const originalWriteBytes = proto.writeBytes;

  /** Appends `part` by reference: the bytes written so far become a part, then `part`. */
  const appendPart = (e: EncoderInstance, part: Buffer): void => {
    const rope = (e.rope ??= []);
    if (e.offset > 0) {
      rope.push(e.buf.subarray(0, e.offset));
      e.ropeBytes = (e.ropeBytes ?? 0) + e.offset;
      // Later small writes use the room left after what was written.
      e.buf = e.buf.subarray(e.offset);
      e.offset = 0;
    }
    rope.push(part);
    e.ropeBytes = (e.ropeBytes ?? 0) + part.length;
  };

  proto.writeBufferInternal = function writeBufferInternal(this: EncoderInstance, buffer: Buffer): void {
    const length = buffer.length;
    if (length >= ROPE_MIN) {
      appendPart(this, buffer);
      return;
    }
    this.ensureAvailable(length);
    buffer.copy(this.buf, this.offset, 0);
    this.offset += length;
  };

  /** Appends everything `value` holds (its parts by reference, then its current bytes). */
  const appendEncoder = (e: EncoderInstance, value: EncoderInstance): void => {
    if (value.rope) for (const part of value.rope) appendPart(e, part);
    if (value.offset > 0) e.writeBufferInternal(value.buf.subarray(0, value.offset));
  };

  proto.writeEncoder = function writeEncoder(this: EncoderInstance, value: EncoderInstance | null): EncoderInstance {
    if (value == null || !Buffer.isBuffer(value.buf)) throw new Error('value should be an instance of Encoder');
    appendEncoder(this, value);
    return this;
  };

  proto.writeEncoderArray = function writeEncoderArray(
    this: EncoderInstance,
    value: readonly (EncoderInstance | null)[],
  ): EncoderInstance {
    if (!Array.isArray(value) || value.some((v) => v == null || !Buffer.isBuffer(v.buf)))
      throw new Error('all values should be an instance of Encoder[]');
    for (const v of value as EncoderInstance[]) appendEncoder(this, v);
    return this;
  };

  // kafkajs reserves room for a Buffer value before writing it; a part taken by reference needs none.
  proto.writeBytes = function writeBytes(this: EncoderInstance, value: unknown): EncoderInstance {
    if (!Buffer.isBuffer(value)) return originalWriteBytes.call(this, value);
    this.writeInt32(value.length);
    this.writeBufferInternal(value);
    return this;
  };

  proto.size = function size(this: EncoderInstance): number {
    return (this.ropeBytes ?? 0) + this.offset;
  };

  Object.defineProperty(proto, 'buffer', {
    configurable: true,
    get(this: EncoderInstance): Buffer {
      if (this.rope) {
        const rope = this.rope;
        if (this.offset > 0) rope.push(this.buf.subarray(0, this.offset));
        const total = (this.ropeBytes ?? 0) + this.offset;
        this.buf = Buffer.concat(rope, total);
        this.offset = total;
        this.rope = undefined;
        this.ropeBytes = 0;
      }
      return this.buf.subarray(0, this.offset);
    },
  });

  proto.ensureAvailable = function ensureAvailable(this: EncoderInstance, length: number): void {
    const needed = this.offset + length;
    if (needed <= this.buf.length) return;
    const grown = Buffer.allocUnsafe(capacityFor(needed, this.buf.length));
    this.buf.copy(grown, 0, 0, this.offset);
    this.buf = grown;
  };
  Encoder.nextPowerOfTwo = () => 0;

  proto.writeUVarInt = function writeUVarInt(this: EncoderInstance, value: number): EncoderInstance {
    // At most 5 bytes: after the first 7-bit shift the value is an unsigned 32-bit integer.
    this.ensureAvailable(5);
    const buf = this.buf;
    let v = value;
    while ((v & 0xffffff80) !== 0) {
      buf[this.offset++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    buf[this.offset++] = v & 0x7f;
    return this;
  };

  proto.writeVarLong = function writeVarLong(this: EncoderInstance, value: unknown): EncoderInstance {
    if (!isInt32(value)) return originalWriteVarLong.call(this, value);
    this.ensureAvailable(5);
    const buf = this.buf;
    let v = ((value << 1) ^ (value >> 31)) >>> 0;
    while (v > 0x7f) {
      buf[this.offset++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    buf[this.offset++] = v;
    return this;
  };

  Encoder.sizeOfVarLong = function sizeOfVarLong(value: unknown): number {
    if (!isInt32(value)) return originalSizeOfVarLong.call(Encoder, value);
    let v = ((value << 1) ^ (value >> 31)) >>> 0;
    let bytes = 1;
    while (v > 0x7f) {
      bytes++;
      v >>>= 7;
    }
    return bytes;
  };

  proto[PATCHED] = true;
  return true;
}

const PATCHED = Symbol.for('regwatch.kafkajs.encoderPatched');

/** The part of kafkajs 2.2.4's Encoder instances the patch touches (`rope*`: added here). */
interface EncoderInstance {
  buf: Buffer;
  offset: number;
  /** Parts before `buf[0, offset)`, by reference, in order (absent until the first one). */
  rope?: Buffer[] | undefined;
  /** Total bytes in `rope`. */
  ropeBytes?: number;
  ensureAvailable(length: number): void;
  writeInt32(value: number): EncoderInstance;
  writeBufferInternal(buffer: Buffer): void;
}

/** Blocks at least this long are appended by reference rather than copied (bytes). */
const ROPE_MIN = 256;

/** The part of kafkajs 2.2.4's Encoder class (constructor + statics) the patch touches. */
interface EncoderClass {
  prototype: EncoderInstance & {
    writeUVarInt(this: EncoderInstance, value: number): EncoderInstance;
    writeVarLong(this: EncoderInstance, value: unknown): EncoderInstance;
    writeEncoder(this: EncoderInstance, value: EncoderInstance | null): EncoderInstance;
    writeEncoderArray(this: EncoderInstance, value: readonly (EncoderInstance | null)[]): EncoderInstance;
    writeBytes(this: EncoderInstance, value: unknown): EncoderInstance;
    size(this: EncoderInstance): number;
    [k: symbol]: boolean;
  };
  nextPowerOfTwo(value: number): number;
  sizeOfVarLong(value: unknown): number;
}

/** A plain number that is an integer in the int32 range (where zig-zag 64 = unsigned zig-zag 32). */
function isInt32(value: unknown): value is number {
  return typeof value === 'number' && (value | 0) === value;
}

/**
 * New capacity for `needed` bytes when `current` is full: at least twice `current` (growth copies
 * stay amortized O(n) for encoders written piece by piece, such as a record batch), else `needed`
 * plus 64 bytes of room for the small fields that usually follow (a record's header count after
 * its value), rounded up to 8. An encoder that receives one large block (a request wrapping its
 * payload) is thus sized to it instead of to the next power of two. Small encoders come from
 * Node's 8 KiB pool (Buffer.allocUnsafe below 4 KiB).
 */
function capacityFor(needed: number, current: number): number {
  return Math.max(2 * current, (needed + 64 + 7) & ~7);
}
