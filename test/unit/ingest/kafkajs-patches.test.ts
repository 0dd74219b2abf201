/**
 * The kafkajs speed-ups (shared/src/bus/kafkajs-preload.ts, kafkajs-encoder.ts) against kafkajs'
 * own code, loaded a second time from its files on disk, and against published test vectors.
 * Byte-exact round trips through the real broker: test/integration/ingest/kafka-bus.test.ts.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire, Module } from 'node:module';
// The bus module first: it installs the replacements, which only apply before kafkajs loads.
import { KAFKAJS_REPLACEMENTS_INSTALLED, speedUpKafkajsEncoder } from '../../../shared/src/bus/kafka.ts';
import {
  CRC32C_IMPLEMENTATION,
  crc32C,
  crc32CPortable,
  encodeRecord,
  groupMessagesPerPartition,
  murmur2,
} from '../../../shared/src/bus/kafkajs-preload.ts';

const require = createRequire(import.meta.url);

/** A private copy of one kafkajs source file (its own module instance, never the patched one). */
function pristine<T>(file: string): T {
  const path = require.resolve(`kafkajs/src/${file}`);
  const m = new Module(path) as Module & { _compile(src: string, file: string): void };
  m.filename = path;
  m.paths = (Module as unknown as { _nodeModulePaths(p: string): string[] })._nodeModulePaths(path);
  m._compile(readFileSync(path, 'utf8'), path);
  return m.exports as T;
}

/** Deterministic pseudo-random bytes. */
function bytes(n: number, seed: number): Buffer {
  const b = Buffer.allocUnsafe(n);
  let s = seed | 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1103515245) + 12345) | 0;
    b[i] = s >>> 24;
  }
  return b;
}

describe('kafkajs replacements installed before kafkajs loads', () => {
  test('all four are in place and kafkajs resolves to them', () => {
    assert.deepEqual([...KAFKAJS_REPLACEMENTS_INSTALLED].sort(), [
      'producer/groupMessagesPerPartition.js',
      'producer/partitioners/default/murmur2.js',
      'protocol/recordBatch/crc32C/index.js',
      'protocol/recordBatch/record/v0/index.js',
    ]);
    assert.equal(require('kafkajs/src/protocol/recordBatch/record/v0/index.js'), encodeRecord);
    assert.equal(require('kafkajs/src/protocol/recordBatch/crc32C/index.js'), crc32C);
    assert.equal(require('kafkajs/src/producer/groupMessagesPerPartition.js'), groupMessagesPerPartition);
    assert.equal(require('kafkajs/src/producer/partitioners/default/murmur2.js'), murmur2);
  });
});

for (const [name, crc] of [
  ['crc32C (installed)', crc32C],
  ['crc32CPortable (slicing-by-8)', crc32CPortable],
] as const) {
  describe(name, () => {
    test('RFC 3720 B.4 vectors and the "123456789" check value', () => {
      assert.equal(crc(Buffer.alloc(32, 0)), 0x8a9136aa);
      assert.equal(crc(Buffer.alloc(32, 0xff)), 0x62a8ab43);
      assert.equal(crc(Buffer.from(Array.from({ length: 32 }, (_, i) => i))), 0x46dd794e);
      assert.equal(crc(Buffer.from(Array.from({ length: 32 }, (_, i) => 31 - i))), 0x113fdb5c);
      assert.equal(crc(Buffer.from('123456789')), 0xe3069283);
      assert.equal(crc(Buffer.alloc(0)), 0);
    });

    test("equals kafkajs' byte-wise implementation for every length 0–300 and large inputs, on subarrays too", () => {
      const original = pristine<(b: Buffer) => number>('protocol/recordBatch/crc32C/index.js');
      for (let n = 0; n <= 300; n++) {
        const b = bytes(n, n + 1);
        assert.equal(crc(b), original(b), `length ${n}`);
      }
      for (const n of [4096, 65_537, 1_000_003]) {
        const b = bytes(n, n);
        assert.equal(crc(b), original(b), `length ${n}`);
        const view = b.subarray(3, n - 5);
        assert.equal(crc(view), original(view), `subarray of ${n}`);
      }
    });
  });
}

describe('crc32C implementation', () => {
  test('the native one (@node-rs/crc32, a dependency) is used where it installs', () => {
    assert.equal(CRC32C_IMPLEMENTATION, 'native');
  });
});

