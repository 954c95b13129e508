// A growing segment keeps vectors in fixed chunks (the first one grown up to
// full size): every row must read back as written, by key and once sealed,
// across chunk boundaries and batches that straddle them. 4096-d rows make
// chunks of 2,048 rows, so a few thousand rows cross two boundaries.
import assert from "node:assert/strict";
import crypto from "node:crypto";
import { test } from "node:test";
import type { Row } from "../../protocol/rows.js";
import type { CollectionSchema } from "../../protocol/schema.js";
import { batchOfRows } from "../../protocol/columns.js";
import { GrowingSegment } from "../../engine/growing-segment.js";
import { SealedSegment } from "../../engine/sealed-segment.js";
import { decodeSegment, encodeSegment, type SegmentHead } from "../../engine/segment-format.js";

const DIM = 4096;
const HEAD: SegmentHead = { segment_id: 9, collection_id: 1, shard: 0, seq_from: 1, seq_to: 9 };
const SCHEMA: CollectionSchema = {
  enable_dynamic_field: false,
  fields: [
    { name: "id", type: "Int64", is_primary: true },
    { name: "v", type: "FloatVector", dim: DIM },
  ],
};

/** Row id's vector: every element names the row and its place in it (exact in float32). */
function vectorOf(id: number): Float32Array {
  return Float32Array.from({ length: DIM }, (_, j) => id * 8 + (j % 8));
}

test("growing segment - vectors written in batches across chunk boundaries read back as written, by key and sealed", () => {
  const segment = new GrowingSegment(SCHEMA);
  const batches = [1, 700, 1500, 300, 2000, 1];
  let next = 0;
  for (const size of batches) {
    const rows: Row[] = Array.from({ length: size }, () => ({ id: next, v: vectorOf(next++) }));
    segment.insert(batchOfRows(SCHEMA, rows), 1n);
  }
  const ids = [0, 1, 1023, 1024, 2047, 2048, 2049, 4095, 4096, 4500, 4501];
  const got = segment.get(ids, (row) => ({ id: row.id, v: Array.from(row.v as Float32Array) }));
  assert.deepEqual(got, ids.map((id) => ({ id, v: Array.from(vectorOf(id)) })));

  const sealed = segment.sealColumns()!;
  const column = sealed.vectors.get("v")!.toBlock();
  assert.equal(column.length, next * DIM);
  for (let id = 0; id < next; id++) assert.deepEqual(column.subarray(id * DIM, (id + 1) * DIM), vectorOf(id), `row ${id}`);
});

test("growing segment - sealing with deleted rows keeps the live rows' vectors in slot order", () => {
  const segment = new GrowingSegment(SCHEMA);
  const rows: Row[] = Array.from({ length: 2100 }, (_, id) => ({ id, v: vectorOf(id) }));
  segment.insert(batchOfRows(SCHEMA, rows), 1n);
  const dead = [0, 5, 2047, 2048, 2099];
  segment.delete(dead);
  const sealed = segment.sealColumns()!;
  const live = rows.map((r) => r.id as number).filter((id) => !dead.includes(id));
  assert.deepEqual(sealed.pk.values, live);
  const column = sealed.vectors.get("v")!.toBlock();
  live.forEach((id, i) => assert.deepEqual(column.subarray(i * DIM, (i + 1) * DIM), vectorOf(id), `row ${id}`));
});

test("growing segment - a seal hands its chunks over: the sealed segment serves them, and its blob holds them in slot order", () => {
  const segment = new GrowingSegment(SCHEMA);
  const n = 5000;
  for (let from = 0; from < n; from += 900) {
    const rows: Row[] = Array.from({ length: Math.min(900, n - from) }, (_, i) => ({ id: from + i, v: vectorOf(from + i) }));
    segment.insert(batchOfRows(SCHEMA, rows), 1n);
  }
  const columns = segment.sealColumns()!;
  const sealed = new SealedSegment(HEAD, columns);
  const ids = [0, 2047, 2048, 4095, 4096, 4999];
  assert.deepEqual(
    sealed.get(ids, (row) => ({ id: row.id, v: Array.from(row.v as Float32Array) })),
    ids.map((id) => ({ id, v: Array.from(vectorOf(id)) })),
  );
  const { bytes } = encodeSegment(HEAD, columns);
  const back = decodeSegment(bytes).columns.vectors.get("v")!;
  assert.equal(back.rows, n);
  for (let id = 0; id < n; id++) assert.deepEqual(back.row(id), vectorOf(id), `row ${id} of the blob`);
});

test("growing segment - chunks written ahead on the thread pool hold exactly the rows inserted, used ready or not", async () => {
  const segment = new GrowingSegment(SCHEMA);
  let next = 0;
  const batchOf = (n: number) => batchOfRows(SCHEMA, Array.from({ length: n }, (): Row => ({ id: next, v: vectorOf(next++) })));
  const insert = (n: number) => segment.insert(batchOf(n), 1n);
  // Chunk 0 reaches full size and a spare starts; the same batch goes on into chunk 1. The thread pool
  // (4 threads) is kept busy meanwhile, so the spare is written only afterwards: chunk 1 must not be it.
  const first = batchOf(2048 + 1500);
  const busy = Array.from({ length: 4 }, () => new Promise((resolve) => crypto.pbkdf2("x", "y", 1_000_000, 32, "sha256", resolve)));
  segment.insert(first, 1n);
  await Promise.all(busy);
  // Chunk 2 after the spare had time to be written (it is random bytes until each row is written over it).
  await new Promise((resolve) => setTimeout(resolve, 300));
  insert(2048);
  await new Promise((resolve) => setTimeout(resolve, 300));
  insert(100);
  const column = segment.sealColumns()!.vectors.get("v")!;
  assert.equal(column.rows, next);
  for (let id = 0; id < next; id++) assert.deepEqual(column.row(id), vectorOf(id), `row ${id}`);
});

test("growing segment - a seal copies a last chunk less than half used down to its rows, and keeps a fuller one whole", () => {
  const chunkBytes = 2048 * DIM * 4;
  for (const [n, lastBytes] of [
    [5000, 904 * DIM * 4],
    [4096 + 1024, 1024 * DIM * 4],
    [5700, chunkBytes],
  ]) {
    const segment = new GrowingSegment(SCHEMA);
    for (let from = 0; from < n; from += 900) {
      const rows: Row[] = Array.from({ length: Math.min(900, n - from) }, (_, i) => ({ id: from + i, v: vectorOf(from + i) }));
      segment.insert(batchOfRows(SCHEMA, rows), 1n);
    }
    const column = segment.sealColumns()!.vectors.get("v")!;
    const parts = column.byteParts();
    assert.deepEqual(
      parts.map((p) => p.buffer.byteLength),
      [chunkBytes, chunkBytes, lastBytes],
      `${n} rows`,
    );
    for (let id = 0; id < n; id++) assert.deepEqual(column.row(id), vectorOf(id), `row ${id} of ${n}`);
  }
});
