// Consistency levels: every read carries a guarantee timestamp and a shard
// answers only once it has applied every write below it.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { Names } from "../../protocol/subjects.js";
import { composeTs } from "../../protocol/timestamp.js";
import { request } from "../../runtime/rpc.js";
import { VecbusClient } from "../../runtime/client.js";
import { rejectsWith } from "../assert.js";
import { startEnv, type TestEnv } from "../harness.js";
import { CLIENT_TIMEOUT_MS } from "../timeouts.js";

describe("consistency", () => {
  let env: TestEnv;
  before(async () => {
    env = await startEnv({ tag: "consistency" });
    await env.client.create_collection({ collection_name: "c", dimension: 2, num_shards: 4, consistency_level: "Strong" } as never);
  });
  after(async () => {
    await env.close();
  });

  // A write is applied before it is acked, so this read sees it at any level; the wait itself is exercised below.
  test("consistency - read-your-writes at Strong on every shard", async () => {
    const c = env.client;
    for (let i = 0; i < 40; i++) {
      await c.insert({ collection_name: "c", data: [{ id: i, vector: [i, 1] }] });
      const rows = await c.call("query", { collection_name: "c", filter: `id == ${i}`, consistency_level: "Strong", output_fields: ["id"] });
      assert.deepEqual(rows, [{ id: i }]);
    }
    const shards = (await c.status()).shards.filter((s) => s.collection_name === "c");
    assert.ok(shards.every((s) => (s.row_count ?? 0) > 0), "the writes spread over all 4 shards");
    assert.equal((await c.describe_collection({ collection_name: "c" })).consistency_level, "Strong");
  });

  test("consistency - Session reads see the client's own write; a guarantee far ahead of the clock is refused at once, not waited for", async () => {
    const writer = await VecbusClient.connect(env.nats.url, { timeoutMs: CLIENT_TIMEOUT_MS });
    try {
      const r = await writer.insert({ collection_name: "c", data: [{ id: 1000, vector: [0, 0] }] });
      assert.ok(r.timestamp > 0n);
      const seen = await writer.call("get", { collection_name: "c", ids: [1000], consistency_level: "Session", output_fields: ["id"] });
      assert.deepEqual(seen, [{ id: 1000 }]);
      // The attack: 2^63, which held a shard slot for the whole wait. Refused by the proxy, before any shard.
      for (const far of [composeTs(Date.now() + 60_000, 0), 1n << 63n]) {
        await rejectsWith(
          writer.call("get", { collection_name: "c", ids: [1000], consistency_level: "Session", guarantee_timestamp: far }),
          "INVALID_ARGUMENT",
          /guarantee_timestamp is \d+ ms ahead of the clock \(at most 10000 milliseconds/,
        );
      }
    } finally {
      await writer.close();
    }
  });

  test("consistency - a read whose guarantee is above the shard's applied timestamp waits for a write below it, then sees it", async () => {
    const writer = await VecbusClient.connect(env.nats.url, { timeoutMs: CLIENT_TIMEOUT_MS });
    try {
      for (let attempt = 1; ; attempt++) {
        const id = 9000 + attempt;
        // Above every timestamp the oracle hands out for the next 3 s (the shard waits up to 5 s): the shard may answer
        // only once its applied timestamp passed it, so every write issued before then must be in the answer.
        const guarantee = composeTs(Date.now() + 3_000, 0);
        const events: string[] = [];
        const read = env.client
          .call("get", { collection_name: "c", ids: [id], consistency_level: "Session", guarantee_timestamp: guarantee, output_fields: ["id"] })
          .finally(() => events.push("read answered"));
        // Not an assertion: time for the read to reach the shard, so the write below arrives while the read waits.
        await new Promise((r) => setTimeout(r, 300));
        const w = await writer.insert({ collection_name: "c", data: [{ id, vector: [0, 1] }] });
        events.push("insert acked");
        const rows = await read;
        // A machine so loaded that the write got a timestamp past the guarantee proves nothing either way: try again.
        if (w.timestamp >= guarantee && attempt < 3) continue;
        assert.ok(w.timestamp < guarantee, `the write's timestamp ${w.timestamp} is below the read's guarantee ${guarantee}`);
        assert.deepEqual(rows, [{ id }], "the read sees the write applied while it waited");
        assert.deepEqual(events, ["insert acked", "read answered"], "the read answered only after the write was acked");
        return;
      }
    } finally {
      await writer.close();
    }
  });

  test("consistency - reads waiting for their guarantee hold no request slot: a write behind 64 of them is answered first", async () => {
    const c = env.client;
    await c.create_collection({ collection_name: "one", dimension: 2, num_shards: 1 });
    const { collection_id } = await c.describe_collection({ collection_name: "one" });
    // Straight to the shard, as the proxy sends reads: more waiting reads than the shard's 32 request slots.
    const guarantee = composeTs(Date.now() + 3_000, 0);
    let readsDone = 0;
    const reads = Array.from({ length: 64 }, () =>
      request(env.admin, new Names().shardSubject(collection_id, 0, 1), { kind: "get", ids: [7], output_fields: [], guarantee_ts: guarantee }, CLIENT_TIMEOUT_MS).then((rows) => {
        readsDone++;
        return rows;
      }),
    );
    await c.insert({ collection_name: "one", data: [{ id: 7, vector: [1, 1] }] });
    assert.equal(readsDone, 0, "the write was answered only after a waiting read: it waited for a request slot");
    // Each read waited for its guarantee, which is above the write's timestamp: each sees the row.
    assert.deepEqual(await Promise.all(reads), Array.from({ length: 64 }, () => [{ id: 7 }]));
  });

  test("consistency - Bounded and Eventually reads ignore a guarantee timestamp (one Session would refuse)", async () => {
    const c = env.client;
    const future = composeTs(Date.now() + 60_000, 0);
    for (const level of ["Bounded", "Eventually"]) {
      const rows = await c.call("query", { collection_name: "c", filter: "id < 3", consistency_level: level, guarantee_timestamp: future, output_fields: ["id"] });
      assert.deepEqual(
        rows.map((r) => r.id),
        [0, 1, 2],
        level,
      );
    }
    await rejectsWith(c.call("query", { collection_name: "c", filter: "id < 3", consistency_level: "Sometimes" }), "INVALID_ARGUMENT");
  });

  test("consistency - an upsert replaces a row atomically: readers never see 0 or 2 copies", async () => {
    const c = env.client;
    await c.insert({ collection_name: "c", data: [{ id: 5000, vector: [0, 0], version: 0 }] });
    let stop = false;
    const seen: number[] = [];
    const versions = new Set<number>();
    const readers = Array.from({ length: 4 }, async () => {
      while (!stop) {
        const rows = await c.query({ collection_name: "c", filter: "id == 5000", output_fields: ["version"], consistency_level: "Eventually" });
        seen.push(rows.length);
        if (rows.length !== 1) return;
        versions.add(rows[0].version as number);
      }
    });
    for (let v = 1; v <= 100; v++) await c.upsert({ collection_name: "c", data: [{ id: 5000, vector: [v, v], version: v }] });
    stop = true;
    await Promise.all(readers);
    assert.ok(seen.every((n) => n === 1), `copies seen: ${[...new Set(seen)]}`);
    // Otherwise the reads did not overlap the upserts and the check above proved nothing.
    assert.ok(versions.size > 2, `the readers saw the row change while the upserts ran (versions seen: ${[...versions].sort((a, b) => a - b)})`);
    assert.deepEqual(await c.get({ collection_name: "c", ids: [5000], output_fields: ["version"] }), [{ id: 5000, version: 100 }]);
  });
});
