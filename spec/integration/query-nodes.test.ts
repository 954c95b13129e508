// Query nodes end to end: flushed and indexed segments move from their shard
// owner to a query node (handoff), reads and deletes keep answering exactly
// across it, load/release behave as in Milvus, and a query node that dies
// gives its segments back.
//
// The hammer: while rows stream in and segments seal, flush, get indexed,
// change hands and are compacted (flushes every 700 rows leave small
// segments), readers check that every read returns each live row exactly
// once: all rows acked before the read, none twice, none never written.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { QueryNode } from "../../actors/query.js";
import { COMPACTED_SEGMENT_BASE } from "../../protocol/indexes.js";
import type { ShardReplies } from "../../protocol/messages.js";
import type { Row } from "../../protocol/rows.js";
import { closeConnection, connectNats, openContext } from "../../runtime/context.js";
import { request } from "../../runtime/rpc.js";
import type { VecbusClient } from "../../runtime/client.js";
import { rejectsWith } from "../assert.js";
import { startEnv, tempDir, type TestEnv } from "../harness.js";
import { randomVectors } from "../random.js";
import { Names } from "../../protocol/subjects.js";

const DIM = 8;
const names = new Names();

function rows(from: number, count: number): Row[] {
  return randomVectors(count, DIM, from + 7).map((vector, i) => ({ id: from + i, vector, n: from + i }));
}

async function served(env: TestEnv, cid: number, shards: number): Promise<number> {
  let n = 0;
  for (let s = 0; s < shards; s++) n += (await request<ShardReplies["stats"]>(env.client.nc, names.shardSubject(cid, s), { kind: "stats" })).served_by_query_nodes ?? 0;
  return n;
}

