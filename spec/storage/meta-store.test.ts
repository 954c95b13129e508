// The meta store against a real KV bucket: compare-and-set, lists and watches.
import assert from "node:assert/strict";
import { test } from "node:test";
import { jetstream } from "@nats-io/jetstream";
import { Kvm } from "@nats-io/kv";
import { HUB_JS_DOMAIN } from "../../cli/nats-auth.js";
import { startLeafServer } from "../../cli/nats-server.js";
import { DEFAULT_PREFIX, Names } from "../../protocol/subjects.js";
import { VecbusError } from "../../protocol/errors.js";
import { MetaStore } from "../../storage/meta-store.js";
import { actorInbox, SUPERUSER } from "../../protocol/permissions.js";
import { closeConnection, connectNats } from "../../runtime/connection.js";
import { startEnv, tempDir } from "../harness.js";
import { startLeafLink } from "../leaf-link.js";
import { startTcpProxy } from "../tcp-proxy.js";
import { eventually } from "../timeouts.js";

test("meta store - create, stale update and stale delete are CONFLICT; casUpdate retries", async () => {
  const env = await startEnv({ roles: "none", tag: "meta" });
  try {
    const meta = new MetaStore(await new Kvm(env.admin).create("t_meta", { history: 5 }));
    const conflict = (e: unknown) => e instanceof VecbusError && e.code === "CONFLICT";
    const r1 = await meta.create("k", { n: 1 });
    await assert.rejects(meta.create("k", { n: 2 }), conflict);
    const r2 = await meta.update("k", { n: 2 }, r1);
    await assert.rejects(meta.update("k", { n: 3 }, r1), conflict);
    await assert.rejects(meta.delete("k", r1), conflict);
    assert.deepEqual(await meta.get("k"), { value: { n: 2 }, revision: r2 });

    // Ten concurrent increments all land exactly once.
    await Promise.all(Array.from({ length: 10 }, () => meta.casUpdate<{ n: number }>("k", (cur) => ({ n: (cur?.n ?? 0) + 1 }))));
    assert.equal((await meta.get<{ n: number }>("k"))!.value.n, 12);

    const events: [string, unknown][] = [];
    const w = await meta.watch("w.>", (k, v) => events.push([k, v]));
    await meta.put("w.a", 1);
    await meta.delete("w.a");
    await eventually("the put and the delete reach the watcher", () => events.length >= 2);
    w.stop();
    assert.deepEqual(events, [
      ["w.a", 1],
      ["w.a", null],
    ]);
    await meta.delete("k");
    assert.equal(await meta.get("k"), null);
    // A deleted key can be created again.
    await meta.create("k", { n: 0 });
  } finally {
    await env.close();
  }
});

test("meta store - list gives the live keys under a filter: not deleted or purged ones, not other prefixes, every level under >", async () => {
  const env = await startEnv({ roles: "none", tag: "meta-list" });
  try {
    const meta = new MetaStore(await new Kvm(env.admin).create("t_list", { history: 5 }));
    const written: Record<string, number> = { "s.1.0": 1, "s.1.1": 2, "s.2.0": 3, "s.gone": 4, "t.1": 5, s: 6 };
    for (const [k, v] of Object.entries(written)) await meta.put(k, v);
    await meta.put("s.1.0", 10);
    await meta.delete("s.gone");
    await meta.kv.purge("s.2.0");
    const values = async (filter: string) => Object.fromEntries([...(await meta.list<number>(filter))].map(([k, v]) => [k, v.value]));
    assert.deepEqual(await values("s.>"), { "s.1.0": 10, "s.1.1": 2 });
    assert.deepEqual(await values("s.1.*"), { "s.1.0": 10, "s.1.1": 2 });
    assert.deepEqual(await values(">"), { "s.1.0": 10, "s.1.1": 2, "t.1": 5, s: 6 });
    assert.deepEqual(await values("u.>"), {});
  } finally {
    await env.close();
  }
});

