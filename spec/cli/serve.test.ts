// `vecbus serve` killed with SIGKILL cannot stop its nats-server, which
// outlives it holding the port and the store. The next serve on the same
// data dir must find that orphan through the pid file, stop it, and start
// its own server on the same store: the rows written before are there.
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { freePort, stopOrphan } from "../../cli/nats-server.js";
import { alive } from "../../runtime/process-alive.js";
import { VecbusClient } from "../../runtime/client.js";
import { tempDir } from "../harness.js";
import { randomVectors } from "../random.js";
import { liveIds, range } from "../segments.js";
import { CLIENT_TIMEOUT_MS, TEST_TIMEOUT_MS } from "../timeouts.js";
import { startServe, type ServeProcess } from "./serve-process.js";

test("serve - a nats-server orphaned by a killed serve is stopped by the next serve on the same data dir", { timeout: TEST_TIMEOUT_MS }, async () => {
  const dataDir = tempDir("serve-orphan");
  const pidFile = path.join(dataDir, "nats-server.pid");
  const natsPid = () => Number(fs.readFileSync(pidFile, "utf8").trim());
  const port = await freePort();
  const args = ["--data", dataDir, "--port", String(port)];
  let serve: ServeProcess | undefined;
  let client: VecbusClient | undefined;
  try {
    serve = await startServe(args);
    client = await VecbusClient.connect(serve.url, { timeoutMs: CLIENT_TIMEOUT_MS });
    await client.create_collection({ collection_name: "orphan", dimension: 4, metric_type: "L2" });
    await client.insert({ collection_name: "orphan", data: randomVectors(20, 4, 3).map((vector, id) => ({ id, vector })) });
    await client.close();
    client = undefined;

    const orphan = natsPid();
    await serve.kill();
    assert.ok(alive(orphan), "the killed serve's nats-server is left running");

    // Same port and store: this serve cannot start unless the orphan is gone.
    serve = await startServe(args);
    assert.equal(serve.url, `nats://127.0.0.1:${port}`);
    assert.ok(!alive(orphan), "the orphaned nats-server was stopped");
    const fresh = natsPid();
    assert.notEqual(fresh, orphan);
    assert.ok(alive(fresh));
    client = await VecbusClient.connect(serve.url, { timeoutMs: CLIENT_TIMEOUT_MS });
    assert.deepEqual(await liveIds(client, "orphan"), range(0, 20), "the new server runs on the old store");
    await client.close();
    client = undefined;

    serve.child.kill("SIGTERM");
    assert.equal(await serve.exited, 0, serve.stderr());
    assert.ok(!alive(fresh), "a serve that stops cleanly stops its nats-server");
  } finally {
    await client?.close().catch(() => undefined);
    await serve?.kill();
    await stopOrphan(pidFile);
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
});
