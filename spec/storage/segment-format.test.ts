// The sealed-segment blob: every kind of column survives a round trip
// (nulls, Arrays, JSON, $meta, partitions, several vector fields), from
// aligned and unaligned buffers, with vectors viewed in place when they can be.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { VecbusError } from "../../protocol/errors.js";
import { PARTITION_FIELD } from "../../protocol/partitions.js";
import type { PrimaryKey } from "../../protocol/rows.js";
import { DYNAMIC_FIELD } from "../../protocol/schema.js";
import { decodeSegment, encodeSegment, type SegmentColumns, type SegmentHead } from "../../storage/segment-format.js";
import { rng } from "../random.js";

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
      ["dense", { dim: 8, data: vec(8) }],
      ["small_vec", { dim: 3, data: vec(3) }],
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

  test("segment format - aligned input is viewed in place, unaligned input (Buffer too) is copied once", () => {
    const cols = columns(20, "Int64");
    const { bytes } = encodeSegment(HEAD, cols);
    const inPlace = decodeSegment(bytes).columns.vectors.get("dense")!.data;
    assert.equal(inPlace.buffer, bytes.buffer, "no copy when the vectors are 4-aligned");
    for (const shift of [1, 2, 3, 5]) {
      const input = shifted(bytes, shift);
      const back = decodeSegment(input).columns;
      assert.deepEqual(back, cols, `shifted by ${shift}`);
      assert.notEqual(back.vectors.get("dense")!.data.buffer, input.buffer);
    }
    const buffer = Buffer.concat([Buffer.from([0]), bytes]).subarray(1);
    assert.deepEqual(decodeSegment(buffer).columns, cols);
  });

  test("segment format - an empty segment round trips", () => {
    const cols: SegmentColumns = { pk: { field: "id", type: "Int64", values: [] }, timestamps: new BigUint64Array(0), scalars: new Map([["s", []]]), vectors: new Map([["v", { dim: 4, data: new Float32Array(0) }]]) };
    const { bytes, manifest } = encodeSegment(HEAD, cols);
    assert.deepEqual(decodeSegment(bytes).columns, cols);
    assert.deepEqual([manifest.row_count, manifest.pk.min, manifest.pk.max], [0, null, null]);
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
});
