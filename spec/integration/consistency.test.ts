// Consistency levels: every read carries a guarantee timestamp and a shard
// answers only once it has applied every write below it.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { VecbusError } from "../../protocol/errors.js";
import { composeTs } from "../../protocol/timestamp.js";
import { VecbusClient } from "../../runtime/client.js";
import { startEnv, type TestEnv } from "../harness.js";

describe("consistency", () => {
  let env: TestEnv;
  before(async () => {
    env = await startEnv({ tag: "consistency" });
    await env.client.create_collection({ collection_name: "c", dimension: 2, num_shards: 4, consistency_level: "Strong" } as never);
  });
  after(async () => {
    await env.close();
  });

  test("consistency - a Strong read right after each write sees it, on every shard", async () => {
    const c = env.client;
    for (let i = 0; i < 40; i++) {
      await c.insert({ collection_name: "c", data: [{ id: i, vector: [i, 1] }] });
      const rows = await c.call("query", { collection_name: "c", filter: `id == ${i}`, consistency_level: "Strong", output_fields: [] });
      assert.deepEqual(rows, [{ id: i }]);
    }
    const shards = (await c.status()).shards.filter((s) => s.collection_name === "c");
    assert.ok(shards.every((s) => (s.row_count ?? 0) > 0), "the writes spread over all 4 shards");
    assert.equal((await c.describe_collection({ collection_name: "c" })).consistency_level, "Strong");
  });

  test("consistency - Session reads wait for the client's own newest write", async () => {
    const writer = await VecbusClient.connect(env.nats.url);
    try {
      const r = await writer.insert({ collection_name: "c", data: [{ id: 1000, vector: [0, 0] }] });
      const seen = await writer.call("get", { collection_name: "c", ids: [1000], consistency_level: "Session", output_fields: [] });
      assert.deepEqual(seen, [{ id: 1000 }]);
      // An explicit guarantee far ahead of any write cannot be met: the read says so instead of answering stale.
      const future = composeTs(Date.now() + 60_000, 0);
      await assert.rejects(
        writer.call("get", { collection_name: "c", ids: [1000], consistency_level: "Session", guarantee_timestamp: future }),
        (e: unknown) => e instanceof VecbusError && e.code === "TIMEOUT" && /guarantee timestamp/.test(e.message),
      );
      assert.ok(r.timestamp > 0n);
    } finally {
      await writer.close();
    }
  });

  test("consistency - Bounded and Eventually answer without waiting for new writes", async () => {
    const c = env.client;
    for (const level of ["Bounded", "Eventually"]) {
      const t = Date.now();
      const rows = await c.call("query", { collection_name: "c", filter: "id < 3", consistency_level: level, output_fields: [] });
      assert.equal(rows.length, 3, level);
      assert.ok(Date.now() - t < 5_000, level);
    }
    await assert.rejects(c.call("query", { collection_name: "c", filter: "id < 3", consistency_level: "Sometimes" }), (e: unknown) => e instanceof VecbusError && e.code === "INVALID_ARGUMENT");
  });

  test("consistency - an upsert replaces a row atomically: readers never see 0 or 2 copies", async () => {
    const c = env.client;
    await c.insert({ collection_name: "c", data: [{ id: 5000, vector: [0, 0], version: 0 }] });
    let stop = false;
    const seen: number[] = [];
    const readers = Array.from({ length: 4 }, async () => {
      while (!stop) {
        const rows = await c.query({ collection_name: "c", filter: "id == 5000", output_fields: ["version"], consistency_level: "Eventually" });
        seen.push(rows.length);
        if (rows.length !== 1) return;
      }
    });
    for (let v = 1; v <= 100; v++) await c.upsert({ collection_name: "c", data: [{ id: 5000, vector: [v, v], version: v }] });
    stop = true;
    await Promise.all(readers);
    assert.ok(seen.length > 50, `readers ran concurrently (${seen.length} reads)`);
    assert.ok(seen.every((n) => n === 1), `copies seen: ${[...new Set(seen)]}`);
    assert.deepEqual(await c.get({ collection_name: "c", ids: [5000], output_fields: ["version"] }), [{ id: 5000, version: 100 }]);
  });
});
