// engine/reduce.ts and the segment search it serves: the hit order, range
// bounds, top-k with offset across shards, and group-by across shards checked
// against a brute-force reference over all rows (spec/reference/store.ts,
// which shares no code with storage/). The shards here are plain
// GrowingSegments, so many random cases run in milliseconds.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { Hit } from "../../protocol/api.js";
import type { GroupBy, SearchRange } from "../../protocol/messages.js";
import type { CollectionSchema, MetricType } from "../../protocol/schema.js";
import { batchOfRows } from "../../protocol/columns.js";
import { GrowingSegment } from "../../engine/growing-segment.js";
import { COUNT_ALL, fillGroups, groupedSearch, groupTop, hitOrder, inRange, mergeTop, reduceGroups, type GroupWindow } from "../../engine/reduce.js";
import { near, refDistance, refGroups, refInRange, refRank } from "../reference/store.js";
import { rng } from "../random.js";

interface TestRow {
  id: number;
  g: number;
  v: Float32Array;
  [k: string]: unknown;
}

function makeRows(n: number, groups: number, seed: number): TestRow[] {
  const r = rng(seed);
  return Array.from({ length: n }, (_, id) => ({ id, g: Math.floor(r() * groups), v: Float32Array.from({ length: 4 }, () => r() * 2 - 1) }));
}

const SCHEMA: CollectionSchema = {
  enable_dynamic_field: false,
  fields: [
    { name: "id", type: "Int64", is_primary: true },
    { name: "g", type: "Int64" },
    { name: "v", type: "FloatVector", dim: 4 },
  ],
};

/** Rows spread over `shards` segments by id, as the proxy spreads them by primary-key hash. */
function segments(rows: TestRow[], shards: number): GrowingSegment[] {
  const segs = Array.from({ length: shards }, () => new GrowingSegment(SCHEMA));
  rows.forEach((row) => segs[row.id % shards].insert(batchOfRows(SCHEMA, [row]), 1n));
  return segs;
}

const project = (row: Record<string, unknown>) => ({ id: row.id, g: row.g });

/** Every row scored, best first (distance, then id): what any search must agree with. */
function ranked(rows: TestRow[], q: Float32Array, metric: MetricType): { id: number; distance: number; g: number }[] {
  return refRank(metric, rows.map((row) => ({ id: row.id, distance: refDistance(metric, q, row.v), g: row.g })));
}

