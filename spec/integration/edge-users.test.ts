// An edge site's own API users (`vecbus user create --data SITE-DATA`): they
// get their role's methods at the site, the hub does not know them (nor the
// site the hub's), replies meant for the hub's clients never reach a client
// at the site (anonymous clients share `_INBOX`, and users of one name share
// an inbox prefix), and `vecbus edge --require-auth` refuses clients without
// credentials. What each read must return is what the test wrote at the hub.
import assert from "node:assert/strict";
import path from "node:path";
import { test } from "node:test";
import { freePort, startLeafServer, stopOrphan } from "../../cli/nats-server.js";
import { DEFAULT_PREFIX } from "../../protocol/subjects.js";
import { natsAuth } from "../../cli/connection.js";
import { ensureAuth, ensureSiteAuth, SITE_USER } from "../../cli/nats-auth.js";
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
    // The site's actors' user is not an API user's name (two entries of it would stop the site's server), a
    // site's data dir has no superuser (commands there connect without credentials unless given some), and a
    // data dir is a hub's or a site's, not both.
    assert.throws(() => createUser(siteDir, SITE_USER, "readonly"), /reserved/);
    assert.equal(natsAuth({ data: siteDir }), undefined);
    assert.throws(() => ensureAuth(siteDir, [DEFAULT_PREFIX], false), /edge site's data dir/);
    assert.throws(() => ensureSiteAuth(env.dataDir, false), /hub's data dir/);
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

    // Listening on both sides of the link: an anonymous client on every anonymous inbox, and the side's user
    // "reader" on every inbox of a user of that name. Each side's own anonymous traffic shows its listeners work.
    const heard = { site: [] as string[], hub: [] as string[] };
    const listen = async (side: "site" | "hub", url: string, subject: string, auth?: { user: string; pass: string }) => {
      const nc = await connectNats(url, `test-listen-${side}`, { reconnectForever: false, auth });
      closers.push(() => closeConnection(nc));
      nc.subscribe(subject, { callback: (_e, m) => void heard[side].push(m.subject) });
      await nc.flush();
    };
    await listen("site", site.url, "_INBOX.>");
    await listen("site", site.url, "_VB.vecbus.user.reader.>", { user: "reader", pass: reader.password });
    await listen("hub", env.nats.url, "_INBOX.>");
    await listen("hub", env.nats.url, "_VB.vecbus.user.reader.>", { user: "reader", pass: hubReader.password });
    const siteAnonymous = await VecbusClient.connect(site.url, { timeoutMs: CLIENT_TIMEOUT_MS });
    closers.push(() => siteAnonymous.close());
    assert.deepEqual(await ids(siteAnonymous), written, "an anonymous client at a site without --require-auth reads");
    await ids(env.client);
    await eventually("each side's listener to hear its own side's anonymous replies", () => heard.site.length > 0 && heard.hub.length > 0);
    // Interest travels over the leaf link in the background: time for it to cross, were it let through.
    await new Promise((res) => setTimeout(res, 1_000));
    // The hub's clients, anonymous and "reader": their replies are heard at the hub, none at the site.
    const mark = () => ({ site: heard.site.length, hub: heard.hub.length });
    const quiet = () => new Promise((res) => setTimeout(res, 500));
    let from = mark();
    for (let i = 0; i < 5; i++) {
      assert.equal((await hr.search({ collection_name: NAME, data: [vectors[i]], limit: 3 }))[0][0].id, rows[i].id);
      await env.client.search({ collection_name: NAME, data: [vectors[i]], limit: 3 });
    }
    await hr.insert({ collection_name: NAME, data: [{ id: 100, vector: vectors[0] }] });
    await quiet();
    assert.deepEqual(heard.site.slice(from.site), [], "replies to the hub's clients heard at the site");
    assert.equal(heard.hub.length - from.hub, 11, "the hub's own listeners hear its clients' replies");
    // The site's clients, anonymous and "reader": the same the other way.
    from = mark();
    for (let i = 0; i < 5; i++) {
      assert.equal((await r.search({ collection_name: NAME, data: [vectors[i]], limit: 3, consistency_level: "Bounded" }))[0][0].id, rows[i].id);
      await siteAnonymous.search({ collection_name: NAME, data: [vectors[i]], limit: 3, consistency_level: "Bounded" });
    }
    await quiet();
    assert.deepEqual(heard.hub.slice(from.hub), [], "replies to the site's clients heard at the hub");
    assert.equal(heard.site.length - from.site, 10, "the site's own listeners hear its clients' replies");

    // A site whose proxy is not there (the site's process died, its leaf node runs on): a request gets no
    // responder at once instead of running at the hub and losing its reply.
    const bare = await startLeafServer({ dataDir: tempDir("edge-users-bare"), hubUrl: env.nats.leafUrl!, prefix: DEFAULT_PREFIX, requireAuth: false });
    closers.push(() => bare.stop());
    const lone = await VecbusClient.connect(bare.url, { timeoutMs: CLIENT_TIMEOUT_MS });
    closers.push(() => lone.close());
    await new Promise((res) => setTimeout(res, 1_000));
    await rejectsWith(lone.insert({ collection_name: NAME, data: [{ id: 200, vector: vectors[1] }] }), "UNAVAILABLE");
    assert.deepEqual((await env.client.get({ collection_name: NAME, ids: [200], consistency_level: "Strong" })).length, 0, "an insert at a site without a proxy ran at the hub");

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
