// annSearch over a real usearch index: recall against the true neighbours
// found by brute force in the test (spec/reference/store.ts distances, the
// filter evaluated here), never against the ranking annSearch itself is given.
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { after, before, test } from "node:test";
import { usearchConfig } from "../../protocol/indexes.js";
import type { MetricType } from "../../protocol/schema.js";
import { annSearch, DISK_ROW_COST, passingSlots, type AnnRequest } from "../../engine/ann-search.js";
import { distanceFn, kernelDistances, largerIsCloser } from "../../engine/distance.js";
import { buildIndex } from "../../engine/index-build.js";
import { hitOrder, type Ranked } from "../../engine/reduce.js";
import { TopK } from "../../engine/topk.js";
import { EF_MAX, VectorIndex } from "../../engine/vector-index.js";
import { tempDir } from "../harness.js";
import { near, refDistance, refRank } from "../reference/store.js";
import { rng } from "../random.js";

// 24-d uniform random rows are hard enough for ef to matter (recall@10 ~0.74
// at ef 16, ~0.99 at ef 128), and 50k rows put the exact/index switch for
// limit 10 at ~8% selectivity, between the 1% and 10% filters below.
const DIM = 24;
const LIMIT = 10;
const QUERIES = 50;

interface Fixture {
  metric: MetricType;
  rows: number;
  data: Float32Array;
  index: VectorIndex;
}

type Hit = Ranked & { slot: number };

const dir = tempDir("ann");
let l2: Fixture;
let ip: Fixture;

async function fixture(metric: MetricType, rows: number, seed: number): Promise<Fixture> {
  const r = rng(seed);
  const data = new Float32Array(rows * DIM).map(() => r() * 2 - 1);
  const config = usearchConfig({ field_name: "v", index_name: "v", index_type: "HNSW", metric_type: metric, params: { M: 16, efConstruction: 128 } });
  const file = path.join(dir, `${metric}.usearch`);
  await buildIndex(data.slice(), DIM, config, file);
  return { metric, rows, data, index: new VectorIndex(file, DIM, config) };
}

before(async () => {
  [l2, ip] = await Promise.all([fixture("L2", 50_000, 1), fixture("IP", 10_000, 2)]);
});

