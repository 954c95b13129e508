// The coordinator is a single leader by lease: when its process dies, a
// standby takes the lease over and the oracle continues above every
// timestamp handed out before.
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";
import { test } from "node:test";
import { startEnv } from "../harness.js";

const ROOT = path.resolve(import.meta.dirname, "../..");

function coordinator(url: string, id: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, ["--import", "tsx", "cli/main.ts", "start", "coordinator", "--nats-url", url, "--node-id", id], {
    cwd: ROOT,
    stdio: ["ignore", "pipe", "inherit"],
    env: { ...process.env, VECBUS_LOG: "warn" },
  });
  return new Promise((resolve, reject) => {
    child.stdout!.on("data", (d) => String(d).includes("ready") && resolve(child));
    child.once("exit", (code) => reject(new Error(`coordinator ${id} exited with ${code}`)));
  });
}

test("coordinator failover - a standby takes the lease and timestamps keep increasing", { timeout: 90_000 }, async () => {
  const env = await startEnv({ tag: "coord", roles: ["streaming", "data", "proxy"] });
  const children: ChildProcess[] = [];
  try {
    const first = await coordinator(env.nats.url, "first");
    children.push(first);
    const c = env.client;
    await c.create_collection({ collection_name: "k", dimension: 2, num_shards: 2 });
    children.push(await coordinator(env.nats.url, "second"));
    const before = await c.insert({ collection_name: "k", data: [{ id: 1, vector: [1, 1] }] });

    first.kill("SIGKILL");
    // Let the server see the connection go: a request already on its way to the dead leader would just time out.
    await new Promise((r) => setTimeout(r, 500));
    // DDL needs the coordinator: it succeeds once the standby holds the lease (the client retries NOT_LEADER/UNAVAILABLE).
    const deadline = Date.now() + 30_000;
    for (;;) {
      try {
        await c.create_collection({ collection_name: "k2", dimension: 2 });
        break;
      } catch (e) {
        const code = (e as { code?: string }).code;
        if (!(code === "UNAVAILABLE" || code === "NOT_LEADER" || code === "TIMEOUT") || Date.now() > deadline) throw e;
        await new Promise((r) => setTimeout(r, 250));
      }
    }
    const status = await c.status();
    assert.ok(status.nodes.some((n) => n.role === "coordinator" && n.node_id === "second-coordinator"));
    // Timestamps come from the new leader's oracle, above the old leader's window.
    await new Promise((r) => setTimeout(r, 200));
    const after = await c.insert({ collection_name: "k", data: [{ id: 2, vector: [2, 2] }] });
    assert.ok(after.timestamp > before.timestamp, `${after.timestamp} > ${before.timestamp}`);
    assert.deepEqual(await c.get_collection_stats({ collection_name: "k" }), { row_count: 2 });
  } finally {
    for (const ch of children) ch.kill("SIGKILL");
    await env.close();
  }
});
