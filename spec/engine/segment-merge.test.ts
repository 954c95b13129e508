// Merging sealed segments keeps exactly their live rows, in source then slot
// order, across every column kind, and refuses sources of different schemas.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { VecbusError } from "../../protocol/errors.js";
import type { PrimaryKey } from "../../protocol/rows.js";
import { decodeSegment, encodeSegment, type SegmentColumns, type SegmentHead } from "../../engine/segment-format.js";
import { mergeColumns } from "../../engine/segment-merge.js";
import { rng } from "../random.js";
import { VectorColumn } from "../../engine/vector-column.js";

const HEAD: SegmentHead = { segment_id: 99, collection_id: 3, shard: 0, seq_from: 1, seq_to: 300 };

/** A segment of `n` rows whose pks start at `base`; every column derives from the pk so rows can be checked one by one. */
function segment(base: number, n: number, pkType: "Int64" | "VarChar", seed: number): SegmentColumns {
  const r = rng(seed);
  const ids = Array.from({ length: n }, (_, i) => base + i);
  return {
    pk: { field: "id", type: pkType, values: ids.map((id): PrimaryKey => (pkType === "Int64" ? id * 2 ** 20 : `k-${id}`)) },
    timestamps: BigUint64Array.from(ids, (id) => 1n << 40n | BigInt(id)),
    scalars: new Map<string, unknown[]>([
      ["title", ids.map((id) => (id % 4 === 0 ? null : `t${id}`))],
      ["meta", ids.map((id) => (id % 3 === 0 ? null : { id, tags: [id % 2, "x"] }))],
    ]),
    vectors: new Map([
      ["dense", VectorColumn.of(8, Float32Array.from({ length: n * 8 }, () => r() * 2 - 1))],
      ["tiny", VectorColumn.of(3, Float32Array.from({ length: n * 3 }, () => r()))],
    ]),
  };
}

/** The row at `slot` of `cols`, vectors as plain arrays. */
function row(cols: SegmentColumns, slot: number): unknown[] {
  return [
    cols.pk.values[slot],
    cols.timestamps[slot],
    ...[...cols.scalars.values()].map((v) => v[slot]),
    ...[...cols.vectors.values()].map((v) => [...v.row(slot)]),
  ];
}

function rows(cols: SegmentColumns): unknown[][] {
  return cols.pk.values.map((_, slot) => row(cols, slot));
}

describe("segment merge", () => {
  for (const pkType of ["Int64", "VarChar"] as const) {
    test(`segment merge - ${pkType} keys: exactly the live rows, in source then slot order, byte-exact`, () => {
      const sources = [segment(0, 40, pkType, 1), segment(100, 25, pkType, 2), segment(200, 60, pkType, 3)];
      const dead = [
        new Set([0, 1, 2, 17, 39]), // a run at the start and a slot at the end
        new Set<number>(), // nothing dead: one run
        new Set(Array.from({ length: 60 }, (_, i) => i).filter((i) => i % 3 !== 1)), // every run a single slot
      ];
      const merged = mergeColumns(sources.map((columns, i) => ({ columns, isDead: (s: number) => dead[i].has(s) })));

      const want = sources.flatMap((cols, i) => rows(cols).filter((_, slot) => !dead[i].has(slot)));
      assert.equal(merged.pk.values.length, 35 + 25 + 20);
      assert.deepEqual(rows(merged), want);
      assert.deepEqual([merged.pk.field, merged.pk.type], ["id", pkType]);
      assert.deepEqual([...merged.scalars.keys()], ["title", "meta"]);
      assert.deepEqual([...merged.vectors].map(([k, v]) => [k, v.dim, v.toBlock().length]), [["dense", 8, 80 * 8], ["tiny", 3, 80 * 3]]);
      assert.ok(merged.timestamps instanceof BigUint64Array);

      const back = decodeSegment(encodeSegment(HEAD, merged).bytes);
      assert.deepEqual(back.columns, merged);
      assert.equal(back.manifest.row_count, 80);
    });
  }

  test("segment merge - all-dead and empty sources contribute nothing", () => {
    const merged = mergeColumns([
      { columns: segment(0, 10, "Int64", 4), isDead: () => true },
      { columns: segment(50, 0, "Int64", 5), isDead: () => false },
    ]);
    assert.deepEqual(rows(merged), []);
    assert.deepEqual([...merged.vectors.values()].map((v) => v.toBlock().length), [0, 0]);
    assert.deepEqual([...merged.scalars.values()], [[], []]);
  });

  test("segment merge - sources of different schemas are refused", () => {
    const internal = (e: unknown) => e instanceof VecbusError && e.code === "INTERNAL";
    const ok = { columns: segment(0, 5, "Int64", 6), isDead: () => false };
    const variant = (change: (c: SegmentColumns) => void) => {
      const columns = segment(10, 5, "Int64", 7);
      change(columns);
      return [ok, { columns, isDead: () => false }];
    };
    assert.throws(() => mergeColumns(variant((c) => c.vectors.set("dense", VectorColumn.of(4, new Float32Array(20))))), internal);
    assert.throws(() => mergeColumns(variant((c) => c.vectors.delete("tiny"))), internal);
    assert.throws(() => mergeColumns(variant((c) => c.scalars.set("extra", [1, 2, 3, 4, 5]))), internal);
    assert.throws(() => mergeColumns(variant((c) => (c.pk.type = "VarChar"))), internal);
    assert.throws(() => mergeColumns([]), internal);
  });

  test("segment merge - 100k rows of 128 dims: every live row, in order, its vector intact", () => {
    const n = 100_000;
    const dim = 128;
    // Element 0 of a row is its id, element e > 0 mixes id and e (exact in float32): any row or element out of place shows.
    const elem = (id: number, e: number) => (e === 0 ? id : (id % 4096) * dim + e);
    const big = (base: number): SegmentColumns => ({
      pk: { field: "id", type: "Int64", values: Array.from({ length: n }, (_, i) => base + i) },
      timestamps: BigUint64Array.from({ length: n }, (_, i) => BigInt(base + i)),
      scalars: new Map([["s", Array.from({ length: n }, (_, i) => (i % 7 === 0 ? null : base + i))]]),
      vectors: new Map([["v", VectorColumn.of(dim, new Float32Array(n * dim).map((_, at) => elem(base + Math.floor(at / dim), at % dim)))]]),
    });
    const isDead = (s: number) => s % 1000 === 0;
    const merged = mergeColumns([
      { columns: big(0), isDead },
      { columns: big(n), isDead: () => false },
    ]);
    const want = [...Array.from({ length: n }, (_, i) => i).filter((i) => !isDead(i)), ...Array.from({ length: n }, (_, i) => n + i)];
    assert.deepEqual(merged.pk.values, want);
    assert.deepEqual([...merged.timestamps], want.map(BigInt));
    assert.deepEqual(merged.scalars.get("s"), want.map((id) => (id % n) % 7 === 0 ? null : id));
    const v = merged.vectors.get("v")!.toBlock();
    assert.equal(v.length, want.length * dim);
    for (const [row, id] of want.entries()) {
      for (let e = 0; e < dim; e++) if (v[row * dim + e] !== elem(id, e)) assert.fail(`row ${row} (id ${id}) element ${e} is ${v[row * dim + e]}, want ${elem(id, e)}`);
    }
  });
});
