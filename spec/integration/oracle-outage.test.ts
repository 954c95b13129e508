// The coordinator (and with it the timestamp oracle) out of reach for a few
// seconds: inserts meanwhile fail, for want of a timestamp, and the ones
// after it comes back are acked again. Before the fix, a shard whose insert
// failed before its WAL append kept that insert's group open, so every later
// insert joined it and failed with the same old error, for good (found by
// the NATS-server kill test, where it happened in about one run of four).
import assert from "node:assert/strict";
import { test } from "node:test";
import { startActorProcess, startEnv } from "../harness.js";
import { eventually, TEST_TIMEOUT_MS } from "../timeouts.js";

test("oracle outage - inserts fail while the coordinator is stopped and are acked again once it resumes", { timeout: TEST_TIMEOUT_MS }, async () => {
  const env = await startEnv({ tag: "oracle-outage", roles: ["streaming", "data", "query", "proxy"] });
  const coordinator = await startActorProcess(env, "coordinator", "oracle");
  try {
    const c = env.client;
    await c.create_collection({ collection_name: "o", dimension: 2, num_shards: 1 });
    const row = (id: number) => ({ id, vector: [id, 1] });
    await c.insert({ collection_name: "o", data: [row(1)] });

    coordinator.child.kill("SIGSTOP");
    // Past the age at which a shard's window of timestamps is fetched again.
    await new Promise((r) => setTimeout(r, 200));
    await assert.rejects(c.insert({ collection_name: "o", data: [row(2)] }), "no timestamp while the oracle is stopped");
    coordinator.child.kill("SIGCONT");

    let acked = false;
    let last = "";
    await eventually("an insert acked after the coordinator resumed", async () => {
      acked = await c.insert({ collection_name: "o", data: [row(3)] }).then(
        () => true,
        (e: unknown) => ((last = String(e)), false),
      );
      return acked;
    }).catch((e: Error) => assert.fail(`${e.message}; last error: ${last}`));
    const got = await c.query({ collection_name: "o", filter: "id in [1, 3]", output_fields: ["id"], consistency_level: "Strong" });
    assert.deepEqual(got.map((r) => r.id).sort(), [1, 3]);
  } finally {
    coordinator.child.kill("SIGCONT");
    await coordinator.kill();
    await env.close();
  }
});
