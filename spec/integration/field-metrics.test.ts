// A metric per vector field's index, as Milvus: the canonical pymilvus
// pattern creates a collection from a schema with index_params naming each
// field's metric (no collection-level metric). Each field then searches with
// its own metric, on growing rows (exact) and on sealed, indexed segments
// served by the query node (HNSW built with that metric); a search naming
// another metric is refused; hybrid search fuses the two fields' hits. The
// expected answers come from brute force (spec/brute-force.ts).
import assert from "node:assert/strict";
import { test } from "node:test";
import type { Row } from "../../protocol/rows.js";
import { rank } from "../brute-force.js";
import { rejectsWith } from "../assert.js";
import { startEnv } from "../harness.js";
import { randomVectors } from "../random.js";
import { eventually, TEST_TIMEOUT_MS } from "../timeouts.js";

const DIM = 4;

test("field metrics - two vector fields, L2 and IP from index_params, each searched with its own metric, growing and sealed", { timeout: TEST_TIMEOUT_MS }, async () => {
  const env = await startEnv({ tag: "field-metrics", seal: { segmentRowsMax: 1000, sealIdleMs: 600_000 } });
  try {
    const c = env.client;
    await c.call("create_collection", {
      collection_name: "two",
      schema: {
        fields: [
          { name: "id", type: "Int64", is_primary: true },
          { name: "a", type: "FloatVector", dim: DIM },
          { name: "b", type: "FloatVector", dim: DIM },
        ],
      },
      index_params: [
        { field_name: "a", index_type: "HNSW", metric_type: "L2" },
        { field_name: "b", index_type: "HNSW", metric_type: "IP" },
      ],
    });
    assert.equal((await c.describe_index({ collection_name: "two", field_name: "a" })).metric_type, "L2");
    assert.equal((await c.describe_index({ collection_name: "two", field_name: "b" })).metric_type, "IP");
    const a = randomVectors(200, DIM, 1);
    const b = randomVectors(200, DIM, 2);
    const rows: (Row & { id: number; a: number[]; b: number[] })[] = a.map((v, id) => ({ id, a: v, b: b[id] }));
    await c.insert({ collection_name: "two", data: rows });
    const [qa, qb] = [randomVectors(1, DIM, 8)[0], randomVectors(1, DIM, 9)[0]];

    const check = async (when: string) => {
      for (const [field, q, metric] of [
        ["a", qa, "L2"],
        ["b", qb, "IP"],
      ] as const) {
        const hits = (await c.search({ collection_name: "two", anns_field: field, data: [q], limit: 5, consistency_level: "Strong", search_params: { params: { ef: 200 } } }))[0];
        const exact = rank(rows, (r) => r[field], q, metric).slice(0, 5);
        assert.deepEqual(
          hits.map((h) => h.id),
          exact.map((e) => e.id),
          `${when}: ${field} ranked by ${metric}`,
        );
        for (const [i, h] of hits.entries()) assert.ok(Math.abs(h.distance - exact[i].distance) < 1e-4, `${when}: ${field} distance ${h.distance} vs ${exact[i].distance}`);
      }
      await rejectsWith(
        c.search({ collection_name: "two", anns_field: "b", data: [qb], limit: 5, search_params: { metric_type: "L2" } }),
        "INVALID_ARGUMENT",
        /does not match the metric of the field's index, IP/,
      );
      // Hybrid search: RRF over the two fields' own rankings.
      const fused = (await c.hybrid_search({
        collection_name: "two",
        reqs: [
          { anns_field: "a", data: [qa], limit: 10, param: { params: { ef: 200 } } },
          { anns_field: "b", data: [qb], limit: 10, param: { params: { ef: 200 } } },
        ],
        ranker: { strategy: "rrf", params: { k: 60 } },
        limit: 3,
        consistency_level: "Strong",
      }))[0];
      const score = new Map<number, number>();
      for (const list of [rank(rows, (r) => r.a, qa, "L2").slice(0, 10), rank(rows, (r) => r.b, qb, "IP").slice(0, 10)]) {
        list.forEach((e, i) => score.set(e.id, (score.get(e.id) ?? 0) + 1 / (61 + i)));
      }
      const expected = [...score].sort((x, y) => y[1] - x[1] || x[0] - y[0]).slice(0, 3).map(([id]) => id);
      assert.deepEqual(
        fused.map((h) => h.id),
        expected,
        `${when}: hybrid search`,
      );
    };
    await check("growing");
    await c.flush({ collection_name: "two" });
    await eventually("the sealed segment indexed and loaded on the query node", async () => {
      const segs = (await c.status()).segments.filter((s) => s.collection_name === "two" && s.segment_id !== null);
      return segs.length === 1 && segs[0].state === "Indexed" && /^query /.test(segs[0].served_by) && !/loading/.test(segs[0].served_by);
    });
    await check("sealed");
  } finally {
    await env.close();
  }
});
