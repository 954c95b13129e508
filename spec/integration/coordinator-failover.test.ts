// The coordinator is a single leader by lease: when its process dies, a
// standby takes the lease over and the oracle continues above every
// timestamp the old leader could have handed out.
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";
import { test } from "node:test";
import { Kvm } from "@nats-io/kv";
import { MetaKey } from "../../protocol/subjects.js";
import { physicalOf } from "../../protocol/timestamp.js";
import { MetaStore } from "../../storage/meta-store.js";
import { startEnv } from "../harness.js";
import { eventually, TEST_TIMEOUT_MS } from "../timeouts.js";

const ROOT = path.resolve(import.meta.dirname, "../..");

/** `vecbus start coordinator` on the serve's host: no credential flags, so it takes the coordinator's user from the data dir. */
function coordinator(url: string, dataDir: string, id: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, ["--import", "tsx", "cli/main.ts", "start", "coordinator", "--server", url, "--data", dataDir, "--node-id", id], {
    cwd: ROOT,
    stdio: ["ignore", "pipe", "inherit"],
    env: { ...process.env, VECBUS_LOG: "warn" },
  });
  return new Promise((resolve, reject) => {
    child.stdout!.on("data", (d) => String(d).includes("ready") && resolve(child));
    child.once("exit", (code) => reject(new Error(`coordinator ${id} exited with ${code}`)));
  });
}

test("coordinator failover - a standby takes the lease and continues timestamps above the old leader's persisted bound", { timeout: TEST_TIMEOUT_MS }, async () => {
  const env = await startEnv({ tag: "coord", roles: ["streaming", "data", "proxy"] });
  const children: ChildProcess[] = [];
  try {
    const first = await coordinator(env.nats.url, env.dataDir, "first");
    children.push(first);
    const c = env.client;
    await c.create_collection({ collection_name: "k", dimension: 2, num_shards: 2 });
    children.push(await coordinator(env.nats.url, env.dataDir, "second"));
    const before = await c.insert({ collection_name: "k", data: [{ id: 1, vector: [1, 1] }] });

    // The handover takes longer than the 3 s the bound normally runs ahead of the clock, so the clock alone would
    // carry the new leader past the old one's timestamps. A bound two minutes ahead (as the old leader could have
    // persisted under clock skew) can only be passed by reading it.
    const meta = new MetaStore(await new Kvm(env.admin).open("vecbus_meta"));
    const raised = Date.now() + 120_000;
    await meta.casUpdate<{ bound: number }>(MetaKey.tso, (cur) => ({ bound: Math.max(raised, cur?.bound ?? 0) }));
    assert.ok(physicalOf(before.timestamp) < raised);

    first.kill("SIGKILL");
    // Let the server see the connection go: a request already on its way to the dead leader would just time out.
    await new Promise((r) => setTimeout(r, 500));
    // DDL needs the coordinator: it succeeds once the standby holds the lease.
    await eventually("the standby to take the lease and create a collection", async () => {
      try {
        await c.create_collection({ collection_name: "k2", dimension: 2 });
        return true;
      } catch (e) {
        const code = (e as { code?: string }).code;
        // A create whose reply was lost in the handover may have happened.
        if (code === "COLLECTION_ALREADY_EXISTS") return true;
        if (code === "UNAVAILABLE" || code === "NOT_LEADER" || code === "TIMEOUT") return false;
        throw e;
      }
    });
    const status = await c.status();
    assert.ok(status.nodes.some((n) => n.role === "coordinator" && n.node_id === "second-coordinator"));
    // The streaming node's timestamp windows last 50 ms, so this write's timestamp comes from the new leader's oracle.
    const after = await c.insert({ collection_name: "k", data: [{ id: 2, vector: [2, 2] }] });
    assert.ok(physicalOf(after.timestamp) > raised, `new leader's physical ${physicalOf(after.timestamp)} > old leader's bound ${raised}`);
    assert.ok((await meta.get<{ bound: number }>(MetaKey.tso))!.value.bound > raised, "the persisted bound never goes down");
    assert.deepEqual((await c.get({ collection_name: "k", ids: [1, 2], output_fields: ["id"] })).map((r) => r.id).sort(), [1, 2]);
  } finally {
    for (const ch of children) ch.kill("SIGKILL");
    await env.close();
  }
});
