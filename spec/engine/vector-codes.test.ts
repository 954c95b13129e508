// A segment whose vectors stay in its file ranks a filter's rows by their
// int8 codes and scores only the best from the file (engine/vector-codes.ts).
// What it returns must be what scoring every passing row gives: checked
// against a brute-force ranking of what the test wrote, for each metric,
// with rows of very different magnitudes, with many rows tied on one vector
// (equal codes), and at limits above and below the shortlist's floor. And it
// must read only the shortlist from the file, or the codes buy nothing.
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { test, type TestContext } from "node:test";
import type { Row } from "../../protocol/rows.js";
import type { CollectionSchema, MetricType } from "../../protocol/schema.js";
import { compileScope } from "../../engine/filter-scope.js";
import { compileProjection } from "../../engine/projection.js";
import { SealedSegment } from "../../engine/sealed-segment.js";
import { SearchThreads } from "../../engine/search-threads.js";
import { placement } from "../../engine/vector-codes.js";
import { assertHits, rank } from "../brute-force.js";
import { rng } from "../random.js";
import { sealedOf } from "../sealed-of.js";

const head = { segment_id: 1, collection_id: 1, shard: 0, seq_from: 1, seq_to: 1 };

function schemaOf(dim: number): CollectionSchema {
  return {
    enable_dynamic_field: false,
    fields: [
      { name: "id", type: "Int64", is_primary: true },
      { name: "v", type: "FloatVector", dim },
      { name: "n", type: "Int32" },
      { name: "m", type: "Int32" },
    ],
  };
}

/**
 * The rows written to a segment file (row i has id and n i, and m the last
 * id less i). Written last id first: rows tied by distance are then in the
 * file in the opposite order to the one their ids rank them in, and m is in
 * the slots' own order.
 */
function written(dir: string, name: string, schema: CollectionSchema, vectors: number[][]): string {
  const rows: Row[] = vectors.map((v, i) => ({ id: i, v: Float32Array.from(v), n: i, m: vectors.length - 1 - i })).reverse();
  const file = path.join(dir, name);
  fs.writeFileSync(file, Buffer.concat(sealedOf(head, schema, rows, rows.map(() => 1n)).encode().parts));
  return file;
}

/** A temporary directory, removed after the test. */
function tempDir(t: TestContext): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "vecbus-codes-"));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A segment file of `count` random `dim`-d rows (written()), opened until the test ends; random() gives more such vectors. */
function randomSegment(t: TestContext, seed: number, dim: number, count: number) {
  const r = rng(seed);
  const random = () => Array.from({ length: dim }, () => r() - 0.5);
  const vectors = Array.from({ length: count }, random);
  const schema = schemaOf(dim);
  const segment = SealedSegment.open(written(tempDir(t), "rows.seg", schema, vectors));
  t.after(() => segment.close());
  return { vectors, schema, segment, random };
}

/** The fs.readSync calls `run` makes. */
async function readCalls(run: () => unknown): Promise<number> {
  const readSync = fs.readSync;
  let calls = 0;
  fs.readSync = ((...args: Parameters<typeof fs.readSync>) => {
    calls++;
    return readSync(...args);
  }) as typeof fs.readSync;
  try {
    await run();
  } finally {
    fs.readSync = readSync;
  }
  return calls;
}

/** The brute-force top `limit` of the rows passing `keep`. */
function bruteForce(vectors: number[][], query: number[], metric: MetricType, limit: number, keep: (row: { id: number }) => boolean = () => true) {
  return rank(
    vectors.map((_, id) => ({ id })),
    (row) => vectors[row.id],
    query,
    metric,
    keep,
  ).slice(0, limit);
}

test("vector codes - searches ranked by code then scored from the file equal brute force over every passing row", async (t) => {
  const dir = tempDir(t);
  const threads = new SearchThreads(2);
  t.after(() => threads.close());
  const r = rng(91);
  const dim = 16;
  const n = 3000;
  const vectors = Array.from({ length: n }, (_, i) => {
    // Rows 2900 on repeat row 5: 101 rows with equal codes. Every 50th row is 40× larger (the column's scale is set by
    // them) and every 50th from the 25th 20× smaller (a few code levels at that scale).
    if (i >= 2900) return [];
    const size = i % 50 === 0 ? 40 : i % 50 === 25 ? 0.05 : 1;
    return Array.from({ length: dim }, () => size * (r() - 0.5));
  });
  for (let i = 2900; i < n; i++) vectors[i] = vectors[5];
  const schema = schemaOf(dim);
  const file = written(dir, "codes.seg", schema, vectors);
  // The last query has a value beyond the column's largest (20): L2 cannot code it and scores every row.
  const queries = [Array.from({ length: dim }, () => r() - 0.5), Array.from({ length: dim }, () => 3 * (r() - 0.5)), vectors[5], [30, ...Array.from({ length: dim - 1 }, () => r() - 0.5)]];
  const filters: [string | undefined, (row: { id: number }) => boolean][] = [
    [undefined, () => true],
    ["n % 7 == 3", (row) => row.id % 7 === 3],
    ["n < 400", (row) => row.id < 400],
    ["n >= 2800", (row) => row.id >= 2800],
  ];
  const metrics: MetricType[] = ["L2", "IP", "COSINE"];
  // Clustered: a scalar index on n, held before the codes are made, lays them out in n's order (the reverse of the
  // slots), and filters on n are listed by the index: their rows are ranked as blocks of codes.
  for (const [metric, clustered] of metrics.flatMap((m) => [[m, false], [m, true]] as const)) {
    const segment = SealedSegment.open(file);
    t.after(() => segment.close());
    const indexed = new Set(clustered ? ["n"] : []);
    segment.useScalarIndexes(indexed);
    const codedFor = new Map([["v", metric]]);
    assert.equal(await segment.codeVectors(codedFor, () => false, threads), 0, "codes refused by the budget are not made");
    const bytes = n * (dim + (clustered ? 8 : 0));
    assert.equal(await segment.codeVectors(codedFor, (asked) => asked === bytes, threads), bytes, "a byte a dimension, and 8 a row for the places of codes laid out in n's order");
    // Searched with the metric the codes were made for, and with another (which scores every row).
    for (const searched of [metric, metrics[(metrics.indexOf(metric) + 1) % 3]]) {
      for (const [filter, keep] of filters) {
        for (const limit of [1, 10, 100]) {
          for (const [qi, q] of queries.entries()) {
            const req = { queries: [Float32Array.from(q)], field: "v", metric: searched, limit, project: compileProjection(schema, []), scope: compileScope(schema, { filter }, indexed) };
            const what = `codes for ${metric}${clustered ? " in n's order" : ""}, searched ${searched}, filter ${filter}, limit ${limit}, query ${qi}`;
            assertHits((await segment.searchAsync(req))[0], bruteForce(vectors, q, searched, limit, keep), what);
          }
        }
      }
    }
  }
});

