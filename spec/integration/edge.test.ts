// An edge site: `vecbus edge` (a NATS leaf node of the hub, an edge replica
// of every collection and a proxy, in one process) connected to the hub
// through a loopback TCP proxy that plays the WAN link. Clients at the site
// get every row the hub acknowledged in Bounded reads, exactly once, across
// flushes (a new generation of the replica) and deletes; with the link down
// the site keeps answering Bounded reads from what it had, Strong reads and
// writes fail with a clear error, and once the link is back the site catches
// up. The site starts with its link down, and comes up once it is up.
// What each read must return is what the test wrote at the hub.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { Row } from "../../protocol/rows.js";
import { refused } from "../assert.js";
import { VecbusClient } from "../../runtime/client.js";
import type { ServeProcess } from "../cli/serve-process.js";
import { startVecbus } from "../cli/serve-process.js";
import { startEnv, tempDir } from "../harness.js";
import { randomVectors } from "../random.js";
import { startLeafLink } from "../leaf-link.js";
import { eventually, TEST_TIMEOUT_MS } from "../timeouts.js";
import { freePort } from "../../cli/nats-server.js";
import { HUB_JS_DOMAIN } from "../../cli/nats-auth.js";
import { closeConnection, connectNats } from "../../runtime/connection.js";

const DIM = 8;

