// engine/rankers.ts: Milvus's RRF and weighted fusion, its score
// normalizations, and the checks on `ranker`.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { Hit } from "../../protocol/api.js";
import { VecbusError } from "../../protocol/errors.js";
import type { MetricType } from "../../protocol/schema.js";
import { checkRanker, fuse, normalizeScore, type Ranker } from "../../engine/rankers.js";
import { rng } from "../random.js";

const hits = (pairs: [number, number][]): Hit[] => pairs.map(([id, distance]) => ({ id, distance, entity: { id } }));

function close(a: number, b: number): boolean {
  return Math.abs(a - b) < 1e-12;
}

/**
 * Milvus's weighted-ranker normalisations onto (0, 1), larger is better,
 * written out from its documentation: L2 1 - 2·atan(d)/π, IP 0.5 + atan(d)/π,
 * COSINE (1 + d)/2.
 */
function normalized(metric: MetricType, d: number): number {
  if (metric === "L2") return 1 - (2 * Math.atan(d)) / Math.PI;
  if (metric === "IP") return 0.5 + Math.atan(d) / Math.PI;
  return (1 + d) / 2;
}

/** The fused scores written out from the definitions (RRF: 1/(k + rank), rank from 1), sorted larger first then by id. */
function reference(r: Ranker, lists: Hit[][], metric: MetricType): { id: number; score: number }[] {
  const ids = [...new Set(lists.flatMap((l) => l.map((h) => h.id as number)))];
  const score = (id: number) =>
    lists.reduce((sum, l, i) => {
      const rank = l.findIndex((h) => h.id === id);
      if (rank < 0) return sum;
      if (r.strategy === "rrf") return sum + 1 / (r.k + rank + 1);
      const d = l[rank].distance;
      const s = r.norm_score ? normalized(metric, d) : metric === "L2" ? -d : d;
      return sum + r.weights[i] * s;
    }, 0);
  return ids.map((id) => ({ id, score: score(id) })).sort((a, b) => b.score - a.score || a.id - b.id);
}

function rejects(f: () => unknown, pattern: RegExp): void {
  assert.throws(f, (e: unknown) => e instanceof VecbusError && e.code === "INVALID_ARGUMENT" && pattern.test(e.message));
}

