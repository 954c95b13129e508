// A shard owner serves a flushed segment whose vectors take more than
// VECBUS_OWNER_SEGMENT_VECTOR_BYTES (here every one) from a local file until a
// query node takes it over (actors/streaming/shard.ts, spill). The owner
// reports the sealed vector bytes it holds in memory: none once the file is
// written, after a flush and again after a restart. Meanwhile every read
// answers as before: exact searches, filtered or not, equal brute force over
// the rows the test wrote, get returns the vectors written, and deletes and
// upserts after the move count. Then a query node (started by the test, so
// that until then the owner serves everything) takes the segments over and
// is killed: the owner takes them back from their blobs, moves them to files
// again, and reads equal brute force once more.
process.env.VECBUS_OWNER_SEGMENT_VECTOR_BYTES = "1";

import assert from "node:assert/strict";
import fs from "node:fs";
import { after, before, describe, test } from "node:test";
import { openContext } from "../../actors/context.js";
import { QueryNode } from "../../actors/query.js";
import { Names } from "../../protocol/subjects.js";
import { closeConnection } from "../../runtime/connection.js";
import { assertHits, rank } from "../brute-force.js";
import { startEnv, tempDir, type TestEnv } from "../harness.js";
import { randomVectors } from "../random.js";
import { shardStats } from "../shard-stats.js";
import { eventually, TEST_TIMEOUT_MS } from "../timeouts.js";

const DIM = 8;
const ROWS = 3000;
const C = "spill";

describe("owner spill", () => {
  let env: TestEnv;
  let cid: number;
  // What the test wrote, by id: the reference every read is checked against.
  const rows = new Map<number, { id: number; vector: number[]; n: number }>();
  const vecs = randomVectors(ROWS + 200, DIM, 41);

  before(async () => {
    env = await startEnv({ tag: "spill", roles: ["streaming", "coordinator", "data", "proxy"], seal: { sealIdleMs: 600_000 } });
    const c = env.client;
    // Quick setup: `n` is a dynamic field, and the AUTOINDEX is built at once but served only once a query node starts.
    await c.create_collection({ collection_name: C, dimension: DIM, metric_type: "L2" });
    const written = Array.from({ length: ROWS }, (_, id) => ({ id, vector: vecs[id], n: id % 10 }));
    await c.insert({ collection_name: C, data: written });
    for (const r of written) rows.set(r.id, r);
    await c.flush({ collection_name: C });
    cid = (await c.describe_collection({ collection_name: C })).collection_id;
  });
  after(async () => env?.close());

  const stats = () => shardStats(env.admin, cid, 0);

  async function checkReads(what: string, exact: boolean): Promise<void> {
    const c = env.client;
    const queries = randomVectors(8, DIM, 42);
    for (const [filter, keep] of [
      [undefined, () => true],
      ["n >= 3", (r: { n: number }) => r.n >= 3],
      ["n == 4", (r: { n: number }) => r.n === 4],
    ] as const) {
      const hits = await c.search({ collection_name: C, data: queries, limit: 10, filter, consistency_level: "Strong", search_params: { params: { ef: 512 } } });
      hits.forEach((h, i) => {
        const want = rank(rows.values(), (r) => r.vector, queries[i], "L2", keep).slice(0, 10);
        if (exact) assertHits(h, want, `${what}, ${filter ?? "no filter"}, query ${i}`);
        else {
          const ids = new Set(want.map((w) => w.id));
          assert.ok(h.filter((x) => ids.has(x.id as number)).length >= 9, `${what}, ${filter ?? "no filter"}, query ${i}: recall`);
        }
      });
    }
    const ids = [0, 7, 1234, ROWS - 1, ROWS + 5, 99_999];
    const got = await c.get({ collection_name: C, ids, output_fields: ["vector", "n"], consistency_level: "Strong" });
    assert.deepEqual(
      got.map((r) => ({ id: r.id, vector: Array.from(r.vector as number[]), n: r.n })).sort((a, b) => (a.id as number) - (b.id as number)),
      ids.filter((id) => rows.has(id)).map((id) => ({ id, vector: Array.from(Float32Array.from(rows.get(id)!.vector)), n: rows.get(id)!.n })),
      `${what}: get`,
    );
    const count = await c.query({ collection_name: C, filter: "n == 4", output_fields: ["count(*)"], consistency_level: "Strong" });
    assert.equal(count[0]["count(*)"], [...rows.values()].filter((r) => r.n === 4).length, `${what}: count`);
  }

  test("owner spill - a flushed segment's vectors leave the owner's memory, and its reads equal brute force", { timeout: TEST_TIMEOUT_MS }, async () => {
    await eventually("the owner serves the flushed segment from a file", async () => {
      const s = await stats();
      return s.segments === 1 && s.served_by_query_nodes === 0 && s.sealed_vector_bytes === 0;
    });
    await checkReads("spilled", true);
  });

  test("owner spill - deletes and upserts after the move count in its reads", { timeout: TEST_TIMEOUT_MS }, async () => {
    const c = env.client;
    const gone = Array.from({ length: 300 }, (_, i) => i * 9);
    await c.delete({ collection_name: C, ids: gone });
    for (const id of gone) rows.delete(id);
    // Upserts of rows in the spilled segment: the old rows die there, the new ones grow.
    const upserted = Array.from({ length: 100 }, (_, i) => ({ id: 1 + i * 11, vector: vecs[ROWS + i], n: 4 }));
    await c.upsert({ collection_name: C, data: upserted });
    for (const r of upserted) rows.set(r.id, r);
    await checkReads("after deletes and upserts", true);
    await c.flush({ collection_name: C });
    await eventually("both flushed segments served from files", async () => {
      const s = await stats();
      return s.segments === 2 && s.sealed_vector_bytes === 0;
    });
    await checkReads("after a second flush", true);
  });

  test("owner spill - after a restart the owner moves the segments it loads to files too", { timeout: TEST_TIMEOUT_MS }, async () => {
    await env.restart();
    await eventually("the reopened shard serves its segments from files", async () => {
      const s = await stats().catch(() => undefined);
      return s !== undefined && s.segments === 2 && s.sealed_vector_bytes === 0;
    });
    await checkReads("after a restart", true);
  });

  test("owner spill - a query node takes the segments over, dies, and the owner moves what it takes back to files again", { timeout: TEST_TIMEOUT_MS }, async () => {
    const nc = await env.connectAs("query", "query-spill");
    const cacheDir = tempDir("spill-qcache");
    const node = new QueryNode(await openContext(nc, new Names().prefix, "query-spill"), "query-spill", { cacheDir });
    await node.start();
    try {
      await eventually("both segments served by the query node", async () => (await stats()).served_by_query_nodes === 2);
      await checkReads("served by the query node", false);
      // No goodbye: the connection just goes, as when the process is killed.
      await closeConnection(nc);
      await eventually("both segments back in the owner, from files", async () => {
        const s = await stats();
        return s.served_by_query_nodes === 0 && s.segments === 2 && s.sealed_vector_bytes === 0;
      });
      await checkReads("taken back", true);
    } finally {
      await node.stop().catch(() => undefined);
      fs.rmSync(cacheDir, { recursive: true, force: true });
    }
  });
});
