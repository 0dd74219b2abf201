import { createRequire, Module } from 'node:module';

/**
 * Faster drop-in replacements for three pure functions of kafkajs 2.2.x's producer path, installed
 * into Node's CommonJS module cache *before* kafkajs is loaded (kafkajs binds them with
 * `require` at load time, so they cannot be swapped afterwards). kafkajs on disk is unchanged.
 * Measured in `npm run bench:ingest` (indexer, 40 000 events of ~1.3 KB) before this:
 *  - `protocol/recordBatch/crc32C/index.js`: CRC-32C of every record batch, one table lookup per
 *    byte (~5 % of the indexer's CPU). Replaced by @node-rs/crc32's `crc32c` (native, SSE4.2/SIMD:
 *    ~1.4 µs for a 15 KB batch against 22 µs for slicing-by-8 in JS, 0.25 s for kafkajs' byte-wise
 *    loop) — the receiver computes one per produce request; slicing-by-8 over the same polynomial
 *    (`crc32CPortable`) when the native package cannot be loaded.
 *  - `producer/groupMessagesPerPartition.js`: copies the partition's array for every message
 *    (`[...current, message]`, quadratic in the batch) and builds an object per message.
 *    Replaced by an in-place push, same result (partition → messages, in order).
 *  - `producer/partitioners/default/murmur2.js`: the Java client's murmur2 key hash, computed with
 *    kafkajs' 64-bit Long objects (several allocations per byte quartet). Replaced by the same
 *    32-bit arithmetic with `Math.imul`, so keys still map to the partitions the Java client picks.
 *  - `protocol/recordBatch/record/v0/index.js`: encodes one record; builds an array of header
 *    objects and one Encoder per header before copying them into the record's (~4 µs per record
 *    in the receiver's profile, which sends three headers per message). Replaced by the same
 *    fields written straight into one kafkajs Encoder (`encodeRecord`): the same bytes.
 * Each replacement keeps the module's export shape; equivalence with kafkajs' own code and the
 * published test vectors is checked in test/unit/bus/kafkajs-preload.test.ts, byte-identical
 * round trips through the real broker in test/integration/ingest/kafka-bus.test.ts.
 *
 * Must run before the first `require('kafkajs')` / `import 'kafkajs'` of the process: this module
 * installs them when it is evaluated, and shared/src/bus/kafka.ts imports it before kafkajs. When
 * kafkajs was already loaded (or is not 2.2.x), nothing is installed and kafkajs' own code is used.
 */
export function installKafkajsReplacements(): string[] {
  const require = createRequire(import.meta.url);
  let version: string;
  try {
    version = (require('kafkajs/package.json') as { version: string }).version;
  } catch {
    return [];
  }
  if (!version.startsWith('2.2.')) return [];
  const installed: string[] = [];
  for (const [file, exports] of Object.entries(REPLACEMENTS)) {
    const path = require.resolve(`kafkajs/src/${file}`);
    const cached = require.cache[path];
    if (cached) {
      if (cached.exports === exports) installed.push(file);
      continue; // kafkajs already loaded its own: leave it
    }
    const m = new Module(path);
    m.filename = path;
    m.loaded = true;
    m.exports = exports;
    require.cache[path] = m;
    installed.push(file);
  }
  return installed;
}

/** kafkajs' partitioner argument shape (types/index.d.ts PartitionerArgs), the parts used here. */
interface PartitionerArgs<M> {
  readonly topic: string;
  readonly partitionMetadata: readonly unknown[];
  readonly message: M;
}

/**
 * Messages grouped by the partition the partitioner picks: `{ [partition]: messages in order }`,
 * `{}` when the topic has no partition metadata (kafkajs src/producer/groupMessagesPerPartition.js).
 */
export function groupMessagesPerPartition<M>({
  topic,
  partitionMetadata,
  messages,
  partitioner,
}: {
  topic: string;
  partitionMetadata: readonly unknown[];
  messages: readonly M[];
  partitioner: (args: PartitionerArgs<M>) => number;
}): Record<string, M[]> {
  const result: Record<string, M[]> = {};
  if (partitionMetadata.length === 0) return result;
  for (const message of messages) {
    const partition = partitioner({ topic, partitionMetadata, message });
    const group = result[partition];
    if (group) group.push(message);
    else result[partition] = [message];
  }
  return result;
}

/**
 * Kafka's murmur2 (Java client `Utils.murmur2`, used by its default partitioner) of `key`'s bytes
 * (a string is hashed as its UTF-8 bytes, as kafkajs does). Returns the signed 32-bit hash.
 */
