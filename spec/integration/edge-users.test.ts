// An edge site's own API users (`vecbus user create --data SITE-DATA`): they
// get their role's methods at the site, the hub does not know them (nor the
// site the hub's), replies meant for the hub's clients never reach a client
// at the site (anonymous clients share `_INBOX`, and users of one name share
// an inbox prefix), and `vecbus edge --require-auth` refuses clients without
// credentials. What each read must return is what the test wrote at the hub.
import assert from "node:assert/strict";
import path from "node:path";
import { test } from "node:test";
import { freePort, stopOrphan } from "../../cli/nats-server.js";
import { createUser } from "../../cli/users.js";
import type { Row } from "../../protocol/rows.js";
import { VecbusClient } from "../../runtime/client.js";
import { closeConnection, connectNats } from "../../runtime/connection.js";
import { rejectsWith, subscribeRefused } from "../assert.js";
import { startVecbus, type ServeProcess } from "../cli/serve-process.js";
import { startEnv, tempDir } from "../harness.js";
import { randomVectors } from "../random.js";
import { CLIENT_TIMEOUT_MS, eventually, TEST_TIMEOUT_MS } from "../timeouts.js";

const DIM = 8;
const NAME = "shelf";

/** A client of a named user, once the server has reloaded its config with that user. */
async function connectAs(url: string, user: string, pass: string): Promise<VecbusClient> {
  let c: VecbusClient | null = null;
  await eventually(`${user} can connect to ${url}`, async () => (c = await VecbusClient.connect(url, { timeoutMs: CLIENT_TIMEOUT_MS, auth: { user, pass } }).catch(() => null)) !== null);
  return c!;
}

test("edge users - a site's API users get their roles' methods; replies stay on their side of the leaf link; --require-auth refuses clients without credentials", { timeout: TEST_TIMEOUT_MS }, async () => {
  const env = await startEnv({ tag: "edge-users-hub", leafnodes: { port: await freePort() } });
  const siteDir = tempDir("edge-users-site");
  const port = await freePort();
  const startSite = (extra: string[]) => startVecbus(["edge", "--data", siteDir, "--port", String(port), "--site", "s1", ...extra], { VECBUS_HUB_URL: env.nats.leafUrl! });
  let site: ServeProcess | undefined;
  const closers: (() => Promise<unknown>)[] = [];
  try {
    const vectors = randomVectors(40, DIM, 11);
    const rows: Row[] = vectors.map((vector, id) => ({ id, vector }));
    await env.client.create_collection({ collection_name: NAME, dimension: DIM, metric_type: "L2" });
    await env.client.insert({ collection_name: NAME, data: rows });
    const ids = async (c: VecbusClient) =>
      (await c.query({ collection_name: NAME, filter: "id >= 0", output_fields: ["id"], limit: 100, consistency_level: "Bounded" })).map((r) => Number(r.id)).sort((a, b) => a - b);
    const written = rows.map((r) => Number(r.id));

    site = await startSite([]);
    const reader = createUser(siteDir, "reader", "readonly");
    assert.ok(reader.reloaded, "vecbus user at a site reloads the site's NATS server");
    const r = await connectAs(site.url, "reader", reader.password);
    closers.push(() => r.close());
    await eventually("the site's reader to read every row the hub took", async () => JSON.stringify(await ids(r)) === JSON.stringify(written));
    await rejectsWith(r.insert({ collection_name: NAME, data: [{ id: 100, vector: vectors[0] }] }), "PERMISSION_DENIED", /insert/);
    await subscribeRefused(r.nc, "_INBOX.>");

    // The hub has a user of the same name, with another password and role: each side knows only its own.
    const hubReader = createUser(env.dataDir, "reader", "readwrite");
    const hr = await connectAs(env.nats.url, "reader", hubReader.password);
    closers.push(() => hr.close());
    await rejectsWith(VecbusClient.connect(env.nats.url, { auth: { user: "reader", pass: reader.password } }), "UNAUTHENTICATED");
    await rejectsWith(VecbusClient.connect(site.url, { auth: { user: "reader", pass: hubReader.password } }), "UNAUTHENTICATED");

    // Listening at the site: an anonymous client on every anonymous inbox, the site's reader on every inbox of
    // a user named "reader". The site's own anonymous traffic shows the first listener works.
    const heard: string[] = [];
    const anon = await connectNats(site.url, "test-snoop-anonymous", { reconnectForever: false });
    closers.push(() => closeConnection(anon));
    anon.subscribe("_INBOX.>", { callback: (_e, m) => void heard.push(`anonymous inbox ${m.subject}`) });
    const named = await connectNats(site.url, "test-snoop-reader", { reconnectForever: false, auth: { user: "reader", pass: reader.password } });
    closers.push(() => closeConnection(named));
    named.subscribe("_VB.vecbus.user.reader.>", { callback: (_e, m) => void heard.push(`reader's inbox ${m.subject}`) });
    await anon.flush();
    await named.flush();
    const siteAnonymous = await VecbusClient.connect(site.url, { timeoutMs: CLIENT_TIMEOUT_MS });
    closers.push(() => siteAnonymous.close());
    assert.deepEqual(await ids(siteAnonymous), written, "an anonymous client at a site without --require-auth reads");
    await eventually("the site's listener to hear the site's own anonymous replies", () => heard.length > 0);
    // Interest travels over the leaf link in the background: time for it to reach the hub, were it let through.
    await new Promise((res) => setTimeout(res, 1_000));
    const ownHeard = heard.length;
    for (let i = 0; i < 5; i++) {
      assert.equal((await env.client.search({ collection_name: NAME, data: [vectors[i]], limit: 3 }))[0][0].id, rows[i].id);
      assert.equal((await hr.search({ collection_name: NAME, data: [vectors[i]], limit: 3 }))[0][0].id, rows[i].id);
    }
    await hr.insert({ collection_name: NAME, data: [{ id: 100, vector: vectors[0] }] });
    await new Promise((res) => setTimeout(res, 500));
    assert.deepEqual(heard.slice(ownHeard), [], "replies to the hub's clients heard at the site");

    // Started again with --require-auth: a client without credentials is refused, the site's users are kept.
    for (const close of closers.splice(0)) await close();
    await site.kill();
    site = await startSite(["--require-auth"]);
    await rejectsWith(VecbusClient.connect(site.url), "UNAUTHENTICATED", /credentials/);
    const again = await connectAs(site.url, "reader", reader.password);
    closers.push(() => again.close());
    await eventually("the reader to read every row after the restart", async () => JSON.stringify(await ids(again)) === JSON.stringify([...written, 100]));
  } catch (e) {
    process.stderr.write(`the site's log, last 8000 characters:\n${site?.stderr().slice(-8000)}\n`);
    throw e;
  } finally {
    for (const close of closers) await close().catch(() => undefined);
    await site?.kill();
    // A SIGKILLed site leaves its leaf node running (the next start would stop it).
    await stopOrphan(path.join(siteDir, "nats-server.pid"));
    await env.close();
  }
});
