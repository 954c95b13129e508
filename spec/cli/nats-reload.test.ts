// A reload of the serve's nats-server (what a user change through the Milvus
// front door waits for): it settles only once the server has applied the new
// config, so a user added just before may connect at once, and a config the
// server cannot read is reported, not taken for applied.
import assert from "node:assert/strict";
import fs from "node:fs";
import { test } from "node:test";
import { addApiUser, readAuth, writeAuth } from "../../cli/nats-auth.js";
import { renderServerConfig, startNatsServer } from "../../cli/nats-server.js";
import { DEFAULT_PREFIX } from "../../protocol/subjects.js";
import { connectNats } from "../../runtime/connection.js";
import { tempDir } from "../harness.js";

test("nats-server reload - settles once the server applied its config: a user added just before connects at once, 20 times in a row, also when added while an earlier reload runs; a config it cannot read is refused with its reason", { timeout: 60_000 }, async () => {
  const dataDir = tempDir("nats-reload");
  const nats = await startNatsServer({ dataDir, security: { prefixes: [DEFAULT_PREFIX], requireAuth: true } });
  try {
    for (let i = 0; i < 20; i++) {
      const auth = readAuth(dataDir)!;
      addApiUser(auth, `u${i}`, "readonly", DEFAULT_PREFIX, `secret-${i}`);
      writeAuth(dataDir, auth);
      renderServerConfig(dataDir, auth);
      await nats.reload();
      const nc = await connectNats(nats.url, "reload-test", { reconnectForever: false, auth: { user: `u${i}`, pass: `secret-${i}` } });
      await nc.close();
    }
    // A change made while an earlier reload runs is answered by a reload that read it, not by the earlier one.
    for (let i = 0; i < 20; i++) {
      const earlier = nats.reload();
      const auth = readAuth(dataDir)!;
      addApiUser(auth, `v${i}`, "readonly", DEFAULT_PREFIX, `secret-${i}`);
      writeAuth(dataDir, auth);
      renderServerConfig(dataDir, auth);
      await nats.reload();
      const nc = await connectNats(nats.url, "reload-test", { reconnectForever: false, auth: { user: `v${i}`, pass: `secret-${i}` } });
      await nc.close();
      await earlier;
    }
    fs.appendFileSync(renderServerConfig(dataDir, readAuth(dataDir)!), "authorization {\n");
    await assert.rejects(nats.reload(), /refused its new config/);
  } finally {
    await nats.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
});
