// storage/reduce.ts and the segment search it serves: the hit order, range
// bounds, top-k with offset across shards, and group-by across shards checked
// against a brute-force reference over all rows (spec/reference/store.ts,
// which shares no code with storage/). The shards here are plain
// GrowingSegments, so many random cases run in milliseconds.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { Hit } from "../../protocol/api.js";
import type { GroupBy, SearchRange } from "../../protocol/messages.js";
import type { MetricType } from "../../protocol/schema.js";
import { GrowingSegment } from "../../storage/growing-segment.js";
import { fillGroups, groupedSearch, groupTop, hitOrder, inRange, mergeTop, reduceGroups, type GroupWindow } from "../../storage/reduce.js";
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

/** Rows spread over `shards` segments by id, as the proxy spreads them by primary-key hash. */
function segments(rows: TestRow[], shards: number): GrowingSegment[] {
  const segs = Array.from({ length: shards }, () => new GrowingSegment("id"));
  rows.forEach((row) => segs[row.id % shards].insert([row], 1n));
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
