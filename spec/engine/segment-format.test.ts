// The sealed-segment blob: every kind of column survives a round trip
// (nulls, Arrays, JSON, $meta, partitions, several vector fields), from
// aligned and unaligned buffers, with vectors viewed in place when they can be.
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, test } from "node:test";
import { VecbusError } from "../../protocol/errors.js";
import { PARTITION_FIELD } from "../../protocol/partitions.js";
import type { PrimaryKey } from "../../protocol/rows.js";
import { DYNAMIC_FIELD } from "../../protocol/schema.js";
import { encode } from "../../runtime/codec.js";
import { decodeKeyColumns, decodeSegment, encodeSegment, keyColumnsEnd, readSegmentFile, type SegmentColumns, type SegmentHead } from "../../engine/segment-format.js";
import { rng } from "../random.js";
import { VectorColumn } from "../../engine/vector-column.js";

const HEAD: SegmentHead = { segment_id: 4711, collection_id: 3, shard: 1, seq_from: 10, seq_to: 4711 };
const TS0 = BigInt(Date.now()) << 18n;

function columns(n: number, pkType: "Int64" | "VarChar", seed = 7): SegmentColumns {
  const r = rng(seed);
  const maybe = <T>(v: T) => (r() < 0.2 ? null : v);
  const pks: PrimaryKey[] = Array.from({ length: n }, (_, i) => (pkType === "Int64" ? (i % 2 ? -1 : 1) * (i * 7919 + 2 ** 40) : `key-${i}-é`));
  const vec = (dim: number) => Float32Array.from({ length: n * dim }, () => r() * 2 - 1);
  return {
    pk: { field: "id", type: pkType, values: pks },
    timestamps: BigUint64Array.from({ length: n }, (_, i) => TS0 + BigInt(n - i)),
    scalars: new Map<string, unknown[]>([
      ["flag", pks.map(() => maybe(r() < 0.5))],
      ["small", pks.map(() => Math.floor(r() * 256) - 128)],
      ["big", pks.map(() => maybe(Math.floor(r() * 2 ** 52) * (r() < 0.5 ? -1 : 1)))],
      ["f", pks.map(() => Math.fround(r() * 100))],
      ["d", pks.map(() => maybe(r() * 1e300))],
      ["s", pks.map((_, i) => maybe(`text ${i} ✓`))],
      ["j", pks.map((_, i) => maybe({ n: i, nested: { list: [1, "two", null, { x: r() }] }, ok: true }))],
      ["tags", pks.map((_, i) => maybe(Array.from({ length: i % 4 }, (_, k) => `t${k}`)))],
      ["nums", pks.map((_, i) => Array.from({ length: i % 3 }, (_, k) => k * 2 ** 33))],
      [DYNAMIC_FIELD, pks.map((_, i) => (i % 3 === 0 ? null : { color: i % 2 ? "red" : "blue", score: i / 4 }))],
      [PARTITION_FIELD, pks.map((_, i) => (i % 5 === 0 ? "archive" : "_default"))],
    ]),
    vectors: new Map([
      ["dense", VectorColumn.of(8, vec(8))],
      ["small_vec", VectorColumn.of(3, vec(3))],
    ]),
  };
}

/** The same bytes starting `shift` bytes into a fresh buffer. */
function shifted(bytes: Uint8Array, shift: number): Uint8Array {
  const out = new Uint8Array(bytes.byteLength + shift);
  out.set(bytes, shift);
  return out.subarray(shift);
}

