// A streaming node that joins takes shards over: the coordinator moves them
// one at a time (the owner flushes, the assignment names the new node at a
// new epoch) until the counts differ by one at most, while a client keeps
// inserting with acks and reading Strong. Checked against what the client
// did: no request failed, every Strong read found every row acked before
// it, and at the end every acked row is there exactly once.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { ServeProcess } from "../cli/serve-process.js";
import { startActorProcess, startEnv } from "../harness.js";
import { randomVectors } from "../random.js";
import { eventually, TEST_TIMEOUT_MS } from "../timeouts.js";

const DIM = 4;

test("shard balance - a streaming node that joins takes shards over while writes and Strong reads go on without an error", { timeout: TEST_TIMEOUT_MS }, async () => {
  const env = await startEnv({ tag: "shard-balance" });
  let joined: ServeProcess | undefined;
  try {
    const c = env.client;
    const name = "sb";
    await c.create_collection({ collection_name: name, dimension: DIM, metric_type: "L2", num_shards: 4 });
    const owners = async () => (await c.status()).shards.filter((s) => s.collection_name === name).map((s) => s.owner);
    assert.deepEqual(await owners(), ["test-streaming", "test-streaming", "test-streaming", "test-streaming"]);

    const acked: number[] = [];
    let next = 0;
    let running = true;
    const errors: string[] = [];
    const writer = (async () => {
      while (running) {
        const ids = Array.from({ length: 20 }, () => next++);
        try {
          await c.insert({ collection_name: name, data: randomVectors(ids.length, DIM, ids[0]).map((vector, i) => ({ id: ids[i], vector })) });
          acked.push(...ids);
        } catch (e) {
          errors.push(`insert: ${String(e)}`);
        }
        // Well under a query's 16384-row limit by the end.
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    const reader = (async () => {
      while (running) {
        const before = new Set(acked);
        try {
          const got = new Set((await c.query({ collection_name: name, filter: "id >= 0", output_fields: ["id"], limit: 16384, consistency_level: "Strong" })).map((r) => r.id as number));
          const missing = [...before].filter((id) => !got.has(id));
          if (missing.length > 0) errors.push(`a Strong read missed ${missing.length} acked rows`);
        } catch (e) {
          errors.push(`read: ${String(e)}`);
        }
        await new Promise((r) => setTimeout(r, 50));
      }
    })();

    joined = await startActorProcess(env, "streaming", "joined");
    await eventually("two shards on each node", async () => (await owners()).filter((o) => o === "joined-streaming").length === 2, 60_000);
    await new Promise((r) => setTimeout(r, 1_000));
    running = false;
    await Promise.all([writer, reader]);
    assert.deepEqual(errors, [], "every request succeeded and every Strong read saw every acked row");
    const all = (await c.query({ collection_name: name, filter: "id >= 0", output_fields: ["id"], limit: 16384, consistency_level: "Strong" })).map((r) => r.id as number);
    assert.equal(all.length, new Set(all).size, "no row twice");
    const got = new Set(all);
    assert.deepEqual(
      acked.filter((id) => !got.has(id)),
      [],
      "every acked row is there",
    );
    assert.ok(acked.length > 100, `only ${acked.length} rows were written during the moves`);
  } finally {
    await joined?.kill();
    await env.close();
  }
});