describe("reduce", () => {
  test("reduce - hitOrder ranks by metric direction, then by primary key", () => {
    const l2 = hitOrder(false);
    const ip = hitOrder(true);
    const a = { id: 2, distance: 0.5 };
    const b = { id: 1, distance: 0.7 };
    const tie = { id: 1, distance: 0.5 };
    assert.ok(l2(a, b) < 0 && ip(a, b) > 0);
    assert.ok(l2(tie, a) < 0 && ip(tie, a) < 0, "equal distances: the smaller id first, under both directions");
    assert.equal(l2(a, a), 0);
  });

  test("reduce - inRange follows Milvus: L2 keeps [range_filter, radius), IP/COSINE keep (radius, range_filter]", () => {
    const l2 = inRange("L2", { radius: 2, range_filter: 1 });
    assert.deepEqual([0.9, 1, 1.5, 2, 2.1].map(l2), [false, true, true, false, false]);
    const ip = inRange("IP", { radius: 0.2, range_filter: 0.8 });
    assert.deepEqual([0.1, 0.2, 0.5, 0.8, 0.9].map(ip), [false, false, true, true, false]);
    assert.deepEqual([-5, 0.3].map(inRange("COSINE", { radius: 0 })), [false, true]);
    assert.deepEqual([0, 10].map(inRange("L2", { radius: 5 })), [true, false]);
  });

  test("reduce - mergeTop over shard top lists equals the global ranks offset..offset+limit-1", () => {
    for (let seed = 1; seed <= 20; seed++) {
      const rows = makeRows(200, 7, seed);
      const q = Float32Array.from([0.1, -0.2, 0.3, 0.4]);
      const metric: MetricType = seed % 2 ? "L2" : "IP";
      const offset = seed % 5;
      const limit = 3 + (seed % 4);
      const perShard = segments(rows, 3).map((s) => s.search({ queries: [q], field: "v", metric, limit: offset + limit, project })[0]);
      const got = mergeTop(perShard, hitOrder(metric !== "L2"), offset, limit);
      const want = ranked(rows, q, metric).slice(offset, offset + limit);
      assert.deepEqual(
        got.map((h) => h.id),
        want.map((h) => h.id),
        `seed ${seed}`,
      );
      got.forEach((h, i) => assert.ok(near(h.distance, want[i].distance), `seed ${seed}: distance at rank ${offset + i}: ${h.distance}, want ${want[i].distance}`));
    }
  });

  test("reduce - segment range search returns exactly the rows in range, best first", () => {
    const rows = makeRows(300, 5, 3);
    const seg = segments(rows, 1)[0];
    const q = Float32Array.from([0.5, 0.5, -0.5, 0.25]);
    const cases: [MetricType, SearchRange][] = [
      ["L2", { radius: 1.5, range_filter: 0.5 }],
      ["IP", { radius: 0, range_filter: 0.4 }],
      ["COSINE", { radius: 0.5 }],
    ];
    for (const [metric, range] of cases) {
      const keep = refInRange(metric, range.radius, range.range_filter);
      const want = ranked(rows, q, metric).filter((h) => keep(h.distance));
      assert.ok(want.length > 10, `${metric}: the case selects something`);
      const got = seg.search({ queries: [q], field: "v", metric, limit: 1000, project, range })[0];
      assert.deepEqual(
        got.map((h) => h.id),
        want.map((h) => h.id),
        metric,
      );
    }
  });

  test("reduce - groupTop opens groups in rank order and caps their size", () => {
    const items = [1, 2, 1, 3, 1, 2, 4].map((g, i) => ({ g, i }));
    const groups = groupTop(items, (x) => x.g, 2, 2);
    assert.deepEqual(
      groups.map((g) => g.map((x) => x.i)),
      [
        [0, 2],
        [1, 5],
      ],
    );
  });

  test("reduce - group-by across 3 shards equals the brute-force grouping (first and second round)", async () => {
    let secondRounds = 0;
    let oneRoundWrong = 0;
    for (let seed = 1; seed <= 40; seed++) {
      const rows = makeRows(240, 25, seed);
      const segs = segments(rows, 3);
      const queries = [Float32Array.from([0.2, 0.1, -0.4, 0.3]), Float32Array.from([-0.6, 0, 0.2, 0.1])];
      const metric: MetricType = seed % 3 === 0 ? "COSINE" : "L2";
      const w: GroupWindow = { key: (h) => h.entity.g, order: hitOrder(metric !== "L2"), offset: seed % 3, limit: 4, size: 1 + (seed % 4) };
      const run = async (shard: number, values?: unknown[][]) => {
        if (values) secondRounds++;
        const groupBy: GroupBy = { field: "g", size: w.size, ...(values && { values }) };
        return segs[shard].search({ queries, field: "v", metric, limit: w.offset + w.limit, project, groupBy });
      };
      const got = await groupedSearch(3, run, w);
      for (const [q, query] of queries.entries()) {
        const want = refGroups(ranked(rows, query, metric), (h) => h.g, w.offset + w.limit, w.size).map((h) => h.id);
        const wantWindow = dropGroups(want, rows, w.offset);
        assert.deepEqual(
          got[q].map((h) => h.id),
          wantWindow,
          `seed ${seed} query ${q}`,
        );
        const first = await Promise.all([0, 1, 2].map((s) => run(s)));
        const oneRound = reduceGroups(
          first.map((r) => r[q]),
          w,
        ).groups.flat();
        if (oneRound.map((h) => h.id).join() !== wantWindow.join()) oneRoundWrong++;
      }
    }
    assert.ok(secondRounds > 0, "some cases need the second round");
    assert.ok(oneRoundWrong > 0, "and in some of them the first round alone is wrong, so the test can tell");
  });

  test("reduce - fillGroups merges second-round members and keeps the best `size`", () => {
    const hit = (id: number, g: number, distance: number): Hit => ({ id, distance, entity: { g } });
    const w: GroupWindow = { key: (h) => h.entity.g, order: hitOrder(false), offset: 0, limit: 2, size: 2 };
    const groups = [[hit(1, 7, 0.1), hit(4, 7, 0.9)], [hit(2, 8, 0.2)]];
    const filled = fillGroups(groups, [hit(5, 7, 0.3), hit(6, 8, 0.25), hit(9, 8, 0.5)], w);
    assert.deepEqual(
      filled.map((g) => g.map((h) => h.id)),
      [
        [1, 5],
        [2, 6],
      ],
    );
  });
});

/** A hit of group `g` (the group-by field) at `distance`. */
const gHit = (id: number, g: number, distance: number): Hit => ({ id, distance, entity: { g } });
const ids = (groups: Hit[][]) => groups.map((g) => g.map((h) => h.id));