describe("segment format", () => {
  test("segment format - every column type round trips, manifest included", () => {
    for (const pkType of ["Int64", "VarChar"] as const) {
      const cols = columns(50, pkType);
      const { bytes, manifest } = encodeSegment(HEAD, cols);
      const back = decodeSegment(bytes);
      assert.deepEqual(back.columns, cols);
      assert.deepEqual(back.manifest, manifest);
      assert.equal(manifest.row_count, 50);
      assert.equal(manifest.ts_min, TS0 + 1n);
      assert.equal(manifest.ts_max, TS0 + 50n);
      assert.deepEqual([manifest.pk.min, manifest.pk.max], pkType === "Int64" ? [-(49 * 7919 + 2 ** 40), 48 * 7919 + 2 ** 40] : ["key-0-é", "key-9-é"]);
      assert.deepEqual(
        manifest.columns.map((c) => [c.name, c.kind, c.dim]),
        [
          ["id", pkType === "Int64" ? "int64" : "msgpack", undefined],
          ["$ts", "uint64", undefined],
          ...[...cols.scalars.keys()].map((k) => [k, "msgpack", undefined]),
          ["dense", "float32", 8],
          ["small_vec", "float32", 3],
        ],
      );
      for (const c of manifest.columns) assert.equal(c.offset % 8, 0, `column ${c.name} is 8-aligned`);
      const { segment_id, collection_id, shard, seq_from, seq_to } = back.manifest;
      assert.deepEqual({ segment_id, collection_id, shard, seq_from, seq_to }, HEAD);
    }
  });

  test("segment format - keys and partition labels read from the head of a blob, before its vectors", () => {
    for (const pkType of ["Int64", "VarChar"] as const) {
      const cols = columns(300, pkType);
      const { bytes } = encodeSegment(HEAD, cols);
      assert.equal(keyColumnsEnd(bytes.subarray(0, 11)), undefined, "no length before the header");
      assert.equal(keyColumnsEnd(bytes.subarray(0, 20)), undefined, "no length before the manifest");
      const end = keyColumnsEnd(bytes)!;
      assert.equal(keyColumnsEnd(bytes.subarray(0, end)), end);
      assert.ok(end < bytes.byteLength - 300 * 11 * 4, `the keys end (${end}) before the vectors (${bytes.byteLength} bytes in all)`);
      const keys = decodeKeyColumns(shifted(bytes.subarray(0, end), 3));
      assert.deepEqual([keys.pks, keys.partitions, keys.manifest.segment_id], [cols.pk.values, cols.scalars.get(PARTITION_FIELD), HEAD.segment_id]);
      assert.throws(() => decodeKeyColumns(bytes.subarray(0, end - 1)), /segment blob is unreadable: column .* runs past the bytes read/);
    }
  });

  test("segment format - aligned input is viewed in place, unaligned input (Buffer too) is copied once", () => {
    const cols = columns(20, "Int64");
    const { bytes } = encodeSegment(HEAD, cols);
    const inPlace = decodeSegment(bytes).columns.vectors.get("dense")!.toBlock();
    assert.equal(inPlace.buffer, bytes.buffer, "no copy when the vectors are 4-aligned");
    for (const shift of [1, 2, 3, 5]) {
      const input = shifted(bytes, shift);
      const back = decodeSegment(input).columns;
      assert.deepEqual(back, cols, `shifted by ${shift}`);
      assert.notEqual(back.vectors.get("dense")!.toBlock().buffer, input.buffer);
    }
    const buffer = Buffer.concat([Buffer.from([0]), bytes]).subarray(1);
    assert.deepEqual(decodeSegment(buffer).columns, cols);
  });

  test("segment format - an empty segment round trips", () => {
    const cols: SegmentColumns = { pk: { field: "id", type: "Int64", values: [] }, timestamps: new BigUint64Array(0), scalars: new Map([["s", []]]), vectors: new Map([["v", VectorColumn.of(4, new Float32Array(0))]]) };
    const { bytes, manifest } = encodeSegment(HEAD, cols);
    assert.deepEqual(decodeSegment(bytes).columns, cols);
    assert.deepEqual([manifest.row_count, manifest.pk.min, manifest.pk.max], [0, null, null]);
    assert.deepEqual([manifest.ts_min, manifest.ts_max], [0n, 0n]);
  });

  test("segment format - a blob that is not a segment is refused by name", () => {
    const { bytes } = encodeSegment(HEAD, columns(3, "Int64"));
    const notSegment = (e: unknown) => e instanceof VecbusError && e.code === "INTERNAL" && /segment blob is unreadable/.test(e.message);
    assert.throws(() => decodeSegment(new TextEncoder().encode("hello, world")), notSegment);
    assert.throws(() => decodeSegment(bytes.subarray(0, bytes.byteLength - 9)), notSegment);
    const future = bytes.slice();
    future[4] = 99;
    assert.throws(() => decodeSegment(future), notSegment);
  });
  test("segment format - the manifest holds the smallest and largest key and timestamp wherever they sit", () => {
    // Extremes in the middle of the rows, neither first nor last, and not in the same row.
    const ts = [30n, 10n, 50n, 40n, 20n];
    const int64: SegmentColumns = { pk: { field: "id", type: "Int64", values: [5, -3, 2, 9, 0] }, timestamps: BigUint64Array.from(ts), scalars: new Map(), vectors: new Map() };
    const m = encodeSegment(HEAD, int64).manifest;
    assert.deepEqual([m.pk.min, m.pk.max, m.ts_min, m.ts_max, m.row_count], [-3, 9, 10n, 50n, 5]);
    // Keys 2^53 apart from each other still order exactly; "b" sorts before "ba", "a" < "b" by code unit.
    const varchar: SegmentColumns = { pk: { field: "pk", type: "VarChar", values: ["m", "ba", "a", "zz", "b"] }, timestamps: BigUint64Array.from(ts), scalars: new Map(), vectors: new Map() };
    const v = encodeSegment(HEAD, varchar).manifest;
    assert.deepEqual([v.pk.min, v.pk.max, v.ts_min, v.ts_max], ["a", "zz", 10n, 50n]);
    // One row: it is both ends.
    const one: SegmentColumns = { pk: { field: "id", type: "Int64", values: [-7] }, timestamps: BigUint64Array.from([99n]), scalars: new Map(), vectors: new Map() };
    const o = encodeSegment(HEAD, one).manifest;
    assert.deepEqual([o.pk.min, o.pk.max, o.ts_min, o.ts_max], [-7, -7, 99n, 99n]);
  });

  test("segment format - a segment file reads back through its descriptor, vectors left on disk where the file holds them", (t) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "vecbus-segfile-"));
    t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
    for (const pkType of ["Int64", "VarChar"] as const) {
      const cols = columns(30, pkType, 11);
      const { bytes, manifest } = encodeSegment(HEAD, cols);
      const file = path.join(dir, `${pkType}.seg`);
      fs.writeFileSync(file, bytes);
      const fd = fs.openSync(file, "r");
      try {
        const back = readSegmentFile(fd);
        assert.deepEqual(back.manifest, manifest);
        assert.deepEqual(back.columns.pk, cols.pk);
        assert.deepEqual(back.columns.timestamps, cols.timestamps);
        assert.deepEqual(back.columns.scalars, cols.scalars);
        assert.equal(back.columns.vectors.size, 0, "vectors stay on disk");
        assert.deepEqual([...back.onDisk.keys()], ["dense", "small_vec"]);
        for (const [name, v] of cols.vectors) {
          const where = back.onDisk.get(name)!;
          assert.equal(where.dim, v.dim);
          assert.equal(where.offset % 8, 0, `${name} starts 8-aligned in the file`);
          // The rows read straight from the file at that offset are the vectors written.
          const raw = Buffer.alloc(v.toBlock().byteLength);
          assert.equal(fs.readSync(fd, raw, 0, raw.byteLength, where.offset), raw.byteLength);
          assert.deepEqual(new Float32Array(raw.buffer, raw.byteOffset, v.toBlock().length), v.toBlock());
        }
      } finally {
        fs.closeSync(fd);
      }
    }
  });

  test("segment format - a truncated or foreign blob is refused with the reason, from memory and from a file", (t) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "vecbus-segbad-"));
    t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
    const { bytes } = encodeSegment(HEAD, columns(3, "Int64"));
    const fromFile = (blob: Uint8Array) => {
      const file = path.join(dir, "bad.seg");
      fs.writeFileSync(file, blob);
      const fd = fs.openSync(file, "r");
      try {
        return readSegmentFile(fd);
      } finally {
        fs.closeSync(fd);
      }
    };
    const refused = (blob: Uint8Array, why: string, label: string) => {
      const expected = (e: unknown) => e instanceof VecbusError && e.code === "INTERNAL" && e.message === `a segment blob is unreadable: ${why}`;
      assert.throws(() => decodeSegment(blob), expected, `${label} (bytes)`);
      assert.throws(() => fromFile(blob), expected, `${label} (file)`);
    };
    const noMagic = "it does not start with the segment magic";
    refused(new Uint8Array(0), noMagic, "empty");
    // The magic and a version but shorter than the 12-byte header.
    refused(bytes.subarray(0, 11), noMagic, "11 bytes");
    refused(new TextEncoder().encode("hello, world, this is no segment"), noMagic, "text");
    const wrongMagic = bytes.slice();
    wrongMagic[3] = "X".charCodeAt(0);
    refused(wrongMagic, noMagic, "VBSX");
    const future = bytes.slice();
    future[4] = 2;
    refused(future, "its format version 2 is not 1", "version 2");
    const highVersion = bytes.slice();
    highVersion[5] = 1; // u16 LE: 256 + 1
    refused(highVersion, "its format version 257 is not 1", "version 257");
    // The whole header, none of the manifest; then all but the manifest's last byte.
    refused(bytes.subarray(0, 12), "its manifest runs past the end", "header only");
    const manifestLength = bytes[8] | (bytes[9] << 8) | (bytes[10] << 16) | (bytes[11] << 24);
    refused(bytes.subarray(0, 12 + manifestLength - 1), "its manifest runs past the end", "manifest cut by one byte");
    // The last column (small_vec, 3 rows x 3 floats = 36 bytes, then 4 bytes of padding to 8) loses its last byte;
    // losing only the padding is harmless.
    assert.deepEqual(decodeSegment(bytes.subarray(0, bytes.byteLength - 4)).columns.vectors.get("small_vec")!.toBlock(), decodeSegment(bytes).columns.vectors.get("small_vec")!.toBlock());
    refused(bytes.subarray(0, bytes.byteLength - 5), 'column "small_vec" runs past the end', "last column cut by one byte");
    // With the vectors gone (cut right after the manifest), the first column is the one that runs past the end.
    refused(bytes.subarray(0, 12 + manifestLength), 'column "id" runs past the end', "no columns");
    // A vector column whose length is not its rows × dim floats (readers take rows × dim from its start).
    const handMade = (length: number, dim: number | undefined) => {
      const manifest = { ...HEAD, row_count: 3, ts_min: 0, ts_max: 0, pk: { field: "id", type: "Int64", min: null, max: null }, columns: [{ name: "v", kind: "float32", offset: 0, length, dim }] };
      const packed = encode(manifest);
      const dataStart = Math.ceil((12 + packed.byteLength) / 8) * 8;
      const blob = new Uint8Array(dataStart + 48);
      blob.set([0x56, 0x42, 0x53, 0x47, 1, 0, 0, 0]);
      new DataView(blob.buffer).setUint32(8, packed.byteLength, true);
      blob.set(packed, 12);
      return blob;
    };
    refused(handMade(20, 2), 'vector column "v" holds 20 bytes, not 3 rows of 2 float32', "a short vector column");
    refused(handMade(28, 2), 'vector column "v" holds 28 bytes, not 3 rows of 2 float32', "a long vector column");
    refused(handMade(0, 0), 'vector column "v" has no dim of 1 or more', "a vector column of dim 0");
    refused(handMade(24, undefined), 'vector column "v" has no dim of 1 or more', "a vector column without dim");
    assert.equal(decodeSegment(handMade(24, 2)).columns.vectors.get("v")!.rows, 3);
  });

  test("segment format - a blob that ends exactly where its manifest or its last column ends is whole", (t) => {
    // Built by hand: header, a manifest with no columns, nothing after it.
    const manifest = { ...HEAD, row_count: 0, ts_min: 0, ts_max: 0, pk: { field: "id", type: "Int64", min: null, max: null }, columns: [] };
    const packed = encode(manifest);
    const blob = new Uint8Array(12 + packed.byteLength);
    blob.set([0x56, 0x42, 0x53, 0x47, 1, 0, 0, 0]); // "VBSG", version 1 (u16 LE), u16 0
    new DataView(blob.buffer).setUint32(8, packed.byteLength, true);
    blob.set(packed, 12);
    const back = decodeSegment(blob);
    assert.deepEqual(back.manifest, { ...manifest, ts_min: 0n, ts_max: 0n });
    assert.deepEqual(back.columns, { pk: { field: "id", type: "Int64", values: [] }, timestamps: new BigUint64Array(0), scalars: new Map(), vectors: new Map() });
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "vecbus-segexact-"));
    t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
    const file = path.join(dir, "exact.seg");
    // A real segment whose last column (a vector column of 3 rows x 2 floats = 24 bytes) fills the file to its last byte.
    const cols: SegmentColumns = { pk: { field: "id", type: "Int64", values: [1, 2, 3] }, timestamps: BigUint64Array.from([1n, 2n, 3n]), scalars: new Map(), vectors: new Map([["v", VectorColumn.of(2, Float32Array.from([1, 2, 3, 4, 5, 6]))]]) };
    const { bytes } = encodeSegment(HEAD, cols);
    const last = encodeSegment(HEAD, cols).manifest.columns.at(-1)!;
    assert.deepEqual([last.name, last.length], ["v", 24]);
    fs.writeFileSync(file, bytes);
    const fd = fs.openSync(file, "r");
    try {
      const fromFile = readSegmentFile(fd);
      assert.deepEqual(fromFile.columns.pk.values, [1, 2, 3]);
      assert.deepEqual(fromFile.onDisk.get("v")!.dim, 2);
      assert.equal(fromFile.onDisk.get("v")!.offset + 24, bytes.byteLength, "the vectors end where the file ends");
      const empty = path.join(dir, "empty.seg");
      fs.writeFileSync(empty, blob);
      const fd2 = fs.openSync(empty, "r");
      try {
        assert.deepEqual(readSegmentFile(fd2).manifest, { ...manifest, ts_min: 0n, ts_max: 0n });
      } finally {
        fs.closeSync(fd2);
      }
    } finally {
      fs.closeSync(fd);
    }
    assert.deepEqual(decodeSegment(bytes).columns, cols);
  });
});