describe("rankers", () => {
  test("rankers - Milvus's normalizations map each metric onto (0, 1), larger is better", () => {
    assert.equal(normalizeScore("L2", 0), 1);
    assert.ok(close(normalizeScore("L2", 1), 0.5));
    assert.ok(normalizeScore("L2", 1e9) < 1e-6);
    assert.equal(normalizeScore("IP", 0), 0.5);
    assert.ok(close(normalizeScore("IP", 1), 0.75));
    assert.ok(close(normalizeScore("IP", -1), 0.25));
    assert.equal(normalizeScore("COSINE", 1), 1);
    assert.equal(normalizeScore("COSINE", -1), 0);
    assert.equal(normalizeScore("COSINE", 0), 0.5);
    const r = rng(4);
    for (let i = 0; i < 200; i++) {
      const d = (r() - 0.5) * 10 ** Math.floor(r() * 4);
      for (const metric of ["L2", "IP", "COSINE"] as const) {
        if (metric === "L2" && d < 0) continue;
        assert.ok(close(normalizeScore(metric, d), normalized(metric, d)), `${metric} ${d}: ${normalizeScore(metric, d)}, want ${normalized(metric, d)}`);
      }
    }
  });

  test("rankers - RRF sums 1/(k + rank) over the lists a hit appears in", () => {
    const a = hits([
      [1, 0.1],
      [2, 0.2],
      [3, 0.3],
    ]);
    const b = hits([
      [3, 5],
      [1, 6],
    ]);
    const fused = fuse({ strategy: "rrf", k: 60 }, [a, b], "L2", 0, 10);
    assert.deepEqual(
      fused.map((h) => h.id),
      [1, 3, 2],
    );
    assert.ok(close(fused[0].distance, 1 / 61 + 1 / 62));
    assert.ok(close(fused[1].distance, 1 / 63 + 1 / 61));
    assert.ok(close(fused[2].distance, 1 / 62));
    assert.deepEqual(fused[0].entity, { id: 1 });
    assert.deepEqual(
      fuse({ strategy: "rrf", k: 60 }, [a, b], "L2", 1, 1).map((h) => h.id),
      [3],
    );
  });

  test("rankers - weighted sums w_i times the normalized score; without norm_score, L2 is negated", () => {
    const a = hits([
      [1, 0.5],
      [2, 2],
    ]);
    const b = hits([
      [2, 0],
      [3, 1],
    ]);
    const fused = fuse({ strategy: "weighted", weights: [0.8, 0.2], norm_score: true }, [a, b], "L2", 0, 3);
    const n = (d: number) => normalized("L2", d);
    assert.deepEqual(
      fused.map((h) => h.id),
      [1, 2, 3],
    );
    assert.ok(close(fused[0].distance, 0.8 * n(0.5)));
    assert.ok(close(fused[1].distance, 0.8 * n(2) + 0.2 * n(0)));
    const raw = fuse({ strategy: "weighted", weights: [1, 1], norm_score: false }, [a, b], "L2", 0, 3);
    assert.deepEqual(
      raw.map((h) => [h.id, h.distance]),
      [
        [1, -0.5],
        [3, -1],
        [2, -2],
      ],
    );
  });

  test("rankers - fuse agrees with the definitions on random lists", () => {
    const r = rng(5);
    for (let round = 0; round < 50; round++) {
      const metric = (["L2", "IP", "COSINE"] as const)[round % 3];
      const lists = Array.from({ length: 1 + (round % 3) }, () => {
        const ids = [...new Set(Array.from({ length: 8 }, () => Math.floor(r() * 15)))];
        const sign = metric === "L2" ? 1 : -1;
        return hits(ids.map((id) => [id, r() * 2 - (metric === "L2" ? 0 : 1)] as [number, number]).sort((x, y) => sign * (x[1] - y[1])));
      });
      const rankers: Ranker[] = [
        { strategy: "rrf", k: 1 + Math.floor(r() * 100) },
        { strategy: "weighted", weights: lists.map(() => r()), norm_score: round % 2 === 0 },
      ];
      for (const ranker of rankers) {
        const want = reference(ranker, lists, metric).slice(2, 7);
        const got = fuse(ranker, lists, metric, 2, 5);
        assert.deepEqual(
          got.map((h) => h.id),
          want.map((w) => w.id),
          `round ${round} ${ranker.strategy}`,
        );
        got.forEach((h, i) => assert.ok(close(h.distance, want[i].score), `round ${round} ${ranker.strategy}: score of ${h.id} ${h.distance}, want ${want[i].score}`));
      }
    }
  });

  test("rankers - checkRanker defaults and errors", () => {
    assert.deepEqual(checkRanker(undefined, 2), { strategy: "rrf", k: 60 });
    assert.deepEqual(checkRanker({ strategy: "RRF" }, 2), { strategy: "rrf", k: 60 });
    assert.deepEqual(checkRanker({ strategy: "rrf", params: { k: 10 } }, 2), { strategy: "rrf", k: 10 });
    assert.deepEqual(checkRanker({ strategy: "weighted", params: { weights: [0.3, 0.7] } }, 2), { strategy: "weighted", weights: [0.3, 0.7], norm_score: true });
    rejects(() => checkRanker({ strategy: "weighted", params: { weights: [0.3] } }, 2), /1 weights but reqs has 2/);
    rejects(() => checkRanker({ strategy: "weighted", params: { weights: [0.3, 1.5] } }, 2), /from 0 to 1/);
    rejects(() => checkRanker({ strategy: "weighted" }, 1), /weights/);
    rejects(() => checkRanker({ strategy: "weighted", params: { weights: [1], norm_score: "yes" } }, 1), /norm_score/);
    rejects(() => checkRanker({ strategy: "rrf", params: { k: 0 } }, 1), /greater than 0/);
    rejects(() => checkRanker({ strategy: "rrf", params: { k: 16384 } }, 1), /less than 16384/);
    rejects(() => checkRanker({ strategy: "max" }, 1), /"rrf" or "weighted"/);
    rejects(() => checkRanker("rrf", 1), /ranker must be a map/);
  });

  test("rankers - checkRanker fills in Milvus's defaults for a null or missing ranker, params, k and norm_score", () => {
    assert.deepEqual(checkRanker(null, 3), { strategy: "rrf", k: 60 });
    assert.deepEqual(checkRanker({ strategy: "rrf", params: null }, 1), { strategy: "rrf", k: 60 });
    assert.deepEqual(checkRanker({ strategy: "rrf", params: {} }, 1), { strategy: "rrf", k: 60 });
    assert.deepEqual(checkRanker({ strategy: "rrf", params: { k: null } }, 1), { strategy: "rrf", k: 60 });
    assert.deepEqual(checkRanker({ strategy: "Weighted", params: { weights: [0.5], norm_score: null } }, 1), { strategy: "weighted", weights: [0.5], norm_score: true });
    assert.deepEqual(checkRanker({ strategy: "weighted", params: { weights: [0.5], norm_score: false } }, 1), { strategy: "weighted", weights: [0.5], norm_score: false });
    assert.deepEqual(checkRanker({ strategy: "weighted", params: { weights: [0.5], norm_score: true } }, 1), { strategy: "weighted", weights: [0.5], norm_score: true });
  });

  test("rankers - checkRanker accepts k strictly between 0 and 16384 and weights from 0 to 1 inclusive", () => {
    assert.deepEqual(checkRanker({ strategy: "rrf", params: { k: 1 } }, 1), { strategy: "rrf", k: 1 });
    assert.deepEqual(checkRanker({ strategy: "rrf", params: { k: 0.5 } }, 1), { strategy: "rrf", k: 0.5 });
    assert.deepEqual(checkRanker({ strategy: "rrf", params: { k: 16383 } }, 1), { strategy: "rrf", k: 16383 });
    assert.deepEqual(checkRanker({ strategy: "weighted", params: { weights: [0, 1, 0.25] } }, 3), { strategy: "weighted", weights: [0, 1, 0.25], norm_score: true });
  });

  test("rankers - checkRanker rejects a bad ranker with INVALID_ARGUMENT and a message naming the parameter and the value", () => {
    const cases: [unknown, number, string][] = [
      [[], 1, "ranker must be a map"],
      [7, 1, "ranker must be a map"],
      [{ strategy: "rrf", params: "k=10" }, 1, "ranker.params must be a map"],
      [{ strategy: "rrf", params: [10] }, 1, "ranker.params must be a map"],
      [{ strategy: 5 }, 1, 'ranker.strategy must be "rrf" or "weighted"; got 5'],
      [{ strategy: null }, 1, 'ranker.strategy must be "rrf" or "weighted"; got null'],
      [{ strategy: "sum" }, 1, 'ranker.strategy must be "rrf" or "weighted"; got "sum"'],
      [{ strategy: "rrf", params: { k: 0 } }, 1, "ranker.params.k must be a number greater than 0 and less than 16384; got 0"],
      [{ strategy: "rrf", params: { k: -1 } }, 1, "ranker.params.k must be a number greater than 0 and less than 16384; got -1"],
      [{ strategy: "rrf", params: { k: 16384 } }, 1, "ranker.params.k must be a number greater than 0 and less than 16384; got 16384"],
      [{ strategy: "rrf", params: { k: 20000 } }, 1, "ranker.params.k must be a number greater than 0 and less than 16384; got 20000"],
      [{ strategy: "rrf", params: { k: "60" } }, 1, 'ranker.params.k must be a number greater than 0 and less than 16384; got "60"'],
      [{ strategy: "weighted", params: { weights: [-0.1, 0.5] } }, 2, "ranker.params.weights must be a list of numbers from 0 to 1, one per entry of reqs; got [-0.1,0.5]"],
      [{ strategy: "weighted", params: { weights: [0.5, 1.01] } }, 2, "ranker.params.weights must be a list of numbers from 0 to 1, one per entry of reqs; got [0.5,1.01]"],
      [{ strategy: "weighted", params: { weights: ["0.5", 0.5] } }, 2, 'ranker.params.weights must be a list of numbers from 0 to 1, one per entry of reqs; got ["0.5",0.5]'],
      [{ strategy: "weighted", params: { weights: 0.5 } }, 1, "ranker.params.weights must be a list of numbers from 0 to 1, one per entry of reqs; got 0.5"],
      [{ strategy: "weighted", params: { weights: [0.2, 0.3, 0.5] } }, 2, "ranker.params.weights has 3 weights but reqs has 2 searches; give one weight per search"],
      [{ strategy: "weighted", params: { weights: [1], norm_score: "true" } }, 1, 'ranker.params.norm_score must be true or false; got "true"'],
      [{ strategy: "weighted", params: { weights: [1], norm_score: 1 } }, 1, "ranker.params.norm_score must be true or false; got 1"],
    ];
    for (const [raw, reqs, message] of cases) {
      assert.throws(
        () => checkRanker(raw, reqs),
        (e: unknown) => {
          assert.ok(e instanceof VecbusError, `${JSON.stringify(raw)}: threw ${String(e)}`);
          assert.equal(e.code, "INVALID_ARGUMENT");
          assert.equal(e.message, message);
          return true;
        },
        JSON.stringify(raw),
      );
    }
  });
});