export function murmur2(key: Buffer | string): number {
  const data = Buffer.isBuffer(key) ? key : Buffer.from(String(key));
  const length = data.length;
  const m = 0x5bd1e995;
  let h = 0x9747b28c ^ length;
  const length4 = length >>> 2;
  for (let i = 0; i < length4; i++) {
    const i4 = i * 4;
    let k = data[i4]! | (data[i4 + 1]! << 8) | (data[i4 + 2]! << 16) | (data[i4 + 3]! << 24);
    k = Math.imul(k, m);
    k ^= k >>> 24;
    k = Math.imul(k, m);
    h = Math.imul(h, m) ^ k;
  }
  const tail = length & ~3;
  // The Java switch on `length % 4` with fall-through, unrolled.
  const rest = length % 4;
  if (rest === 3) h ^= data[tail + 2]! << 16;
  if (rest >= 2) h ^= data[tail + 1]! << 8;
  if (rest >= 1) {
    h ^= data[tail]!;
    h = Math.imul(h, m);
  }
  h ^= h >>> 13;
  h = Math.imul(h, m);
  h ^= h >>> 15;
  return h | 0;
}

/** Slicing-by-8 tables for CRC-32C (Castagnoli, reflected polynomial 0x82F63B78; RFC 3720 B.4). */
const CRC_TABLES = ((): Int32Array[] => {
  const t = Array.from({ length: 8 }, () => new Int32Array(256));
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    t[0]![n] = c;
  }
  for (let n = 0; n < 256; n++) {
    let c = t[0]![n]!;
    for (let s = 1; s < 8; s++) {
      c = t[0]![c & 0xff]! ^ (c >>> 8);
      t[s]![n] = c;
    }
  }
  return t;
})();

/**
 * CRC-32C of `buffer` as an unsigned 32-bit number (the record batch checksum, Kafka protocol
 * guide "Record Batch"; kafkajs src/protocol/recordBatch/crc32C/index.js). Eight bytes per step,
 * in JavaScript: the fallback of `crc32C` when the native implementation is unavailable.
 */
export function crc32CPortable(buffer: Uint8Array): number {
  const [t0, t1, t2, t3, t4, t5, t6, t7] = CRC_TABLES as [
    Int32Array,
    Int32Array,
    Int32Array,
    Int32Array,
    Int32Array,
    Int32Array,
    Int32Array,
    Int32Array,
  ];
  let crc = -1;
  let i = 0;
  const n = buffer.length;
  const end8 = n - (n % 8);
  while (i < end8) {
    const lo = crc ^ (buffer[i]! | (buffer[i + 1]! << 8) | (buffer[i + 2]! << 16) | (buffer[i + 3]! << 24));
    crc =
      t7[lo & 0xff]! ^
      t6[(lo >>> 8) & 0xff]! ^
      t5[(lo >>> 16) & 0xff]! ^
      t4[lo >>> 24]! ^
      t3[buffer[i + 4]!]! ^
      t2[buffer[i + 5]!]! ^
      t1[buffer[i + 6]!]! ^
      t0[buffer[i + 7]!]!;
    i += 8;
  }
  for (; i < n; i++) crc = t0[(crc ^ buffer[i]!) & 0xff]! ^ (crc >>> 8);
  return (crc ^ -1) >>> 0;
}

/** @node-rs/crc32's CRC-32C (Castagnoli; unsigned result), or undefined when it cannot be loaded. */
function loadNativeCrc32C(): ((input: Uint8Array) => number) | undefined {
  try {
    const native = createRequire(import.meta.url)('@node-rs/crc32') as {
      crc32c?: (input: Uint8Array, initialState?: number) => number;
    };
    const f = native.crc32c;
    // Checked against the standard check value before it is trusted with every record batch.
    if (typeof f !== 'function' || f(Buffer.from('123456789')) !== 0xe3069283) return undefined;
    return f;
  } catch {
    return undefined;
  }
}

const nativeCrc32C = loadNativeCrc32C();

/** Which CRC-32C implementation `crc32C` uses: `native` (@node-rs/crc32) or `portable` (JS). */
export const CRC32C_IMPLEMENTATION: 'native' | 'portable' = nativeCrc32C ? 'native' : 'portable';

/**
 * CRC-32C of `buffer` as an unsigned 32-bit number (the record batch checksum, Kafka protocol
 * guide "Record Batch"): @node-rs/crc32 when it loads, else `crc32CPortable`. Same results.
 */
