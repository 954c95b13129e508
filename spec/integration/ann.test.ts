// Approximate search through the whole path (proxy, shard owner, query node,
// usearch view): recall@10 against exact search, unfiltered and with filters
// passing 1%, 10% and 50% of the rows, at the default ef; and a larger ef
// finding more of the true neighbours than a small one.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { startEnv, type TestEnv } from "../harness.js";
import { randomVectors } from "../random.js";
import { servedByQueryNodes } from "../shard-stats.js";
import { eventually, TEST_TIMEOUT_MS } from "../timeouts.js";

const ROWS = 20_000;
const DIM = 32;
const QUERIES = 30;

describe("approximate search", () => {
  let env: TestEnv;
  const vectors = randomVectors(ROWS, DIM, 11);
  const queries = randomVectors(QUERIES, DIM, 12);

  before(async () => {
    env = await startEnv({ tag: "ann", seal: { segmentRowsMax: ROWS, sealIdleMs: 600_000 } });
    const c = env.client;
    const desc = await c.create_collection({
      collection_name: "ann",
      dimension: DIM,
      metric_type: "L2",
      index_params: [{ field_name: "vector", index_type: "HNSW", params: { M: 16, efConstruction: 128 } }],
    });
    for (let i = 0; i < ROWS; i += 2000) {
      await c.insert({ collection_name: "ann", data: vectors.slice(i, i + 2000).map((vector, k) => ({ id: i + k, vector, n: i + k })) });
    }
    await c.flush({ collection_name: "ann" });
    await eventually("the segment handed to the query node", async () => (await servedByQueryNodes(env.admin, desc.collection_id, 1)) === 1);
  });
  after(async () => env?.close());

  function exactTop(q: number[], passes: (id: number) => boolean): Set<number> {
    const scored: { id: number; d: number }[] = [];
    vectors.forEach((v, id) => {
      if (passes(id)) scored.push({ id, d: v.reduce((s, x, k) => s + (x - q[k]) ** 2, 0) });
    });
    return new Set(scored.sort((a, b) => a.d - b.d || a.id - b.id).slice(0, 10).map((s) => s.id));
  }

  async function recall(filter: string | undefined, passes: (id: number) => boolean, ef?: number): Promise<number> {
    let found = 0;
    for (const q of queries) {
      const hits = (await env.client.search({ collection_name: "ann", data: [q], limit: 10, filter, search_params: ef ? { params: { ef } } : undefined }))[0];
      assert.equal(hits.length, 10);
      // A hit returned twice would count twice below.
      assert.equal(new Set(hits.map((h) => h.id)).size, 10, "no hit twice");
      assert.ok(hits.every((h) => passes(h.id as number)), "every hit passes the filter");
      const want = exactTop(q, passes);
      found += hits.filter((h) => want.has(h.id as number)).length;
    }
    return found / (10 * QUERIES);
  }

  test("ann - recall@10 >= 0.95 unfiltered and at 1%, 10% and 50% selectivity (default ef)", { timeout: TEST_TIMEOUT_MS }, async (t) => {
    const cases: [string | undefined, (id: number) => boolean][] = [
      [undefined, () => true],
      ["n % 100 == 0", (id) => id % 100 === 0],
      ["n % 10 == 3", (id) => id % 10 === 3],
      ["n % 2 == 1", (id) => id % 2 === 1],
    ];
    for (const [filter, passes] of cases) {
      const r = await recall(filter, passes);
      t.diagnostic(`recall@10 with filter ${filter ?? "(none)"}: ${r}`);
      assert.ok(r >= 0.95, `recall@10 with filter ${filter ?? "(none)"}: ${r}`);
    }
  });

  test("ann - a larger ef finds more true neighbours", { timeout: TEST_TIMEOUT_MS }, async (t) => {
    const low = await recall(undefined, () => true, 16);
    const high = await recall(undefined, () => true, 256);
    t.diagnostic(`recall@10 at ef 16: ${low}, at ef 256: ${high}`);
    assert.ok(low < high, `recall at ef 16 (${low}) should be below recall at ef 256 (${high})`);
    assert.ok(high >= 0.98, `recall at ef 256: ${high}`);
  });
});
