// A query node without room for vectors in memory leaves them in its segment
// files and holds their int8 codes instead (actors/query.ts,
// engine/vector-codes.ts): a selective filter's rows are ranked by code and
// only the best read from the file. Through the public API the searches
// must still return exactly the brute-force top rows of what the test
// wrote, deletes included, and the node must report the codes it holds.
process.env.VECBUS_QUERY_VECTOR_MEMORY_BYTES = "1";

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { startEnv, type TestEnv } from "../harness.js";
import { randomVectors } from "../random.js";
import { serveSegments } from "../served-segments.js";
import { TEST_TIMEOUT_MS } from "../timeouts.js";

const DIM = 16;
const PER_SEGMENT = 1500;
const SEGMENTS = 2;
/** The same rows twice: n given a scalar index, and n the clustering key without one. */
const COLLECTIONS = [
  ["codes", "index"],
  ["codes_by_key", "clustering key"],
] as const;

describe("vector codes on a query node", () => {
  let env: TestEnv;
  const vecs = randomVectors(PER_SEGMENT * SEGMENTS, DIM, 41);
  const dead = new Set(Array.from({ length: 200 }, (_, i) => i * 13));
  before(async () => {
    env = await startEnv({ tag: "codes", seal: { sealIdleMs: 600_000 } });
    for (const [name, orderN] of COLLECTIONS) await serveSegments(env.client, { name, vectors: vecs, perSegment: PER_SEGMENT, nModulo: 20, dead, orderN });
  });
  after(async () => env?.close());

  test("vector codes - the query node holds codes of every vector and none of the vectors", { timeout: TEST_TIMEOUT_MS }, async () => {
    const nodes = (await env.client.status()).nodes.filter((n) => n.role === "query");
    assert.equal(nodes.length, 1);
    assert.equal(nodes[0].load?.vector_bytes, 0);
    // The codes are laid out in n's order (its scalar index's, or the clustering key's): 8 bytes a row more map slots to their places and back.
    assert.equal(nodes[0].load?.code_bytes, COLLECTIONS.length * PER_SEGMENT * SEGMENTS * (DIM + 8), "a byte a dimension of every row, and its place");
  });

  test("vector codes - filtered searches return the brute-force top rows, in order", { timeout: TEST_TIMEOUT_MS }, async () => {
    const queries = randomVectors(10, DIM, 42);
    // 5% and 1-in-40 of the rows: few enough that every passing row is ranked (by code), not the index's candidates.
    // The codes are laid out in n's order: `n == 7` is listed by n's index and ranked as one block of codes a segment,
    // the other filter's rows one by one.
    const filters = [
      ["n == 7", (id: number) => id % 20 === 7],
      ["n == 3 and id < 2000", (id: number) => id % 20 === 3 && id < 2000],
    ] as const;
    for (const [collection_name] of COLLECTIONS) for (const [filter, keep] of filters) {
      const hits = await env.client.search({ collection_name, data: queries, limit: 10, filter, consistency_level: "Strong" });
      hits.forEach((h, i) => {
        const want = vecs
          .map((v, id) => ({ id, d: v.reduce((s, x, k) => s + (x - queries[i][k]) ** 2, 0) }))
          .filter((e) => !dead.has(e.id) && keep(e.id))
          .sort((a, b) => a.d - b.d || a.id - b.id)
          .slice(0, 10)
          .map((e) => e.id);
        assert.deepEqual(
          h.map((hit) => hit.id),
          want,
          `${collection_name}: ${filter}, query ${i}`,
        );
      });
    }
  });
});
