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
  /** A user written to the users file and the server's config, reloaded, then connected as: NATS must take it at once. */
  const addThenConnect = async (user: string, reloading?: Promise<void>) => {
    const auth = readAuth(dataDir)!;
    addApiUser(auth, user, "readonly", DEFAULT_PREFIX, `secret-${user}`);
    writeAuth(dataDir, auth);
    renderServerConfig(dataDir, auth);
    await nats.reload();
    const nc = await connectNats(nats.url, "reload-test", { reconnectForever: false, auth: { user, pass: `secret-${user}` } });
    await nc.close();
    await reloading;
  };
  try {
    for (let i = 0; i < 20; i++) await addThenConnect(`u${i}`);
    // A change made while an earlier reload runs is answered by a reload that read it, not by the earlier one.
    for (let i = 0; i < 20; i++) await addThenConnect(`v${i}`, nats.reload());
    fs.appendFileSync(renderServerConfig(dataDir, readAuth(dataDir)!), "authorization {\n");
    await assert.rejects(nats.reload(), /refused its new config/);
  } finally {
    await nats.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
});
