// A dead process is told from a stalled one by its node subject: nats-server
// drops a closed connection's subscriptions at once, so a ping finds no
// responder; a process that is alive but not answering still has them. The
// coordinator ends the session of a dead one itself instead of waiting for
// its key to expire.
import assert from "node:assert/strict";
import { test } from "node:test";
import { Kvm } from "@nats-io/kv";
import { SessionKey } from "../../protocol/subjects.js";
import { closeConnection } from "../../runtime/connection.js";
import { processGone } from "../../runtime/liveness.js";
import { Empty } from "@nats-io/transport-node";
import type { ServeProcess } from "../cli/serve-process.js";
import { startActorProcess, startEnv } from "../harness.js";
import { eventually, TEST_TIMEOUT_MS } from "../timeouts.js";

test("liveness - a ping finds no responder once the answering connection is closed, and a silent but subscribed one is not gone", { timeout: TEST_TIMEOUT_MS }, async () => {
  const env = await startEnv({ roles: "none", tag: "ping" });
  try {
    const answering = await env.connectAs("query", "answering");
    // Any answer will do: what processGone looks at is whether the server has a responder.
    answering.subscribe("vecbus.int.node.query.a", { callback: (_e, m) => void m.respond(Empty) });
    const silent = await env.connectAs("query", "silent");
    silent.subscribe("vecbus.int.node.query.s");
    await Promise.all([answering.flush(), silent.flush()]);
    const prober = await env.connectAs("coordinator", "prober");
    try {
      assert.equal(await processGone(prober, "vecbus.int.node.query.a"), false);
      assert.equal(await processGone(prober, "vecbus.int.node.query.s"), false, "a stalled process (subscribed, not answering) is not gone");
      assert.equal(await processGone(prober, "vecbus.int.node.query.nobody"), true);
      await closeConnection(answering);
      assert.equal(await processGone(prober, "vecbus.int.node.query.a"), true);
    } finally {
      await closeConnection(silent);
      await closeConnection(prober);
    }
  } finally {
    await env.close();
  }
});

test("liveness - the coordinator ends the session of a SIGKILLed process itself (a delete, not an expiry) and moves its shards", { timeout: TEST_TIMEOUT_MS }, async () => {
  const env = await startEnv({ tag: "gone" });
  let doomed: ServeProcess | undefined;
  try {
    doomed = await startActorProcess(env, "streaming", "doomed");
    await env.client.create_collection({ collection_name: "g", dimension: 2, num_shards: 2 });
    assert.ok((await env.client.status()).shards.some((s) => s.owner === "doomed-streaming"));
    await doomed.kill();
    const sessions = await new Kvm(env.admin).open("vecbus_sessions");
    // An expired key reads as absent; one the coordinator deleted reads as a delete.
    await eventually("the coordinator to end the dead process's session", async () => (await sessions.get(SessionKey.node("streaming", "doomed-streaming")))?.operation === "DEL");
    await eventually("the dead process's shards to move", async () => (await env.client.status()).shards.every((s) => s.owner === "test-streaming"));
  } finally {
    await doomed?.kill();
    await env.close();
  }
});
