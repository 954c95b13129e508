// A query node walks the HNSW graphs of index files above
// VECBUS_QUERY_THREAD_INDEX_BYTES on search threads (actors/query.ts). Here
// every file is above it, so every index search of the query node runs on a
// thread, three segments side by side: searches, filtered or not, after
// deletes, still find the true nearest live rows (brute force in the test,
// at the widest ef), and a released and reloaded collection is searched so
// again (its files forgotten by the threads, then viewed anew).
process.env.VECBUS_QUERY_THREAD_INDEX_BYTES = "1";

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { startEnv, type TestEnv } from "../harness.js";
import { randomVectors } from "../random.js";
import { serveSegments } from "../served-segments.js";
import { TEST_TIMEOUT_MS } from "../timeouts.js";

const DIM = 8;
const PER_SEGMENT = 1000;
const SEGMENTS = 3;
const C = "threads";

describe("search threads", () => {
  let env: TestEnv;
  const vecs = randomVectors(PER_SEGMENT * SEGMENTS, DIM, 31);
  const dead = new Set(Array.from({ length: 300 }, (_, i) => i * 7));
  before(async () => {
    env = await startEnv({ tag: "threads", seal: { sealIdleMs: 600_000 } });
    await serveSegments(env.client, { name: C, vectors: vecs, perSegment: PER_SEGMENT, nModulo: 10, dead });
  });
  after(async () => env?.close());

  /** The true top-10 live rows passing `keep`, by brute force. */
  function exact(q: number[] | Float32Array, keep: (id: number) => boolean): Set<number> {
    return new Set(
      vecs
        .map((v, id) => ({ id, d: v.reduce((s, x, k) => s + (x - q[k]) ** 2, 0) }))
        .filter((e) => !dead.has(e.id) && keep(e.id))
        .sort((a, b) => a.d - b.d)
        .slice(0, 10)
        .map((e) => e.id),
    );
  }

  async function checkSearches(): Promise<void> {
    const c = env.client;
    const queries = randomVectors(10, DIM, 32);
    for (const [filter, keep] of [
      [undefined, () => true],
      ["n >= 3", (id: number) => id % 10 >= 3],
      ["n == 4", (id: number) => id % 10 === 4],
    ] as const) {
      const hits = await c.search({ collection_name: C, data: queries, limit: 10, filter, consistency_level: "Strong", search_params: { params: { ef: 512 } } });
      let found = 0;
      hits.forEach((h, i) => {
        const want = exact(queries[i], keep);
        for (const hit of h) assert.ok(!dead.has(hit.id as number) && keep(hit.id as number), `${filter}: hit ${hit.id} is dead or fails the filter`);
        found += h.filter((hit) => want.has(hit.id as number)).length;
      });
      // HNSW over 1000 8-d rows searched 512 wide is exact in practice; a little slack keeps the test about the threads, not HNSW's luck.
      assert.ok(found >= 98, `${filter ?? "no filter"}: recall@10 ${found}/100`);
    }
  }

  test("search threads - searches over three segments walked on threads find the true nearest live rows", { timeout: TEST_TIMEOUT_MS }, async () => {
    await checkSearches();
  });

  test("search threads - after a release and a load the segments are searched on threads again", { timeout: TEST_TIMEOUT_MS }, async () => {
    const c = env.client;
    await c.release_collection({ collection_name: C });
    await c.load_collection({ collection_name: C, timeout: 60 });
    await checkSearches();
  });
});
