// load_collection, get_load_state and release_collection as the README
// states them: Loading with the percent of placed rows loaded while a query
// node has not loaded every placed segment, load_collection giving up with
// TIMEOUT after its `timeout`, Loaded once every segment is in; a released
// collection refuses every read and delete-by-filter with
// COLLECTION_NOT_LOADED while writes go on, and loading it again serves them.
//
// The query node is held back by making its cache directory unusable (a file
// stands where the directory was), so it cannot download a newly placed
// segment until the directory is put back: Loading lasts as long as the test
// wants, with no timing involved.
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import type { Row } from "../../protocol/rows.js";
import { VecbusClient } from "../../runtime/client.js";
import { rejectsWith } from "../assert.js";
import { startEnv, type TestEnv } from "../harness.js";
import { randomVectors } from "../random.js";
import { eventually, TEST_TIMEOUT_MS } from "../timeouts.js";

const DIM = 4;
const C = "lr";

// Seeded by `from`: the test regenerates each batch with the same arguments it was inserted with.
function rows(from: number, count: number): Row[] {
  return randomVectors(count, DIM, from + 3).map((vector, i) => ({ id: from + i, vector, n: from + i }));
}

async function count(c: VecbusClient): Promise<number> {
  return (await c.query({ collection_name: C, filter: "id >= 0", output_fields: ["count(*)"], consistency_level: "Strong" }))[0]["count(*)"] as number;
}

async function sealedServedByQueryNode(c: VecbusClient): Promise<number> {
  const sealed = (await c.status()).segments.filter((g) => g.collection_name === C && g.segment_id !== null);
  return sealed.every((g) => /^query \S+$/.test(g.served_by)) ? sealed.length : 0;
}

describe("load and release", () => {
  let env: TestEnv;
  before(async () => {
    // No idle seal: the test decides where segments end, so it knows the rows of each.
    env = await startEnv({ tag: "load-release", seal: { sealIdleMs: 600_000 } });
  });
  after(async () => env?.close());

  test("load - Loading with the percent of placed rows loaded, TIMEOUT after `timeout`, Loaded once every segment is in", { timeout: TEST_TIMEOUT_MS }, async () => {
    const c = env.client;
    await c.create_collection({ collection_name: C, dimension: DIM, metric_type: "L2" });
    await c.insert({ collection_name: C, data: rows(0, 300) });
    await c.flush({ collection_name: C });
    await eventually("the first segment served by the query node", async () => (await sealedServedByQueryNode(c)) === 1);
    assert.deepEqual(await c.get_load_state({ collection_name: C }), { state: "Loaded", progress: 100 });

    const cache = path.join(env.dataDir, "query-cache");
    fs.renameSync(cache, `${cache}.away`);
    fs.writeFileSync(cache, "not a directory");
    try {
      await c.insert({ collection_name: C, data: rows(300, 100) });
      await c.flush({ collection_name: C });
      // 300 of the 400 placed rows are loaded.
      await eventually("the second segment placed and not loaded", async () => (await c.get_load_state({ collection_name: C })).state === "Loading");
      assert.deepEqual(await c.get_load_state({ collection_name: C }), { state: "Loading", progress: 75 });
      await rejectsWith(c.load_collection({ collection_name: C, timeout: 1 }), "TIMEOUT", /still loading \(75%\) after 1 s/);
      // A client whose own timeout is shorter than the load's still hears the proxy's answer: it waits the load's timeout longer.
      const impatient = await VecbusClient.connect(env.nats.url, { timeoutMs: 500 });
      try {
        await rejectsWith(impatient.load_collection({ collection_name: C, timeout: 2 }), "TIMEOUT", /still loading \(75%\) after 2 s/);
      } finally {
        await impatient.close();
      }
      assert.deepEqual(await c.get_load_state({ collection_name: C }), { state: "Loading", progress: 75 });
      // Meanwhile the shard owner serves the segment the query node lacks.
      assert.equal(await count(c), 400);
    } finally {
      fs.rmSync(cache, { force: true });
      fs.renameSync(`${cache}.away`, cache);
    }
    assert.deepEqual(await c.load_collection({ collection_name: C }), { state: "Loaded", progress: 100 });
    assert.deepEqual(await c.get_load_state({ collection_name: C }), { state: "Loaded", progress: 100 });
    assert.equal(await sealedServedByQueryNode(c), 2);
    assert.equal(await count(c), 400);
  });

  test("release - every read and delete-by-filter is refused, writes go on, load serves them", { timeout: TEST_TIMEOUT_MS }, async () => {
    const c = env.client;
    const [q] = randomVectors(1, DIM, 99);
    assert.deepEqual(await c.release_collection({ collection_name: C }), { state: "NotLoad", progress: 0 });
    assert.deepEqual(await c.get_load_state({ collection_name: C }), { state: "NotLoad", progress: 0 });

    const refused = /not loaded; load it with load_collection/;
    await rejectsWith(c.search({ collection_name: C, data: [q], limit: 3 }), "COLLECTION_NOT_LOADED", refused);
    await rejectsWith(c.hybrid_search({ collection_name: C, reqs: [{ data: [q], anns_field: "vector", limit: 3 }], limit: 3 }), "COLLECTION_NOT_LOADED", refused);
    await rejectsWith(c.query({ collection_name: C, filter: "id >= 0" }), "COLLECTION_NOT_LOADED", refused);
    await rejectsWith(c.get({ collection_name: C, ids: [1] }), "COLLECTION_NOT_LOADED", refused);
    await rejectsWith(c.delete({ collection_name: C, filter: "n < 10" }), "COLLECTION_NOT_LOADED", refused);

    // Writes go on: an insert, and deletes by id (one row of each segment, one of the growing rows just written).
    await c.insert({ collection_name: C, data: rows(1000, 5) });
    assert.equal((await c.delete({ collection_name: C, ids: [7, 350, 1002, 5000] })).delete_count, 3);

    assert.deepEqual(await c.load_collection({ collection_name: C }), { state: "Loaded", progress: 100 });
    assert.equal(await count(c), 400 + 5 - 3);
    assert.deepEqual(await c.get({ collection_name: C, ids: [6, 7, 350, 1001, 1002], output_fields: ["n"], consistency_level: "Strong" }), [
      { id: 6, n: 6 },
      { id: 1001, n: 1001 },
    ]);
    const live = [...rows(0, 300), ...rows(300, 100), ...rows(1000, 5)].filter((r) => ![7, 350, 1002].includes(r.id as number));
    const exact = live
      .map((r) => ({ id: r.id as number, d: (r.vector as number[]).reduce((s, x, k) => s + (x - q[k]) ** 2, 0) }))
      .sort((a, b) => a.d - b.d || a.id - b.id)
      .slice(0, 3);
    const [hits] = await c.search({ collection_name: C, data: [q], limit: 3, consistency_level: "Strong" });
    assert.deepEqual(
      hits.map((h) => h.id),
      exact.map((e) => e.id),
    );
    assert.deepEqual(await c.query({ collection_name: C, filter: "n < 10", output_fields: ["count(*)"], consistency_level: "Strong" }), [{ "count(*)": 9 }]);
  });
});