async function until(what: string, ok: () => Promise<boolean>, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function allIds(c: VecbusClient, name: string): Promise<number[]> {
  const got = await c.query({ collection_name: name, filter: "id >= 0", output_fields: ["id"], consistency_level: "Strong" });
  return got.map((r) => r.id as number);
}

describe("query nodes", () => {
  let env: TestEnv;
  before(async () => {
    env = await startEnv({ tag: "query", seal: { segmentRowsMax: 300, sealIdleMs: 600_000 }, data: { ackWaitMs: 5_000 } });
  });
  after(async () => env?.close());

  test("flushed, indexed segments are handed off; reads and deletes stay exact; release and load", async () => {
    const c = env.client;
    const name = "qn";
    const desc = await c.create_collection({ collection_name: name, dimension: DIM, metric_type: "L2", num_shards: 2 });
    const inserted: Row[] = [];
    for (let i = 0; i < 1200; i += 200) {
      inserted.push(...rows(i, 200));
      await c.insert({ collection_name: name, data: inserted.slice(i) });
    }
    await c.flush({ collection_name: name });
    await until("segments served by the query node", async () => (await served(env, desc.collection_id, 2)) >= 4);
    assert.equal((await c.get_load_state({ collection_name: name })).state, "Loaded");

    const ids = await allIds(c, name);
    assert.equal(ids.length, 1200);
    assert.equal(new Set(ids).size, 1200);
    const [q] = randomVectors(1, DIM, 99);
    const hits = (await c.search({ collection_name: name, data: [q], limit: 5, consistency_level: "Strong" }))[0];
    const exact = inserted
      .map((r) => ({ id: r.id as number, d: (r.vector as number[]).reduce((s, x, k) => s + (x - q[k]) ** 2, 0) }))
      .sort((a, b) => a.d - b.d)
      .slice(0, 5);
    assert.deepEqual(
      hits.map((h) => h.id),
      exact.map((e) => e.id),
    );
    assert.deepEqual(await c.get({ collection_name: name, ids: [5, 700, 5000], output_fields: ["n"] }), [
      { id: 5, n: 5 },
      { id: 700, n: 700 },
    ]);

    // Deletes, by id and by filter, and an upsert reach the segments the query node serves.
    await c.delete({ collection_name: name, ids: [5, 6] });
    await c.delete({ collection_name: name, filter: "n >= 1100" });
    await c.upsert({ collection_name: name, data: [{ id: 7, vector: q, n: -7 }] });
    const after = await allIds(c, name);
    assert.equal(after.length, 1200 - 2 - 100);
    assert.ok(!after.includes(5) && !after.includes(1150));
    assert.deepEqual(await c.get({ collection_name: name, ids: [7], output_fields: ["n"], consistency_level: "Strong" }), [{ id: 7, n: -7 }]);
    const top = (await c.search({ collection_name: name, data: [q], limit: 1, consistency_level: "Strong" }))[0];
    assert.equal(top[0].id, 7);
    assert.deepEqual(await c.query({ collection_name: name, filter: "id >= 0", output_fields: ["count(*)"], consistency_level: "Strong" }), [{ "count(*)": 1098 }]);

    await c.release_collection({ collection_name: name });
    assert.equal((await c.get_load_state({ collection_name: name })).state, "NotLoad");
    await rejectsWith(c.search({ collection_name: name, data: [q], limit: 1 }), "COLLECTION_NOT_LOADED", /load_collection/);
    await rejectsWith(c.query({ collection_name: name, filter: "id > 0" }), "COLLECTION_NOT_LOADED");
    await c.insert({ collection_name: name, data: rows(5000, 10) });
    assert.equal((await c.load_collection({ collection_name: name })).state, "Loaded");
    assert.equal((await allIds(c, name)).length, 1108);
    assert.equal((await c.get_load_state({ collection_name: "nope" })).state, "NotExist");
  });

});

describe("query nodes under load", () => {
  let env: TestEnv;
  before(async () => {
    env = await startEnv({ tag: "query-hammer", seal: { segmentRowsMax: 300, sealIdleMs: 600_000 }, data: { ackWaitMs: 5_000 }, autoCompaction: true });
  });
  after(async () => env?.close());

  test("hammer: every read returns each live row exactly once through seals, index builds, handoffs and compactions", async () => {
    const c = env.client;
    const name = "qh";
    const desc = await c.create_collection({ collection_name: name, dimension: DIM, metric_type: "L2", num_shards: 2 });
    let acked = 0;
    let writing = true;
    const total = 3000;
    const writer = (async () => {
      try {
        for (let i = 0; i < total; i += 100) {
          await c.insert({ collection_name: name, data: rows(i, 100) });
          acked = i + 100;
          if (i % 700 === 0) await c.flush({ collection_name: name });
        }
        await c.flush({ collection_name: name });
      } finally {
        writing = false;
      }
    })();
    let reads = 0;
    // Reads go on until a compacted segment has been swapped in and handed to the query node.
    let compacted = false;
    const deadline = Date.now() + 90_000;
    const watcher = (async () => {
      while (!compacted && Date.now() < deadline) {
        const status = await c.status();
        compacted = status.segments.some((x) => x.collection_name === name && (x.segment_id ?? 0) >= COMPACTED_SEGMENT_BASE && /^query [^ ]+$/.test(x.served_by));
        await new Promise((r) => setTimeout(r, 300));
      }
    })();
    const [q] = randomVectors(1, DIM, 5);
    const reader = async () => {
      while (writing || reads < 40 || (!compacted && Date.now() < deadline)) {
        const floor = acked;
        const ids = await allIds(c, name);
        assert.equal(new Set(ids).size, ids.length, "a row came back twice from query");
        assert.ok(ids.length >= floor, `query saw ${ids.length} rows, ${floor} were acked before it`);
        assert.ok(ids.every((id) => id >= 0 && id < total));
        const hits = (await c.search({ collection_name: name, data: [q], limit: 16384, output_fields: ["id"], consistency_level: "Strong" }))[0];
        assert.equal(new Set(hits.map((h) => h.id)).size, hits.length, "a row came back twice from search");
        assert.ok(hits.length >= floor, `search saw ${hits.length} rows, ${floor} were acked before it`);
        reads++;
      }
    };
    await Promise.all([writer, reader(), reader(), watcher]);
    assert.ok(compacted, "a compacted segment was swapped in and handed off while reads went on");
    await until("handoffs", async () => (await served(env, desc.collection_id, 2)) > 0);
    assert.equal((await allIds(c, name)).length, total);
    assert.ok(reads >= 40);
  });
});

describe("a query node that dies", () => {
  let env: TestEnv;
  before(async () => {
    env = await startEnv({ tag: "query-death", roles: ["streaming", "coordinator", "data", "proxy"], seal: { segmentRowsMax: 200, sealIdleMs: 600_000 } });
  });
  after(async () => env?.close());

  test("its segments go back to their shard owner and reads go on", async () => {
    const c = env.client;
    const nc = await connectNats(env.nats.url, "query-a", { reconnectForever: false });
    const node = new QueryNode(await openContext(nc, names.prefix, "query-a"), "query-a", { cacheDir: tempDir("qcache") });
    await node.start();
    const name = "qd";
    const desc = await c.create_collection({ collection_name: name, dimension: DIM, metric_type: "L2" });
    for (let i = 0; i < 600; i += 200) await c.insert({ collection_name: name, data: rows(i, 200) });
    await c.flush({ collection_name: name });
    await until("handoff", async () => (await served(env, desc.collection_id, 1)) >= 3);
    assert.equal((await allIds(c, name)).length, 600);

    // No goodbye: the connection just goes, as when the process is killed.
    await closeConnection(nc);
    const started = Date.now();
    assert.equal((await allIds(c, name)).length, 600);
    await until("segments back on the shard owner", async () => (await served(env, desc.collection_id, 1)) === 0);
    assert.ok(Date.now() - started < 20_000);
    await c.delete({ collection_name: name, ids: [1] });
    assert.equal((await allIds(c, name)).length, 599);
    await node.stop().catch(() => undefined);
  });
});