/**
 * Two first-round replies of 3 shards to a group-by with offset 1, limit 2,
 * size 2 under L2 (each shard sends its best offset + limit = 3 groups, best
 * group first, a group's hits best first). The merged ranking, worked out by
 * hand:
 *
 * settled: 4(g4 .05) 1(g1 .10) 11(g1 .12) 5(g5 .20) 25(g5 .25) 2(g2 .30) 14(g4 .35) 3(g3 .40) 26(g5 .45) 6(g6 .50)
 *   → groups g4 [4, 14], g1 [1, 11], g5 [5, 25]; after the offset [1, 11], [5, 25].
 *   Shard 0 (best groups g1, g2, g3; its last sent group starts at .40) can
 *   hold g5 hits only beyond .40, worse than g5's last .25; shard 1 (g4, g5,
 *   g6, last at .50) can hold g1 hits only beyond .50, worse than g1's .12;
 *   shard 2 sent fewer than 3 groups, so it has nothing more: no second round.
 *
 * open: 4(g4 .05) 1(g1 .10) 5(g5 .20) 2(g2 .21) 3(g3 .22) 25(g5 .25) 14(g4 .35) 26(g5 .45) 6(g6 .50)
 *   → groups g4 [4, 14], g1 [1], g5 [5, 25]; after the offset [1], [5, 25].
 *   Shard 0's last sent group starts at .22, so it may hold a g5 hit between
 *   .22 and .25 that beats 25: ask it for g5. Shard 1 may hold any second g1
 *   hit (g1 has 1 of 2): ask it for g1. Shard 2 sent 1 group: ask nothing.
 */
const firstRound = {
  settled: [
    [gHit(1, 1, 0.1), gHit(11, 1, 0.12), gHit(2, 2, 0.3), gHit(3, 3, 0.4)],
    [gHit(4, 4, 0.05), gHit(14, 4, 0.35), gHit(5, 5, 0.2), gHit(6, 6, 0.5)],
    [gHit(25, 5, 0.25), gHit(26, 5, 0.45)],
  ],
  open: [
    [gHit(1, 1, 0.1), gHit(2, 2, 0.21), gHit(3, 3, 0.22)],
    [gHit(4, 4, 0.05), gHit(14, 4, 0.35), gHit(5, 5, 0.2), gHit(6, 6, 0.5)],
    [gHit(25, 5, 0.25), gHit(26, 5, 0.45)],
  ],
};
const window121: GroupWindow = { key: (h) => h.entity.g, order: hitOrder(false), offset: 1, limit: 2, size: 2 };

describe("reduce - group-by rounds worked out by hand", () => {
  test("reduce - COUNT_ALL is Milvus's count(*) output field", () => {
    assert.equal(COUNT_ALL, "count(*)");
  });

  test("reduce - reduceGroups asks no shard again when no unsent hit can enter a chosen group", () => {
    const { groups, ask } = reduceGroups(firstRound.settled, window121);
    assert.deepEqual(ids(groups), [
      [1, 11],
      [5, 25],
    ]);
    assert.deepEqual(ask, [[], [], []]);
  });

  test("reduce - reduceGroups asks a full shard for a chosen group it did not send that is short or whose last hit ranks after the shard's last group", () => {
    const { groups, ask } = reduceGroups(firstRound.open, window121);
    assert.deepEqual(ids(groups), [[1], [5, 25]]);
    assert.deepEqual(ask, [[5], [1], []]);
  });

  test("reduce - fillGroups adds a row once, never a row the first round returned, and drops hits of groups not chosen", () => {
    const w: GroupWindow = { ...window121, size: 3 };
    const groups = [[gHit(1, 1, 0.1)], [gHit(5, 5, 0.2), gHit(25, 5, 0.25)]];
    const extra = [
      gHit(8, 1, 0.6),
      gHit(25, 1, 0.15), // row 25 rewritten into g1 between the rounds: it stays where the first round put it
      gHit(9, 9, 0.05), // g9 was not chosen
      gHit(7, 5, 0.23),
      gHit(8, 1, 0.6), // the same row from a second source
    ];
    assert.deepEqual(ids(fillGroups(groups, extra, w)), [
      [1, 8],
      [5, 7, 25],
    ]);
    assert.deepEqual(ids(fillGroups(groups, [], w)), [[1], [5, 25]]);
  });

  test("reduce - groupedSearch runs a second round only on the shards asked for a group, per query vector, and fills the groups", async () => {
    const calls: [number, unknown[][] | undefined][] = [];
    // Query 0 is the "open" case, query 1 the "settled" one.
    const second: Record<number, Hit[][]> = {
      0: [[gHit(7, 5, 0.23)], []],
      1: [[gHit(8, 1, 0.6)], []],
    };
    const search = async (shard: number, values?: unknown[][]) => {
      calls.push([shard, values]);
      return values ? second[shard] : [firstRound.open[shard], firstRound.settled[shard]];
    };
    const got = await groupedSearch(3, search, window121);
    assert.deepEqual(
      got.map((q) => q.map((h) => h.id)),
      [
        [1, 8, 5, 7],
        [1, 11, 5, 25],
      ],
    );
    assert.deepEqual(calls, [
      [0, undefined],
      [1, undefined],
      [2, undefined],
      [0, [[5], []]],
      [1, [[1], []]],
    ]);
  });
});

/** The reference's hits minus its first `offset` groups (hits of a group are consecutive). */
function dropGroups(ids: number[], rows: TestRow[], offset: number): number[] {
  const groupOf = (id: number) => rows[id].g;
  const seen: number[] = [];
  return ids.filter((id) => {
    const g = groupOf(id);
    if (!seen.includes(g)) seen.push(g);
    return seen.indexOf(g) >= offset;
  });
}
