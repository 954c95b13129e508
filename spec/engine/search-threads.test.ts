// HNSW walks on search threads (engine/search-threads.ts) answer exactly what
// the same walk on the event loop answers: the same candidates and distances
// from the index, and the same hits from a segment's search, filtered or not,
// with dead rows, over a real usearch index. The event-loop answer is the
// reference: the guarantee is that moving the walk changes nothing (recall
// itself is checked against brute force in ann-search.test.ts).
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { after, test } from "node:test";
import { usearchConfig } from "../../protocol/indexes.js";
import type { Row } from "../../protocol/rows.js";
import type { CollectionSchema, MetricType } from "../../protocol/schema.js";
import { compileScope } from "../../engine/filter-scope.js";
import { buildIndex } from "../../engine/index-build.js";
import { compileProjection } from "../../engine/projection.js";
import { SearchThreads } from "../../engine/search-threads.js";
import { VectorIndex } from "../../engine/vector-index.js";
import { tempDir } from "../harness.js";
import { rng } from "../random.js";
import { sealedOf } from "../sealed-of.js";

const DIM = 16;
const ROWS = 5_000;
const dir = tempDir("search-threads");
const threads = new SearchThreads(2);

after(async () => {
  await threads.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

const schema: CollectionSchema = {
  enable_dynamic_field: false,
  fields: [
    { name: "id", type: "Int64", is_primary: true },
    { name: "v", type: "FloatVector", dim: DIM },
    { name: "n", type: "Int32" },
  ],
};

const configOf = (metric: MetricType) => usearchConfig({ field_name: "v", index_name: "v", index_type: "HNSW", metric_type: metric, params: { M: 16, efConstruction: 64 } });

async function indexed(metric: MetricType, seed: number) {
  const r = rng(seed);
  const rows: Row[] = Array.from({ length: ROWS }, (_, i) => ({ id: i, v: Float32Array.from({ length: DIM }, () => r() - 0.5), n: i % 100 }));
  const config = configOf(metric);
  const file = path.join(dir, `${metric}.usearch`);
  const vectors = new Float32Array(ROWS * DIM);
  rows.forEach((row, i) => vectors.set(row.v as Float32Array, i * DIM));
  await buildIndex(vectors, DIM, config, file);
  const here = new VectorIndex(file, DIM, config);
  const there = new VectorIndex(file, DIM, config, threads);
  const segment = sealedOf({ segment_id: seed, collection_id: 1, shard: 0, seq_from: 1, seq_to: 1 }, schema, rows, rows.map(() => 1n));
  return { file, config, rows, here, there, segment, query: () => Float32Array.from({ length: DIM }, () => r() - 0.5) };
}

for (const metric of ["L2", "IP", "COSINE"] as const) {
  test(`search threads - ${metric}: an index walked on a search thread gives the event loop's candidates and distances, and a segment the same hits`, async () => {
    const f = await indexed(metric, metric.length);
    for (const [k, ef] of [
      [10, 16],
      [10, 64],
      [200, 64],
      [2000, 16],
    ]) {
      for (let q = 0; q < 20; q++) {
        const query = f.query();
        assert.deepEqual(await f.there.searchAsync(query, k, ef), f.here.search(query, k, ef), `k ${k}, ef ${ef}`);
      }
    }
    // Every row dead but the first 2,000, then filters from unselective to an exact scan's: index rounds, widening and scans.
    const dead = Array.from({ length: ROWS - 2_000 }, (_, i) => 2_000 + i);
    const cases = [
      { filter: undefined, dead: [] as number[] },
      { filter: "n < 50", dead: [] },
      { filter: "n < 10", dead: [] },
      { filter: "n == 3", dead: [] },
      { filter: undefined, dead },
      { filter: "n >= 20", dead },
    ];
    const onLoop = f.segment.withIndexes(new Map([["v", f.here]]));
    const onThread = f.segment.withIndexes(new Map([["v", f.there]]));
    let hits = 0;
    for (const c of cases) {
      const req = {
        queries: [f.query(), f.query()],
        field: "v",
        metric,
        limit: 10,
        project: compileProjection(schema, ["n"]),
        scope: compileScope(schema, { filter: c.filter }),
        ef: 16,
      };
      const want = onLoop.withDead(c.dead).search(req);
      assert.deepEqual(await onThread.withDead(c.dead).searchAsync(req), want, `filter ${c.filter}, ${c.dead.length} dead`);
      hits += want.flat().length;
    }
    assert.equal(hits, cases.length * 2 * 10);
  });
}

test("search threads - searches in flight together, of two files and three k, each get the event loop's answer to their own query", async () => {
  const l2 = await indexed("L2", 41);
  const ip = await indexed("IP", 42);
  const own = new SearchThreads(1);
  try {
    // One thread for both files: whatever queues behind a search is one file's or the other's, at one k or another.
    // usearch is asked for 16 (k 10 at ef 16: searched one by one), 200 and 100 (batched when they queue).
    const asks = Array.from({ length: 600 }, (_, i) => ({ f: i % 3 === 0 ? ip : l2, query: (i % 3 === 0 ? ip : l2).query(), k: [10, 200, 100][i % 7 % 3] }));
    const onThread = new Map([l2, ip].map((f) => [f, new VectorIndex(f.file, DIM, f.config, own)]));
    const got = await Promise.all(asks.map((a) => onThread.get(a.f)!.searchAsync(a.query, a.k, 16)));
    asks.forEach((a, i) => {
      assert.deepEqual(got[i], a.f.here.search(a.query, a.k, 16), `search ${i}, k ${a.k}`);
      assert.equal(got[i].slots.length, Math.max(a.k, 16));
    });
    const wide = asks.filter((a) => a.k >= 64).length;
    assert.ok(own.batched > wide / 2 && own.batched <= wide, `${own.batched} of ${wide} wide searches answered in batches`);
  } finally {
    await own.close();
  }
});

test("search threads - a file usearch cannot view is INTERNAL; closing lets searches in flight finish; the next search starts a new thread", async () => {
  const f = await indexed("L2", 99);
  const config = configOf("L2");
  const own = new SearchThreads(1);
  const missing = new VectorIndex(path.join(dir, "missing.usearch"), DIM, config, own);
  await assert.rejects(missing.searchAsync(f.query(), 10, 16), (e: Error) => /searching the index failed/.test(e.message) && (e as { code?: string }).code === "INTERNAL");
  const index = new VectorIndex(path.join(dir, "L2.usearch"), DIM, config, own);
  const query = f.query();
  const want = f.here.search(query, 10, 16);
  const wide = f.here.search(query, 200, 16);
  // Narrow and wide searches (these in batches) queued before the close, and a view forgotten behind them.
  const inFlight = Array.from({ length: 500 }, (_, i) => (i % 2 === 0 ? index.searchAsync(query, 10, 16) : index.searchAsync(query, 200, 16)));
  own.forget(path.join(dir, "L2.usearch"));
  await own.close();
  (await Promise.all(inFlight)).forEach((got, i) => assert.deepEqual(got, i % 2 === 0 ? want : wide, `search ${i}`));
  assert.deepEqual(await index.searchAsync(query, 10, 16), want);
  await own.close();
});