test("edge - a site answers Bounded reads from its replica, through flushes and deletes, and while its link to the hub is down; it catches up after", { timeout: TEST_TIMEOUT_MS }, async () => {
  const { link, leafnodes, siteUrl } = await startLeafLink();
  const env = await startEnv({ tag: "edge-hub", leafnodes, seal: { segmentRowsMax: 150, sealIdleMs: 600_000 } });
  let site: ServeProcess | undefined;
  let edgeClient: VecbusClient | undefined;
  try {
    const hub = env.client;
    const name = "films";
    await hub.create_collection({ collection_name: name, dimension: DIM, metric_type: "L2", num_shards: 2 });
    const rows: Row[] = randomVectors(600, DIM, 3).map((vector, id) => ({ id, vector, year: 1990 + (id % 30) }));
    const live = new Set<number>();
    const write = async (from: number, to: number) => {
      await hub.insert({ collection_name: name, data: rows.slice(from, to) });
      for (let id = from; id < to; id++) live.add(id);
    };
    await write(0, 300);
    await hub.flush({ collection_name: name });
    await write(300, 400);
    // A collection the site does not keep: its reads at the site go to the hub.
    await hub.create_collection({ collection_name: "other", dimension: DIM, metric_type: "L2", num_shards: 1 });
    await hub.insert({ collection_name: "other", data: rows.slice(0, 5) });

    // The site starts while its link is down: it waits for the hub, and comes up once the link does.
    link.down();
    // The site logs at info: when the test fails, its log (printed then) says what the site was doing.
    // The hub's URL (with the leaf password) in the environment, as the README advises, not on the command line.
    const starting = startVecbus(["edge", "--data", tempDir("edge-site"), "--port", String(await freePort()), "--site", "s1", "--collections", name], { VECBUS_LOG: "info", VECBUS_HUB_URL: siteUrl(env.nats.leafUrl!) });
    await new Promise((r) => setTimeout(r, 3_000));
    link.up();
    site = await starting;
    edgeClient = await VecbusClient.connect(site.url, { timeoutMs: 10_000 });
    const edge = edgeClient;
    // A client at the site without credentials may call the API, and nothing else: not the hub's JetStream
    // (which the leaf link is trusted with), so not a WAL.
    const snooper = await connectNats(site.url, "test-snooper", { reconnectForever: false });
    try {
      // The site's server refuses the request itself (a reply alone would not do: replies to `_INBOX` do not cross the link).
      await refused(snooper, `$JS.${HUB_JS_DOMAIN}.API.INFO`, {});
    } finally {
      await closeConnection(snooper);
    }
    const atEdge = async (consistency_level: "Bounded" | "Strong" = "Bounded") =>
      (await edge.query({ collection_name: name, filter: "id >= 0", output_fields: ["id"], limit: 1000, consistency_level }))
        .map((r) => r.id as number)
        .sort((a, b) => a - b);
    const expected = () => [...live].sort((a, b) => a - b);
    await eventually("the site's replica to hold every row written", async () => JSON.stringify(await atEdge()) === JSON.stringify(expected()));
    const others = await edge.query({ collection_name: "other", filter: "id >= 0", output_fields: ["id"], limit: 10, consistency_level: "Bounded" });
    assert.deepEqual(others.map((r) => r.id).sort(), [0, 1, 2, 3, 4], "a Bounded read at the site of a collection it does not keep");

    // A flush at the hub makes the replica build a new generation; deletes reach it through the WAL.
    await hub.delete({ collection_name: name, ids: [1, 2, 350] });
    for (const id of [1, 2, 350]) live.delete(id);
    await hub.flush({ collection_name: name });
    await write(400, 450);
    await eventually("the replica after a flush, deletes and more rows", async () => JSON.stringify(await atEdge()) === JSON.stringify(expected()));
    // A search at the site finds a row by its own vector.
    const hit = await edge.search({ collection_name: name, data: [rows[420].vector as number[]], limit: 1, consistency_level: "Bounded" });
    assert.equal(hit[0][0].id, 420);
    // Strong reads go to the hub's owners, and see the same rows.
    assert.deepEqual(await atEdge("Strong"), expected());

    // A blip: what the hub sends the site is lost on the way, then the link's connections close and the leaf
    // node reconnects at once. Nothing written after would show the gap: the site must notice anyway.
    link.drop();
    await write(450, 470);
    await new Promise((r) => setTimeout(r, 200));
    link.cut();
    await eventually("the site to get what the hub wrote during a blip of the link", async () => JSON.stringify(await atEdge()) === JSON.stringify(expected()));

    // The link goes down: the site still answers Bounded reads with what it had; Strong reads and writes fail.
    link.down();
    const before = expected();
    await write(470, 500);
    for (let i = 0; i < 5; i++) assert.deepEqual(await atEdge(), before, "a Bounded read at the site with its link down");
    await assert.rejects(atEdge("Strong"), (e: Error & { code?: string }) => ["UNAVAILABLE", "TIMEOUT", "SHARD_NOT_READY"].includes(e.code ?? ""));
    await assert.rejects(edge.insert({ collection_name: name, data: rows.slice(500, 501) }), (e: Error & { code?: string }) => ["UNAVAILABLE", "TIMEOUT", "SHARD_NOT_READY"].includes(e.code ?? ""));

    // Back up: the site catches up with what the hub took meanwhile.
    link.up();
    await eventually("the site to catch up after the link is back", async () => JSON.stringify(await atEdge().catch(() => [])) === JSON.stringify(expected()));

    // The hub's status reports the site's lag. After a quiet spell longer than the lag bound, it is still under it:
    // the hub's heartbeats (every 2.5 s while a pull waits) tell the replica it has everything, with no record to show it.
    await new Promise((r) => setTimeout(r, 12_000));
    const load = (await hub.status()).nodes.find((n) => n.role === "edge")?.load;
    assert.ok(load?.lag_ms !== undefined && load.lag_ms < 8_000, `the site's reported lag (${load?.lag_ms} ms) after it caught up`);
    assert.equal(load.shards, 2, "the site keeps the shards of the collection it was told to keep, and no others");

    // The data nodes indexed each flushed segment at the hub: the site searches them through those HNSW indexes.
    await eventually("the site to open the HNSW index of every segment it keeps", async () => {
      const l = (await hub.status()).nodes.find((n) => n.role === "edge")?.load;
      return l?.segments === 4 && l.indexes === 4;
    });
    for (const id of [10, 299, 420]) {
      const found = await edge.search({ collection_name: name, data: [rows[id].vector as number[]], limit: 1, consistency_level: "Bounded" });
      assert.equal(found[0][0].id, id, `a search at the site for row ${id}'s own vector`);
    }
  } catch (e) {
    process.stderr.write(`the site's log, last 12000 characters:\n${site?.stderr().slice(-12000)}\n`);
    throw e;
  } finally {
    await edgeClient?.close();
    await site?.kill();
    await link.close();
    await env.close();
  }
});