describe('murmur2 (Math.imul)', () => {
  test("the Java client's test vectors (Kafka UtilsTest.testMurmur2)", () => {
    const cases: [string, number][] = [
      ['21', -973932308],
      ['foobar', -790332482],
      ['a-little-bit-long-string', -985981536],
      ['a-little-bit-longer-string', -1486304829],
      ['lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8', -58897971],
      ['abc', 479470107],
    ];
    for (const [key, want] of cases) assert.equal(murmur2(key), want, key);
  });

  test("equals kafkajs' Long-based implementation for strings (UTF-8) and buffers of every tail length", () => {
    const original = pristine<(k: Buffer | string) => number>('producer/partitioners/default/murmur2.js');
    for (let n = 0; n < 200; n++) {
      const b = bytes(n, 7 * n + 3);
      assert.equal(murmur2(b), original(b), `buffer of ${n}`);
      const s = `notifications:10.0.${n}.1-ключ-🔑`.slice(0, 5 + (n % 30));
      assert.equal(murmur2(s), original(s), s);
    }
  });
});

describe('groupMessagesPerPartition (linear)', () => {
  test("same grouping and order as kafkajs', {} without partition metadata", () => {
    const original = pristine<typeof groupMessagesPerPartition>('producer/groupMessagesPerPartition.js');
    const messages = Array.from({ length: 700 }, (_, i) => ({ key: `k${i % 37}`, value: String(i) }));
    const partitioner = ({ message }: { message: { key: string } }) => (murmur2(message.key) & 0x7fffffff) % 5;
    const args = { topic: 't', partitionMetadata: [0, 1, 2, 3, 4], messages, partitioner };
    assert.deepEqual(groupMessagesPerPartition(args), original(args));
    assert.deepEqual(Object.keys(groupMessagesPerPartition(args)), Object.keys(original(args)));
    const none = { ...args, partitionMetadata: [] };
    assert.deepEqual(groupMessagesPerPartition(none), original(none));
  });
});

describe('encodeRecord (one Encoder per record)', () => {
  test("the same bytes as kafkajs' record/v0 for keys, values and headers of every kind", () => {
    type Fields = Parameters<typeof encodeRecord>[0];
    const original = pristine<(f: Fields) => { buffer: Buffer }>('protocol/recordBatch/record/v0/index.js');
    const bytesOf = (e: unknown): Buffer => (e as { buffer: Buffer }).buffer;
    const keys = [undefined, null, '', 'notifications:127.0.0.1', 'ключ-🔑', bytes(40, 1)];
    const values = [null, '', 'x', '{"events":[]}'.repeat(40), bytes(255, 2), bytes(256, 3), bytes(70_000, 4)];
    const headerSets = [
      undefined,
      {},
      {
        'content-type': 'application/json',
        'regwatch.received_at': '2026-11-30T05:00:00.000Z',
        'regwatch.route': 'logs',
      },
      { bin: bytes(300, 5), empty: '', 'ü-key': 'wert-ß' },
      { multi: ['a', 'b', bytes(3, 6)], single: 'c' },
    ];
    const deltas: [number, unknown][] = [
      [0, 0],
      [1, 5],
      [63, 64],
      [64, 8191],
      [9999, 2 ** 31 - 1],
      [123_456, 2 ** 40],
    ];
    let n = 0;
    for (const key of keys)
      for (const value of values)
        for (const headers of headerSets)
          for (const [offsetDelta, timestampDelta] of deltas) {
            const fields: Fields = {
              offsetDelta,
              timestampDelta,
              key,
              value,
              ...(headers === undefined ? {} : { headers }),
            };
            assert.deepEqual(bytesOf(encodeRecord(fields)), bytesOf(original(fields)), JSON.stringify({ key, n }));
            n++;
          }
    // Defaults (no offsetDelta / timestampDelta / headers), as kafkajs applies them.
    assert.deepEqual(bytesOf(encodeRecord({ key: 'k', value: 'v' })), bytesOf(original({ key: 'k', value: 'v' })));
  });

  test('a null header value throws, as in kafkajs', () => {
    const original = pristine<(f: unknown) => unknown>('protocol/recordBatch/record/v0/index.js');
    const fields = { key: 'k', value: 'v', headers: { h: null } };
    assert.throws(() => original(fields), TypeError);
    assert.throws(() => encodeRecord(fields), TypeError);
  });
});

