// `search_params.params.ef` (README: 1–32768, default 64, searched at most
// 512 wide): each bound is accepted, one past it is INVALID_ARGUMENT naming
// ef and its range, in search and in a hybrid_search entry's `param`; and an
// accepted ef still returns the true nearest rows of an indexed segment on
// the query node (the widest ef, brute force computed here).
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { rejectsWith } from "../assert.js";
import { startEnv, type TestEnv } from "../harness.js";
import { randomVectors } from "../random.js";
import { eventually, TEST_TIMEOUT_MS } from "../timeouts.js";

const DIM = 8;
const ROWS = 1000;
const C = "ef";

describe("search ef", () => {
  let env: TestEnv;
  const vecs = randomVectors(ROWS, DIM, 21);
  before(async () => {
    env = await startEnv({ tag: "ef", seal: { sealIdleMs: 600_000 } });
    const c = env.client;
    await c.create_collection({ collection_name: C, dimension: DIM, metric_type: "L2" });
    await c.insert({ collection_name: C, data: vecs.map((vector, id) => ({ id, vector })) });
    await c.flush({ collection_name: C });
    await eventually("the segment indexed and served by the query node", async () => {
      const sealed = (await c.status()).segments.filter((g) => g.collection_name === C && g.segment_id !== null);
      return sealed.length === 1 && sealed[0].index !== "-" && /^query \S+$/.test(sealed[0].served_by);
    });
  });
  after(async () => env?.close());

  test("search ef - out of range or not an integer is INVALID_ARGUMENT naming ef and its range", { timeout: TEST_TIMEOUT_MS }, async () => {
    const c = env.client;
    const q = vecs[0];
    for (const ef of [0, -1, 32769, 1.5, "64"]) {
      await rejectsWith(
        c.search({ collection_name: C, data: [q], limit: 5, search_params: { params: { ef: ef as number } } }),
        "INVALID_ARGUMENT",
        /ef must be an integer from 1 to 32768/,
      );
      await rejectsWith(
        c.hybrid_search({ collection_name: C, reqs: [{ data: [q], anns_field: "vector", limit: 5, param: { params: { ef: ef as number } } }], limit: 5 }),
        "INVALID_ARGUMENT",
        /^reqs\[0\]: ef must be an integer from 1 to 32768/,
      );
    }
  });

  test("search ef - 1 and 32768 are accepted; the widest finds the exact top-10", { timeout: TEST_TIMEOUT_MS }, async () => {
    const c = env.client;
    const queries = randomVectors(10, DIM, 22);
    const lowest = await c.search({ collection_name: C, data: queries, limit: 10, search_params: { params: { ef: 1 } } });
    assert.ok(
      lowest.every((h) => h.length === 10),
      "ef 1 still fills the limit",
    );
    const widest = await c.search({ collection_name: C, data: queries, limit: 10, search_params: { params: { ef: 32768 } } });
    let found = 0;
    widest.forEach((hits, i) => {
      const exact = vecs
        .map((v, id) => ({ id, d: v.reduce((s, x, k) => s + (x - queries[i][k]) ** 2, 0) }))
        .sort((a, b) => a.d - b.d)
        .slice(0, 10);
      const want = new Set(exact.map((e) => e.id));
      found += hits.filter((h) => want.has(h.id as number)).length;
    });
    // HNSW over 1000 8-d rows searched 512 wide is exact in practice; a little slack keeps the test about ef, not HNSW's luck.
    assert.ok(found >= 98, `recall@10 at the widest ef: ${found}/100`);
    const hybrid = await c.hybrid_search({ collection_name: C, reqs: [{ data: [queries[0]], anns_field: "vector", limit: 10, param: { params: { ef: 32768 } } }], limit: 10 });
    assert.equal(hybrid[0].length, 10);
  });
});