test("meta store - a watch whose pushes were lost before its connection dropped delivers those changes after it reconnects, without waiting for another change", async () => {
  const env = await startEnv({ roles: "none", tag: "meta-cut" });
  const link = await startTcpProxy(Number(new URL(env.nats.url).port));
  const nc = await connectNats(link.url, "test-watcher", { reconnectForever: true, auth: env.nats.credentials(SUPERUSER) });
  try {
    const writer = new MetaStore(await new Kvm(env.admin).create("t_cut", { history: 5 }));
    const watched = new MetaStore(await new Kvm(nc).open("t_cut"), undefined, nc);
    const seen = new Map<string, unknown>();
    const w = await watched.watch("w.>", (k, v) => seen.set(k, v));
    await writer.put("w.a", 1);
    await writer.put("w.b", 1);
    await eventually("the watch to see the first values", () => seen.get("w.a") === 1 && seen.get("w.b") === 1);
    // Pushed to the watcher and lost on the way (as in the socket of a stalled process the server then drops).
    link.drop();
    await writer.put("w.a", 2);
    await writer.delete("w.b");
    await new Promise((r) => setTimeout(r, 200));
    link.cut();
    await eventually("the watch to deliver what changed while it was cut off", () => seen.get("w.a") === 2 && seen.get("w.b") === null);
    w.stop();
  } finally {
    await closeConnection(nc);
    await link.close();
    await env.close();
  }
});

test("meta store - through a leaf node, a change lost on the leaf's link to the hub is delivered by the next resync, though the watcher's own connection never dropped", async () => {
  const { link, leafnodes, siteUrl } = await startLeafLink();
  const env = await startEnv({ roles: "none", tag: "meta-leaf", leafnodes });
  const leaf = await startLeafServer({ dataDir: tempDir("meta-leaf-site"), hubUrl: siteUrl(env.nats.leafUrl!), prefix: DEFAULT_PREFIX, requireAuth: false });
  // As a site's actors do: replies to `_INBOX` do not cross the leaf link.
  const nc = await connectNats(leaf.url, "test-watcher", { reconnectForever: true, auth: leaf.siteAuth, inboxPrefix: actorInbox(new Names(DEFAULT_PREFIX), "edge") });
  try {
    const writer = new MetaStore(await new Kvm(env.admin).create("t_leaf", { history: 5 }));
    // Kvm.open only binds, asking the server nothing: status() is the first call that crosses the link.
    // Once it is answered, the hub has sent the leaf node its JetStream API interest, and the watch's consumer create reaches it.
    const kv = await eventuallyValue(async () => {
      const kv = await new Kvm(jetstream(nc, { domain: HUB_JS_DOMAIN })).open("t_leaf");
      await kv.status();
      return kv;
    });
    const watched = new MetaStore(kv, undefined, nc, 1_000);
    const seen = new Map<string, unknown>();
    const w = await watched.watch("w.>", (k, v) => seen.set(k, v));
    await writer.put("w.a", 1);
    await writer.put("w.b", 1);
    await eventually("the watch to see the first values", () => seen.get("w.a") === 1 && seen.get("w.b") === 1);
    link.drop();
    await writer.put("w.a", 2);
    await writer.delete("w.b");
    await new Promise((r) => setTimeout(r, 200));
    link.cut();
    await eventually("the watch to deliver what the link lost", () => seen.get("w.a") === 2 && seen.get("w.b") === null, 15_000);
    w.stop();
  } finally {
    await closeConnection(nc);
    await leaf.stop();
    await link.close();
    await env.close();
  }
});

/** The leaf node takes a moment to connect to the hub; until then its JetStream calls fail. */
async function eventuallyValue<T>(f: () => Promise<T>): Promise<T> {
  let out: T | undefined;
  await eventually("the leaf node to reach the hub", async () => {
    out = await f().catch(() => undefined);
    return out !== undefined;
  });
  return out!;
}
