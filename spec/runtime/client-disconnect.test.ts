// A request in flight when the client's connection drops gets no reply from
// NATS (its server is gone, the reply with it): the client fails it at once
// with UNAVAILABLE instead of waiting out its timeout (45 s by default: one
// lost request stalled the chaos test's writer that long).
import assert from "node:assert/strict";
import { test } from "node:test";
import { startNatsServer } from "../../cli/nats-server.js";
import { DEFAULT_PREFIX, Names } from "../../protocol/subjects.js";
import { VecbusClient } from "../../runtime/client.js";
import { closeConnection, connectNats } from "../../runtime/connection.js";
import { VecbusError } from "../../protocol/errors.js";
import { tempDir } from "../harness.js";
import { TEST_TIMEOUT_MS } from "../timeouts.js";

test("client - a request in flight when the connection drops fails at once with UNAVAILABLE, not at its timeout", { timeout: TEST_TIMEOUT_MS }, async () => {
  const nats = await startNatsServer({ dataDir: tempDir("client-drop"), security: "insecure" });
  const silent = await connectNats(nats.url, "silent", { reconnectForever: false });
  const client = await VecbusClient.connect(nats.url, { timeoutMs: 120_000 });
  try {
    // A responder that never answers: the request stays in flight.
    silent.subscribe(new Names(DEFAULT_PREFIX).apiSubject("list_collections"));
    await silent.flush();
    const started = Date.now();
    const pending = client.list_collections();
    await new Promise((r) => setTimeout(r, 300));
    nats.process.kill("SIGKILL");
    await assert.rejects(pending, (e: unknown) => e instanceof VecbusError && e.code === "UNAVAILABLE" && /dropped while the request was in flight/.test(e.message));
    assert.ok(Date.now() - started < 30_000, `failed after ${Date.now() - started} ms, not at the 120 s timeout`);
  } finally {
    await client.close().catch(() => undefined);
    await closeConnection(silent).catch(() => undefined);
    await nats.stop();
  }
});
