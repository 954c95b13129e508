// A sealed segment whose vectors stay in its file (as on a query node) must
// score exactly like the same segment in memory, whatever rows a filter
// passes: dense runs (read as one span), scattered rows (one read each), and
// both mixed, with rows wider than a read window too; and so must one whose
// vectors were read from its file into memory. A segment whose vectors a
// shard owner moved to a file (spill) reads them as written.
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";
import type { Row } from "../../protocol/rows.js";
import type { CollectionSchema } from "../../protocol/schema.js";
import { compileScope } from "../../engine/filter-scope.js";
import { compileProjection } from "../../engine/projection.js";
import { SealedSegment } from "../../engine/sealed-segment.js";
import type { SegmentColumns } from "../../engine/segment-format.js";
import { VectorColumn } from "../../engine/vector-column.js";
import { VecbusError } from "../../protocol/errors.js";
import { PARTITION_FIELD } from "../../protocol/partitions.js";
import { assertHits, rank } from "../brute-force.js";
import { rng } from "../random.js";
import { sealedOf } from "../sealed-of.js";

test("sealed segment on disk - exact searches over dense, scattered and mixed passing rows equal the in-memory segment's", (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "vecbus-disk-"));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const r = rng(77);
  for (const dim of [8, 3000]) {
    const schema: CollectionSchema = {
      enable_dynamic_field: false,
      fields: [
        { name: "id", type: "Int64", is_primary: true },
        { name: "v", type: "FloatVector", dim },
        { name: "n", type: "Int32" },
      ],
    };
    const rows: Row[] = Array.from({ length: 3000 }, (_, i) => ({ id: i, v: Float32Array.from({ length: dim }, () => r() - 0.5), n: i }));
    const memory = sealedOf({ segment_id: 1, collection_id: 1, shard: 0, seq_from: 1, seq_to: 1 }, schema, rows, rows.map(() => 1n));
    const file = path.join(dir, `${dim}.seg`);
    fs.writeFileSync(file, Buffer.concat(memory.encode().parts));
    const disk = SealedSegment.open(file);
    t.after(() => disk.close());
    // Within a query node's vector memory budget the column is read into memory at open.
    const read = SealedSegment.open(file, (bytes) => bytes === 3000 * dim * 4);
    t.after(() => read.close());
    assert.equal(disk.vectorBytes, 0);
    assert.equal(read.vectorBytes, 3000 * dim * 4);
    const scattered = Array.from({ length: 40 }, () => Math.floor(r() * 3000));
    const filters = ["n < 3000", "n < 700", "n >= 1000 and n < 1100", `n in [${scattered.join(", ")}]`, `n < 300 or n in [${scattered.join(", ")}]`, "n % 7 == 3"];
    for (const filter of filters) {
      const req = { queries: [Float32Array.from({ length: dim }, () => r() - 0.5)], field: "v", metric: "L2" as const, limit: 25, project: compileProjection(schema, []), scope: compileScope(schema, { filter }) };
      const want = memory.search(req);
      assert.equal(want[0].length, 25, filter);
      assert.deepEqual(disk.search(req), want, `${dim}-d, ${filter}`);
      assert.deepEqual(read.search(req), want, `${dim}-d, ${filter}, vectors read into memory`);
    }
  }
});

test("sealed segment spilled - two vector fields, one in several chunks, read from a nameless file exactly as written, with deletes made during the write", async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "vecbus-spill-test-"));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const r = rng(78);
  const n = 100;
  const dims = { a: 3, b: 5 };
  const schema: CollectionSchema = {
    enable_dynamic_field: false,
    fields: [
      { name: "id", type: "Int64", is_primary: true },
      { name: "a", type: "FloatVector", dim: dims.a },
      { name: "b", type: "FloatVector", dim: dims.b },
      { name: "n", type: "Int32" },
    ],
  };
  // What the test wrote: every row's vectors, the reference for everything below.
  const a = Array.from({ length: n }, () => Array.from({ length: dims.a }, () => r() - 0.5));
  const b = Array.from({ length: n }, () => Array.from({ length: dims.b }, () => r() - 0.5));
  const CHUNK_ROWS = 7;
  const chunks = Array.from({ length: Math.ceil(n / CHUNK_ROWS) }, (_, c) => Float32Array.from(a.slice(c * CHUNK_ROWS, (c + 1) * CHUNK_ROWS).flat()));
  const ids = Array.from({ length: n }, (_, i) => i);
  const columns: SegmentColumns = {
    pk: { field: "id", type: "Int64", values: ids },
    timestamps: new BigUint64Array(n).fill(1n),
    scalars: new Map<string, unknown[]>([
      ["n", ids.map((i) => i % 10)],
      [PARTITION_FIELD, ids.map(() => "_default")],
    ]),
    vectors: new Map([
      ["a", VectorColumn.chunked(dims.a, n, chunks, CHUNK_ROWS)],
      ["b", VectorColumn.of(dims.b, Float32Array.from(b.flat()))],
    ]),
  };
  const memory = new SealedSegment({ segment_id: 1, collection_id: 1, shard: 0, seq_from: 1, seq_to: 1 }, columns);
  const file = path.join(dir, "vectors");
  const writing = memory.spill(file);
  const dead = [3, 50, 99];
  memory.delete(dead);
  const spilled = (await writing)!;
  assert.equal(fs.existsSync(file), false, "the file's name is gone once it is open");
  assert.equal(spilled.vectorBytes, 0);
  assert.equal(spilled.rowCount, n - dead.length, "a delete made during the write counts in the spilled form");
  for (const field of ["a", "b"] as const) {
    const vectors = field === "a" ? a : b;
    for (const filter of [undefined, "n < 4"]) {
      const query = Array.from({ length: dims[field] }, () => r() - 0.5);
      const req = { queries: [Float32Array.from(query)], field, metric: "L2" as const, limit: 9, project: compileProjection(schema, []), scope: compileScope(schema, { filter }) };
      const keep = (row: { id: number }) => !dead.includes(row.id) && (!filter || row.id % 10 < 4);
      const want = rank(ids.map((id) => ({ id })), (row) => vectors[row.id], query, "L2", keep).slice(0, 9);
      assertHits(spilled.search(req)[0], want, `field ${field}, filter ${filter}`);
    }
  }
  const got = spilled.get([0, 3, 6, 7, 13, 98, 99], compileProjection(schema, ["a", "b"]));
  assert.deepEqual(
    got.map((row) => [row.id, Array.from(row.a as number[]), Array.from(row.b as number[])]),
    [0, 6, 7, 13, 98].map((id) => [id, Array.from(Float32Array.from(a[id])), Array.from(Float32Array.from(b[id]))]),
  );
  assert.throws(() => spilled.encode(), /reads its vectors from a file/);
  spilled.close();
  spilled.close();
  assert.throws(
    () => spilled.search({ queries: [new Float32Array(dims.a)], field: "a", metric: "L2", limit: 1, project: compileProjection(schema, []) }),
    (e: unknown) => e instanceof VecbusError && e.code === "UNAVAILABLE",
    "a read after close is refused, not served from whatever file has the descriptor now",
  );
});