export const crc32C: (buffer: Uint8Array) => number = nativeCrc32C ? (buffer) => nativeCrc32C(buffer) : crc32CPortable;

/** The parts of kafkajs 2.2's Encoder (src/protocol/encoder.js) `encodeRecord` uses. */
interface KafkajsEncoder {
  writeVarInt(value: number): KafkajsEncoder;
  writeInt8(value: number): KafkajsEncoder;
  writeVarLong(value: unknown): KafkajsEncoder;
  writeVarIntBytes(value: unknown): KafkajsEncoder;
  writeVarIntString(value: unknown): KafkajsEncoder;
}
interface KafkajsEncoderClass {
  new (): KafkajsEncoder;
  sizeOfVarInt(value: number): number;
  sizeOfVarLong(value: unknown): number;
  sizeOfVarIntBytes(value: unknown): number;
}

let encoderClass: KafkajsEncoderClass | undefined;
/** kafkajs' own Encoder class (the module instance kafkajs uses, with kafkajs-encoder.ts's patch). */
const kafkajsEncoder = (): KafkajsEncoderClass =>
  (encoderClass ??= createRequire(import.meta.url)('kafkajs/src/protocol/encoder.js') as KafkajsEncoderClass);

/** A record's fields as kafkajs' produce request passes them (src/protocol/requests/produce/v3/request.js). */
interface RecordFields {
  readonly offsetDelta?: number;
  readonly timestampDelta?: unknown;
  readonly key?: unknown;
  readonly value?: unknown;
  readonly headers?: Readonly<Record<string, unknown>>;
}

/** Wire size of one record header (kafkajs record/v0 sizeOfHeaders; a null value throws there too). */
function headerSize(E: KafkajsEncoderClass, key: string, value: unknown): number {
  const keySize = Buffer.byteLength(key);
  const valueSize = Buffer.byteLength(value as string);
  return (
    E.sizeOfVarInt(keySize) + keySize + (value === null ? E.sizeOfVarInt(-1) : E.sizeOfVarInt(valueSize) + valueSize)
  );
}

/**
 * One Kafka record (message format v2, Kafka protocol guide "Record": length, attributes,
 * timestampDelta varlong, offsetDelta varint, key and value varint-prefixed bytes, headers as a
 * varint count of varint-prefixed key string + value bytes), as a kafkajs Encoder: the same bytes
 * as kafkajs 2.2's src/protocol/recordBatch/record/v0/index.js, including its header flattening (a
 * header whose value is an array becomes one header per element, in `Object.keys` order).
 */
export function encodeRecord({ offsetDelta = 0, timestampDelta = 0, key, value, headers = {} }: RecordFields): unknown {
  const E = kafkajsEncoder();
  const names = Object.keys(headers);
  let count = 0;
  let headersSize = 0;
  for (const name of names) {
    const v = headers[name];
    if (Array.isArray(v)) {
      for (const item of v as unknown[]) {
        count++;
        headersSize += headerSize(E, name, item);
      }
    } else {
      count++;
      headersSize += headerSize(E, name, v);
    }
  }
  const sizeOfBody =
    1 +
    E.sizeOfVarLong(timestampDelta) +
    E.sizeOfVarInt(offsetDelta) +
    E.sizeOfVarIntBytes(key) +
    E.sizeOfVarIntBytes(value) +
    E.sizeOfVarInt(count) +
    headersSize;
  const e = new E()
    .writeVarInt(sizeOfBody)
    .writeInt8(0) // no record attributes are used
    .writeVarLong(timestampDelta)
    .writeVarInt(offsetDelta)
    .writeVarIntBytes(key)
    .writeVarIntBytes(value)
    .writeVarInt(count);
  for (const name of names) {
    const v = headers[name];
    if (Array.isArray(v)) for (const item of v as unknown[]) e.writeVarIntString(name).writeVarIntBytes(item);
    else e.writeVarIntString(name).writeVarIntBytes(v);
  }
  return e;
}

/** Module path under kafkajs/src → the `module.exports` that replaces it. */
const REPLACEMENTS: Record<string, unknown> = {
  'protocol/recordBatch/record/v0/index.js': encodeRecord,
  'protocol/recordBatch/crc32C/index.js': crc32C,
  'producer/groupMessagesPerPartition.js': groupMessagesPerPartition,
  'producer/partitioners/default/murmur2.js': murmur2,
};

/** What was installed when this module was evaluated (kafkajs-relative paths). */
export const KAFKAJS_REPLACEMENTS_INSTALLED: readonly string[] = installKafkajsReplacements();