after(() => {
  l2.index.close();
  ip.index.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

function queries(seed: number): Float32Array[] {
  const r = rng(seed);
  return Array.from({ length: QUERIES }, () => new Float32Array(DIM).map(() => r() * 2 - 1));
}

/** What a segment does, handed to annSearch: exact distances, Milvus order, ties by primary key (here the slot). */
function rank(f: Fixture, q: Float32Array, slots: ArrayLike<number>): Hit[] {
  const dist = distanceFn(f.metric);
  const top = new TopK<Hit>(LIMIT, hitOrder(largerIsCloser(f.metric)));
  for (let i = 0; i < slots.length; i++) top.offer({ distance: dist(q, f.data, slots[i] * DIM), id: slots[i], slot: slots[i] });
  return top.sorted();
}

/** The true nearest `k` among the slots that pass `keep`, by brute force over every slot. */
function truth(f: Fixture, q: Float32Array, keep: (slot: number) => boolean, k = LIMIT): Hit[] {
  const scored: Hit[] = [];
  for (let s = 0; s < f.rows; s++) if (keep(s)) scored.push({ distance: refDistance(f.metric, q, f.data.subarray(s * DIM, (s + 1) * DIM)), id: s, slot: s });
  return refRank(f.metric, scored).slice(0, k);
}

function search(f: Fixture, q: Float32Array, passing: number[], ef: number) {
  return annSearch({ candidates: (k) => f.index.search(q, k, ef), slotCount: f.rows, passing: passingSlots(passing, f.rows), limit: LIMIT, rank: (slots) => rank(f, q, slots) });
}

function slotsWhere(f: Fixture, keep: (slot: number) => boolean): number[] {
  return Array.from({ length: f.rows }, (_, s) => s).filter(keep);
}

/** A scalar field of random values in [0, 1): `value < selectivity` passes about that share of the rows. */
function field(f: Fixture, r: () => number): Float64Array {
  return Float64Array.from({ length: f.rows }, r);
}

/** Mean share of the true hits found. */
function recall(found: ArrayLike<number>[], exact: Hit[][]): number {
  let hit = 0;
  let all = 0;
  exact.forEach((truth, q) => {
    const got = new Set(Array.from(found[q]));
    hit += truth.filter((h) => got.has(h.slot)).length;
    all += truth.length;
  });
  return hit / all;
}

/** The exact strategy is exact: the true top-k, in order, at the true distances. */
function assertExact(got: Hit[], want: Hit[], where: string): void {
  assert.deepEqual(
    got.map((h) => h.slot),
    want.map((h) => h.slot),
    where,
  );
  got.forEach((h, i) => assert.ok(near(h.distance, want[i].distance), `${where}: distance at rank ${i}`));
}

test("ann search - a larger ef finds more of the true neighbours, and k beyond ef widens the search", () => {
  const qs = queries(11);
  const exact = qs.map((q) => truth(l2, q, () => true));
  assert.equal(l2.index.size, l2.rows);
  const at = (k: number, ef: number) => recall(qs.map((q) => Array.from(l2.index.search(q, k, ef).slots).slice(0, LIMIT)), exact);
  const low = at(LIMIT, 16);
  const high = at(LIMIT, 128);
  assert.ok(low < high - 0.1, `recall@10 at ef 16 ${low}, at ef 128 ${high}`);
  assert.ok(high >= 0.95, `recall@10 at ef 128 ${high}`);
  // usearch searches with expansion max(ef, k): 100 candidates from the ef 16 view are as good as ef 100.
  assert.ok(at(100, 16) >= 0.95, `recall@10 of k=100 at ef 16 ${at(100, 16)}`);
  // An ef below the view's own breadth (16) searches as 16; one above EF_MAX as EF_MAX.
  assert.equal(at(LIMIT, 1), low);
  assert.equal(at(LIMIT, 10 * EF_MAX), at(LIMIT, EF_MAX));
});

test("ann search - filtered search keeps recall@10 >= 0.95: exact scan at 1%, index at 10% and 50%", () => {
  const r = rng(12);
  for (const [selectivity, strategy] of [[0.01, "exact"], [0.1, "index"], [0.5, "index"]] as const) {
    const qs = queries(13);
    const found: number[][] = [];
    const exact: Hit[][] = [];
    for (const [i, q] of qs.entries()) {
      const value = field(l2, r);
      const keep = (s: number) => value[s] < selectivity;
      const res = search(l2, q, slotsWhere(l2, keep), 128);
      const where = `at ${selectivity * 100}%, query ${i}`;
      assert.equal(res.strategy, strategy, where);
      assert.ok(res.hits.every((h) => keep(h.slot)), `${where}: a hit failed the filter`);
      const want = truth(l2, q, keep);
      if (strategy === "exact") assertExact(res.hits, want, where);
      found.push(res.hits.map((h) => h.slot));
      exact.push(want);
    }
    const rec = recall(found, exact);
    assert.ok(rec >= 0.95, `recall@10 at ${selectivity * 100}%: ${rec}`);
  }
});

test("ann search - dead slots never come back, even when they are the nearest", () => {
  for (const q of queries(14).slice(0, 20)) {
    // Kill each query's 50 true nearest: exactly what the index returns first.
    const dead = new Set(truth(l2, q, () => true, 50).map((h) => h.slot));
    const live = slotsWhere(l2, (s) => !dead.has(s));
    const res = search(l2, q, live, 128);
    assert.equal(res.strategy, "index");
    assert.equal(res.hits.length, LIMIT);
    assert.deepEqual(res.hits.filter((h) => dead.has(h.slot)), [], "dead slots among the hits");
  }
});

test("ann search - inner product: larger is closer, on both paths", () => {
  const r = rng(15);
  for (const [selectivity, strategy] of [[0.01, "exact"], [0.5, "index"]] as const) {
    const found: number[][] = [];
    const exact: Hit[][] = [];
    for (const [i, q] of queries(16).entries()) {
      const value = field(ip, r);
      const keep = (s: number) => value[s] < selectivity;
      const res = search(ip, q, slotsWhere(ip, keep), 128);
      const where = `IP at ${selectivity * 100}%, query ${i}`;
      assert.equal(res.strategy, strategy, where);
      for (let j = 1; j < res.hits.length; j++) assert.ok(res.hits[j - 1].distance >= res.hits[j].distance, `${where}: hits are not best (largest) first`);
      const want = truth(ip, q, keep);
      if (strategy === "exact") assertExact(res.hits, want, where);
      found.push(res.hits.map((h) => h.slot));
      exact.push(want);
    }
    const rec = recall(found, exact);
    assert.ok(rec >= 0.95, `IP recall@10 at ${selectivity * 100}%: ${rec}`);
  }
});

/** An index over slots 0..size-1 whose nearest are the lowest slots. */
function fake(size: number, passing: number[], rank: (slots: ArrayLike<number>) => number[]): { asked: number[]; req: AnnRequest<number> } {
  const asked: number[] = [];
  const candidates = (k: number) => {
    asked.push(k);
    return { slots: Array.from({ length: Math.min(k, size) }, (_, s) => s) };
  };
  return { asked, req: { candidates, slotCount: size, passing: passingSlots(passing, size), limit: LIMIT, rank } };
}

test("ann search - too few hits from the candidates widen k, then fall back to the exact scan", () => {
  const all = Array.from({ length: 100_000 }, (_, s) => s);
  // A range bound that only slots >= 2000 meet: the first rounds come up short.
  const far = (slots: ArrayLike<number>) => Array.from(slots).filter((s) => s >= 2000).slice(0, LIMIT);
  const widened = fake(100_000, all, far);
  const res = annSearch(widened.req);
  assert.deepEqual(widened.asked, [20, 80, 320, 1280, 5120]);
  assert.deepEqual(res, { hits: far(all), strategy: "index", rounds: 5 });

  // Nothing within range anywhere: widening stops once the scan is cheaper.
  const none = fake(100_000, all, () => []);
  assert.deepEqual(annSearch(none.req), { hits: [], strategy: "exact", rounds: 5 });
  assert.deepEqual(none.asked, [20, 80, 320, 1280, 5120]);

  // An index that returns fewer than asked has no more to give.
  const small = fake(100_000, all, far);
  small.req.candidates = (k) => {
    small.asked.push(k);
    return { slots: [0, 1, 2] };
  };
  assert.equal(annSearch(small.req).strategy, "exact");
  assert.deepEqual(small.asked, [20]);

  assert.deepEqual(annSearch(fake(10, [], far).req), { hits: [], strategy: "exact", rounds: 0 });
});

test("ann search - rows read from disk cost more to scan: a 1% filter that scans rows in memory asks the index when they are on disk", () => {
  // 1% of 500k rows pass: k = 2 × 10 / 0.01 = 2000 candidates; 5000 rows × 1 <= 2000 × 16 scans, 5000 × DISK_ROW_COST does not.
  const passing = Array.from({ length: 5000 }, (_, i) => i * 100);
  const firstPassing = (slots: ArrayLike<number>) => Array.from(slots).filter((s) => s % 100 === 0).slice(0, LIMIT);
  const inMemory = fake(500_000, passing, firstPassing);
  assert.equal(annSearch(inMemory.req).strategy, "exact");
  assert.deepEqual(inMemory.asked, []);
  const onDisk = fake(500_000, passing, firstPassing);
  const res = annSearch({ ...onDisk.req, rowCost: DISK_ROW_COST });
  assert.deepEqual(onDisk.asked, [2000]);
  assert.deepEqual(res, { hits: passing.slice(0, LIMIT), strategy: "index", rounds: 1 });
});

test("ann search - a float32 index reports its candidates' distances, bit for bit those of the kernel that scores exact scans (IP: re-scored instead)", () => {
  for (const q of queries(21).slice(0, 10)) assert.equal(ip.index.search(q, LIMIT, 64).distances, undefined, "usearch's IP distances lose precision near 0: re-scored");
  for (const f of [l2]) {
    for (const q of queries(21).slice(0, 10)) {
      const found = f.index.search(q, LIMIT, 64);
      assert.ok(found.distances, `${f.metric}: a float32 index gives its distances`);
      const gathered = new Float32Array(found.slots.length * DIM);
      Array.from(found.slots).forEach((s, i) => gathered.set(f.data.subarray(s * DIM, (s + 1) * DIM), i * DIM));
      assert.deepEqual(Array.from(found.distances), Array.from(kernelDistances(f.metric, q, gathered, found.slots.length)), f.metric);
      // And both are the metric's distance (float32 arithmetic against the float64 reference).
      Array.from(found.slots).forEach((s, i) => {
        const want = refDistance(f.metric, q, f.data.subarray(s * DIM, (s + 1) * DIM));
        assert.ok(Math.abs(found.distances![i] - want) <= 1e-4 * Math.max(1, Math.abs(want)), `${f.metric} slot ${s}: ${found.distances![i]} vs ${want}`);
      });
    }
  }
});

test("ann search - the kernel scores views into larger buffers (usearch's exactSearch alone reads from the buffer's start)", () => {
  const rows = new Float32Array([5, 5, 1, 0, 0.7, 0.7, -1, 0]);
  const query = new Float32Array([9, 9, 1, 0.1]);
  for (const metric of ["L2", "IP", "COSINE"] as const) {
    const got = Array.from(kernelDistances(metric, query.subarray(2), rows.subarray(2), 3));
    const want = [0, 1, 2].map((i) => refDistance(metric, query.subarray(2), rows.subarray(2 + 2 * i, 4 + 2 * i)));
    got.forEach((d, i) => assert.ok(near(d, want[i]), `${metric} row ${i}: ${d} vs ${want[i]}`));
  }
});

test("ann search - the kernel keeps small inner products apart and scores a zero COSINE query 0 against every row", () => {
  const rows = new Float32Array([1e-4, 0, 0, 0, 0, 1e-4, 0, 0, 3e-4, 3e-4, 0, 0, -1e-4, 0, 0, 0, 0, 0, 0, 0]);
  const query = new Float32Array([1e-4, 2e-4, 0, 0]);
  const ipGot = Array.from(kernelDistances("IP", query, rows, 5));
  [1e-8, 2e-8, 9e-8, -1e-8, 0].forEach((want, i) => assert.ok(Math.abs(ipGot[i] - want) <= 1e-6 * Math.abs(want), `IP row ${i}: ${ipGot[i]} vs ${want}`));
  // As the reference defines it: a zero vector has similarity 0 with everything, itself included (usearch alone says 1).
  assert.deepEqual(Array.from(kernelDistances("COSINE", new Float32Array(4), rows, 5)), [0, 0, 0, 0, 0]);
  for (let i = 0; i < 5; i++) assert.equal(refDistance("COSINE", new Float32Array(4), rows.subarray(4 * i, 4 * i + 4)), 0);
});

test("ann search - an estimated count is not trusted: candidates are checked even when it says every slot passes", () => {
  const even = (s: number) => s % 2 === 0;
  const req = fake(100_000, [], (slots) => Array.from(slots).slice(0, LIMIT)).req;
  req.passing = { count: 100_000, estimated: true, has: even, list: () => Array.from({ length: 50_000 }, (_, i) => 2 * i) };
  const res = annSearch(req);
  assert.equal(res.strategy, "index");
  assert.deepEqual(res.hits, [0, 2, 4, 6, 8, 10, 12, 14, 16, 18]);
});
