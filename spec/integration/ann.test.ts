// Approximate search through the whole path (proxy, shard owner, query node,
// usearch view): recall@10 against exact search, unfiltered and with filters
// passing 1%, 10% and 50% of the rows, at the default ef, on vectors shaped
// like embeddings (a Gaussian mixture); and a larger ef finding more of the
// true neighbours than a small one, on uniform random vectors (the hard case:
// there, ef 64 reaches about 0.944 in-process, over 300 queries).
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { generate } from "../../cli/bench/dataset.js";
import { startEnv, type TestEnv } from "../harness.js";
import { randomVectors } from "../random.js";
import { servedByQueryNodes } from "../shard-stats.js";
import { eventually, TEST_TIMEOUT_MS } from "../timeouts.js";

const ROWS = 20_000;
const DIM = 32;
const QUERIES = 100;

interface Case {
  name: string;
  vectors: number[][];
  queries: number[][];
}

const clustered = generate(ROWS, DIM, QUERIES, 11);
const CLUSTERED: Case = {
  name: "clustered",
  vectors: Array.from({ length: ROWS }, (_, i) => Array.from(clustered.vectors.subarray(i * DIM, (i + 1) * DIM))),
  queries: clustered.queries.map((q) => Array.from(q)),
};
const UNIFORM: Case = { name: "uniform", vectors: randomVectors(ROWS, DIM, 11), queries: randomVectors(QUERIES, DIM, 12) };

describe("approximate search", () => {
  let env: TestEnv;

  before(async () => {
    env = await startEnv({ tag: "ann", seal: { segmentRowsMax: ROWS, sealIdleMs: 600_000 } });
    const c = env.client;
    for (const { name, vectors } of [CLUSTERED, UNIFORM]) {
      const desc = await c.create_collection({
        collection_name: name,
        dimension: DIM,
        metric_type: "L2",
        index_params: [{ field_name: "vector", index_type: "HNSW", params: { M: 16, efConstruction: 128 } }],
      });
      for (let i = 0; i < ROWS; i += 2000) {
        await c.insert({ collection_name: name, data: vectors.slice(i, i + 2000).map((vector, k) => ({ id: i + k, vector, n: i + k })) });
      }
      await c.flush({ collection_name: name });
      await eventually(`the segment of ${name} handed to the query node`, async () => (await servedByQueryNodes(env.admin, desc.collection_id, 1)) === 1);
    }
  });
  after(async () => env?.close());

  function exactTop({ vectors }: Case, q: number[], passes: (id: number) => boolean): Set<number> {
    const scored: { id: number; d: number }[] = [];
    vectors.forEach((v, id) => {
      if (passes(id)) scored.push({ id, d: v.reduce((s, x, k) => s + (x - q[k]) ** 2, 0) });
    });
    return new Set(scored.sort((a, b) => a.d - b.d || a.id - b.id).slice(0, 10).map((s) => s.id));
  }

  async function recall(data: Case, filter: string | undefined, passes: (id: number) => boolean, ef?: number): Promise<number> {
    let found = 0;
    for (const q of data.queries) {
      const hits = (await env.client.search({ collection_name: data.name, data: [q], limit: 10, filter, search_params: ef ? { params: { ef } } : undefined }))[0];
      assert.equal(hits.length, 10);
      // A hit returned twice would count twice below.
      assert.equal(new Set(hits.map((h) => h.id)).size, 10, "no hit twice");
      assert.ok(hits.every((h) => passes(h.id as number)), "every hit passes the filter");
      const want = exactTop(data, q, passes);
      found += hits.filter((h) => want.has(h.id as number)).length;
    }
    return found / (10 * QUERIES);
  }

  test("ann - recall@10 >= 0.95 unfiltered and at 1%, 10% and 50% selectivity (default ef); filtered also on uniform vectors", { timeout: TEST_TIMEOUT_MS }, async (t) => {
    const cases: [Case, string | undefined, (id: number) => boolean][] = [];
    for (const data of [CLUSTERED, UNIFORM]) {
      if (data === CLUSTERED) cases.push([data, undefined, () => true]);
      cases.push([data, "n % 100 == 0", (id) => id % 100 === 0], [data, "n % 10 == 3", (id) => id % 10 === 3], [data, "n % 2 == 1", (id) => id % 2 === 1]);
    }
    for (const [data, filter, passes] of cases) {
      const r = await recall(data, filter, passes);
      const what = `recall@10 on ${data.name} vectors with filter ${filter ?? "(none)"}: ${r}`;
      t.diagnostic(what);
      assert.ok(r >= 0.95, what);
    }
  });

  test("ann - a larger ef finds more true neighbours", { timeout: TEST_TIMEOUT_MS }, async (t) => {
    const low = await recall(UNIFORM, undefined, () => true, 16);
    const high = await recall(UNIFORM, undefined, () => true, 256);
    t.diagnostic(`recall@10 at ef 16: ${low}, at ef 256: ${high}`);
    assert.ok(low < high, `recall at ef 16 (${low}) should be below recall at ef 256 (${high})`);
    assert.ok(high >= 0.98, `recall at ef 256: ${high}`);
  });
});