describe('kafkajs Encoder patch', () => {
  interface Enc {
    writeVarLong(v: unknown): Enc;
    writeVarInt(v: number): Enc;
    writeUVarInt(v: number): Enc;
    writeInt8(v: number): Enc;
    writeInt32(v: number): Enc;
    writeVarIntString(v: string): Enc;
    writeString(v: string | null): Enc;
    writeBytes(v: Buffer | string | null): Enc;
    writeVarIntBytes(v: Buffer | string | null): Enc;
    writeEncoder(v: Enc): Enc;
    size(): number;
    readonly buffer: Buffer;
  }
  type EncoderNew = new () => Enc;
  type EncClass = EncoderNew & { sizeOfVarLong(v: unknown): number };
  const Patched = require('kafkajs/src/protocol/encoder.js') as EncClass;
  const Original = pristine<EncClass>('protocol/encoder.js');
  const Long = require('kafkajs/src/utils/long.js') as { fromString(s: string): unknown };
  const Record = require('kafkajs/src/protocol/recordBatch/record/v0/index.js') as (r: object) => Enc;

  test('is applied', () => {
    assert.equal(speedUpKafkajsEncoder(), true);
  });

  test('varints, varlongs and their sizes are byte-identical (int32 edges, beyond int32, Long values)', () => {
    const values = [
      0,
      1,
      -1,
      63,
      64,
      -64,
      -65,
      127,
      128,
      300,
      -300,
      2 ** 20,
      2 ** 31 - 1,
      -(2 ** 31),
      2 ** 31,
      2 ** 40,
      -(2 ** 40),
      Number.MAX_SAFE_INTEGER,
      Number.MIN_SAFE_INTEGER,
      -0,
    ];
    for (const v of values) {
      assert.deepEqual(new Patched().writeVarLong(v).buffer, new Original().writeVarLong(v).buffer, `varlong ${v}`);
      assert.equal(Patched.sizeOfVarLong(v), Original.sizeOfVarLong(v), `sizeOfVarLong ${v}`);
      const i = Number(BigInt.asIntN(32, BigInt(v)));
      assert.deepEqual(new Patched().writeVarInt(i).buffer, new Original().writeVarInt(i).buffer, `varint ${i}`);
      assert.deepEqual(new Patched().writeUVarInt(v).buffer, new Original().writeUVarInt(v).buffer, `uvarint ${v}`);
    }
    const min = Long.fromString('-9223372036854775808');
    assert.deepEqual(new Patched().writeVarLong(min).buffer, new Original().writeVarLong(min).buffer);
  });

  test('a mixed stream across many growth steps, nested encoders and records are byte-identical', () => {
    const build = (E: EncClass): Buffer => {
      const outer = new E();
      for (let i = 0; i < 2000; i++) {
        const inner = new E()
          .writeInt32(i)
          .writeString(i % 9 === 0 ? null : 'x€'.repeat(i % 50))
          .writeVarInt(i * 1000 - 5000)
          .writeVarLong(Date.UTC(2026, 0, 1) + i)
          .writeBytes(bytes(i % 700, i))
          .writeVarIntBytes(i % 4 === 0 ? null : `v${i}`);
        outer.writeInt32(inner.size()).writeEncoder(inner);
      }
      return outer.buffer;
    };
    assert.deepEqual(build(Patched), build(Original));
    // Parts by reference through several levels, `buffer` read mid-way and twice, writes after it.
    const levels = (E: EncoderNew): Buffer[] => {
      const reads: Buffer[] = [];
      const records = Array.from({ length: 300 }, (_, i) => new E().writeVarInt(i).writeBytes(bytes(200 + i * 3, i)));
      const body = new E().writeInt32(records.length);
      for (const r of records) body.writeEncoder(r);
      reads.push(Buffer.from(body.buffer), Buffer.from(body.buffer));
      const batch = new E().writeInt8(2).writeInt32(body.size()).writeEncoder(body);
      const outer = new E().writeBytes(batch.buffer).writeString('after');
      body.writeString('body grows after being read and embedded');
      const request = new E().writeInt32(outer.size()).writeEncoder(outer).writeEncoder(body);
      reads.push(Buffer.from(request.buffer), Buffer.from(request.buffer), Buffer.from(outer.buffer));
      return reads;
    };
    assert.deepEqual(levels(Patched), levels(Original));
    // A record encoded with the patched class matches the same bytes from the pristine encoder
    // (record v0 = length varint, attributes, timestamp delta varlong, offset delta, key, value, headers).
    const rec = Record({
      offsetDelta: 5,
      timestampDelta: 1234567,
      key: 'k€y',
      value: bytes(3000, 9),
      headers: { a: 'b', c: ['d', 'e'] },
    }).buffer;
    const expect = new Original()
      .writeVarInt(rec.length - 2) // the body size varint of this record takes 2 bytes
      .writeInt8(0)
      .writeVarLong(1234567)
      .writeVarInt(5)
      .writeVarIntBytes('k€y')
      .writeVarIntBytes(bytes(3000, 9))
      .writeVarInt(3);
    for (const [k, v] of [
      ['a', 'b'],
      ['c', 'd'],
      ['c', 'e'],
    ] as const)
      expect.writeVarIntString(k).writeVarIntBytes(v);
    assert.deepEqual(rec, expect.buffer);
  });
});
