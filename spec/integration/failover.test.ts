// A streaming node process dies (SIGKILL): its session expires, the
// coordinator hands its shards to a live node with a higher epoch, the new
// owner replays the WAL, and every acked row is served again.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import path from "node:path";
import { test } from "node:test";
import { jetstreamManager } from "@nats-io/jetstream";
import { decode } from "../../runtime/codec.js";
import { randomVectors } from "../random.js";
import { startEnv } from "../harness.js";

const ROOT = path.resolve(import.meta.dirname, "../..");

test("failover - shards of a killed streaming node move to a live one", { timeout: 90_000 }, async () => {
  const env = await startEnv({ tag: "failover" });
  const child = spawn(process.execPath, ["--import", "tsx", "cli/main.ts", "start", "streaming", "--nats-url", env.nats.url, "--node-id", "doomed"], {
    cwd: ROOT,
    stdio: ["ignore", "pipe", "inherit"],
    env: { ...process.env, VECBUS_LOG: "warn" },
  });
  try {
    await new Promise<void>((resolve, reject) => {
      let out = "";
      child.stdout!.on("data", (d) => {
        out += d;
        if (out.includes("ready")) resolve();
      });
      child.once("exit", (code) => reject(new Error(`streaming node exited with ${code}`)));
    });
    const c = env.client;
    await c.create_collection({ collection_name: "f", dimension: 4, metric_type: "L2", num_shards: 4 });
    const owners = (await c.status()).shards.filter((s) => s.collection_name === "f").map((s) => s.owner);
    assert.ok(owners.includes("doomed-streaming") && owners.includes("test-streaming"), `shards spread over both nodes: ${owners}`);
    const vecs = randomVectors(400, 4, 9);
    await c.insert({ collection_name: "f", data: vecs.map((v, i) => ({ id: i, vector: v })) });
    await c.delete({ collection_name: "f", ids: [0, 1, 2, 3] });

    child.kill("SIGKILL");
    // The proxy waits out the ownerless shards; the answer is complete once they moved.
    const rows = await c.query({ collection_name: "f", filter: "id >= 0", limit: 1000 });
    assert.equal(rows.length, 396);
    const after = (await c.status()).shards.filter((s) => s.collection_name === "f");
    assert.ok(after.every((s) => s.owner === "test-streaming"));
    const moved = after.filter((s) => s.epoch === 2);
    assert.ok(moved.length > 0, "moved shards carry a higher epoch");
    // The new owner claimed each moved shard's log: the old owner's next append would be fenced.
    const jsm = await jetstreamManager(c.nc);
    for (const s of moved) {
      const last = await jsm.direct.getMessage(s.wal_stream, { last_by_subj: `vecbus.wal.${s.wal_stream.split("_")[2]}.${s.shard}` });
      assert.deepEqual(decode(last!.data), { kind: "fence", ts: (decode(last!.data) as { ts: unknown }).ts, epoch: 2 });
    }
    await c.insert({ collection_name: "f", data: [{ id: 1000, vector: [1, 1, 1, 1] }] });
    assert.deepEqual(await c.get_collection_stats({ collection_name: "f" }), { row_count: 397 });
  } finally {
    child.kill("SIGKILL");
    await env.close();
  }
});