test("vector codes - rows ranked in several gathered chunks (4 MiB of codes each)", async (t) => {
  const threads = new SearchThreads(1);
  t.after(() => threads.close());
  // 1,023 rows of 4,099-d codes fill a chunk: 1,500 rows take two. Rows of an odd length are gathered a byte at a time.
  const { vectors, schema, segment, random } = randomSegment(t, 93, 4099, 1500);
  await segment.codeVectors(new Map([["v", "L2"]]), () => true, threads);
  for (const limit of [10, 200]) {
    const query = random();
    const req = { queries: [Float32Array.from(query)], field: "v", metric: "L2" as const, limit, project: compileProjection(schema, []) };
    assertHits((await segment.searchAsync(req))[0], bruteForce(vectors, query, "L2", limit), `limit ${limit}`);
  }
});

test("vector codes - only the shortlist of a filter's rows is read from the file", async (t) => {
  // Rows of 12 KB, seven apart: each passing row is a read call of its own.
  const { vectors, schema, segment, random } = randomSegment(t, 92, 3000, 1000);
  const query = random();
  const req = { queries: [Float32Array.from(query)], field: "v", metric: "L2" as const, limit: 10, project: compileProjection(schema, []), scope: compileScope(schema, { filter: "n % 7 == 3" }) };
  const want = bruteForce(vectors, query, "L2", 10, (row) => row.id % 7 === 3);
  const reads = () => readCalls(async () => assertHits((await segment.searchAsync(req))[0], want, "n % 7 == 3"));
  assert.equal(await reads(), 143, "without codes every passing row is read");
  const threads = new SearchThreads(1);
  t.after(() => threads.close());
  await segment.codeVectors(new Map([["v", "L2"]]), () => true, threads);
  assert.ok((await reads()) <= 40, "with codes, the best 40 by code");
  assert.equal(segment.search(req)[0].length, 10);
});

test("vector codes - rows a scalar index lists in value order are still read from the file in runs", async (t) => {
  // n runs opposite to the slots (written last id first): `n < 200` is listed by n's index in descending slot order.
  const { vectors, schema, segment, random } = randomSegment(t, 94, 64, 1000);
  const indexed = new Set(["n"]);
  segment.useScalarIndexes(indexed);
  const query = random();
  const req = { queries: [Float32Array.from(query)], field: "v", metric: "L2" as const, limit: 10, project: compileProjection(schema, []), scope: compileScope(schema, { filter: "n < 200" }, indexed) };
  const calls = await readCalls(() => assertHits(segment.search(req)[0], bruteForce(vectors, query, "L2", 10, (row) => row.id < 200), "n < 200"));
  assert.ok(calls <= 2, `200 neighbouring rows of 256 bytes in ${calls} reads`);
});

test("vector codes - the codes are laid out by the first field given whose index builds, not the first index built", async (t) => {
  const threads = new SearchThreads(1);
  t.after(() => threads.close());
  const rows = 300;
  const dim = 8;
  const coded = async (built: string, given: string[]) => {
    const { segment } = randomSegment(t, 95, dim, rows);
    segment.scalarIndex(built);
    segment.useScalarIndexes(new Set(given));
    return segment.codeVectors(new Map([["v", "L2"]]), () => true, threads);
  };
  // m's order is the slots' own (no place map); n's is their reverse (8 bytes a row map slots to places and back).
  assert.equal(await coded("n", ["m", "n"]), rows * dim, "laid out by m, though n's index was built first");
  assert.equal(await coded("m", ["n", "m"]), rows * (dim + 8), "laid out by n, though m's index was built first");
  assert.equal(await coded("m", ["absent", "n"]), rows * (dim + 8), "a field without an index gives way to the next");
});

test("vector codes - a layout places every slot once, and is none when it is the slots' own order", () => {
  assert.equal(placement(4, [0, 1, 2, 3]), undefined);
  assert.equal(placement(4, [0, 1]), undefined, "the slots the order leaves out follow it in slot order");
  const p = placement(5, [3, 1, 3, 7, -1])!;
  assert.deepEqual(Array.from(p.slotAt), [3, 1, 0, 2, 4]);
  assert.deepEqual(Array.from(p.place), [2, 1, 3, 0, 4]);
});
