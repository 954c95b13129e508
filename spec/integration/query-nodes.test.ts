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
import fs from "node:fs";
import { after, before, describe, test } from "node:test";
import { QueryNode } from "../../actors/query.js";
import { COMPACTED_SEGMENT_BASE } from "../../protocol/indexes.js";
import type { Row } from "../../protocol/rows.js";
import { closeConnection } from "../../runtime/connection.js";
import { openContext } from "../../actors/context.js";
import type { VecbusClient } from "../../runtime/client.js";
import { rejectsWith } from "../assert.js";
import { startEnv, tempDir, type TestEnv } from "../harness.js";
import { randomVectors } from "../random.js";
import { servedByQueryNodes } from "../shard-stats.js";
import { eventually, TEST_TIMEOUT_MS } from "../timeouts.js";
import { Names } from "../../protocol/subjects.js";

const DIM = 8;
const names = new Names();

function rows(from: number, count: number): Row[] {
  return randomVectors(count, DIM, from + 7).map((vector, i) => ({ id: from + i, vector, n: from + i }));
}

function served(env: TestEnv, cid: number, shards: number): Promise<number> {
  return servedByQueryNodes(env.admin, cid, shards);
}

async function allIds(c: VecbusClient, name: string): Promise<number[]> {
  const got = await c.query({ collection_name: name, filter: "id >= 0", output_fields: ["id"], consistency_level: "Strong" });
  return got.map((r) => r.id as number);
}

/** The ids the test holds live, in the primary-key order query returns them in. */
function sortedIds(live: Map<number, Row>): number[] {
  return [...live.keys()].sort((a, b) => a - b);
}

/**
 * One read of the hammer against what the writer did: every id acked before
 * the read began is there, every id there was sent by the writer, none twice.
 * A count would let a missing acked row hide behind a row of the batch in flight.
 */
function assertMembership(what: string, got: number[], ackedBefore: ReadonlySet<number>, sentAfter: ReadonlySet<number>): void {
  const seen = new Set<number>();
  const twice = got.filter((id) => seen.has(id) || (seen.add(id), false));
  assert.deepEqual(twice, [], `${what}: rows that came back twice`);
  const missing = [...ackedBefore].filter((id) => !seen.has(id));
  assert.deepEqual(missing.slice(0, 20), [], `${what}: ${missing.length} rows acked before the read are missing`);
  const unknown = got.filter((id) => !sentAfter.has(id));
  assert.deepEqual(unknown.slice(0, 20), [], `${what}: rows that were never written`);
}

describe("query nodes", () => {
  let env: TestEnv;
  before(async () => {
    env = await startEnv({ tag: "query", seal: { segmentRowsMax: 300, sealIdleMs: 600_000 }, data: { ackWaitMs: 5_000 } });
  });
  after(async () => env?.close());

  test("query nodes - flushed, indexed segments are handed off; reads and deletes stay exact; release and load", { timeout: TEST_TIMEOUT_MS }, async () => {
    const c = env.client;
    const name = "qn";
    const desc = await c.create_collection({ collection_name: name, dimension: DIM, metric_type: "L2", num_shards: 2 });
    /** What the collection must hold, kept from what this test wrote and deleted. */
    const live = new Map<number, Row>();
    for (let i = 0; i < 1200; i += 200) {
      const batch = rows(i, 200);
      await c.insert({ collection_name: name, data: batch });
      for (const r of batch) live.set(r.id as number, r);
    }
    await c.flush({ collection_name: name });
    await eventually("segments served by the query node", async () => (await served(env, desc.collection_id, 2)) >= 4);
    assert.equal((await c.get_load_state({ collection_name: name })).state, "Loaded");

    assert.deepEqual(await allIds(c, name), sortedIds(live));
    const [q] = randomVectors(1, DIM, 99);
    const exactTop = (k: number) =>
      [...live.values()]
        .map((r) => ({ id: r.id as number, d: (r.vector as number[]).reduce((s, x, j) => s + (x - q[j]) ** 2, 0) }))
        .sort((a, b) => a.d - b.d || a.id - b.id)
        .slice(0, k)
        .map((e) => e.id);
    const hits = (await c.search({ collection_name: name, data: [q], limit: 5, consistency_level: "Strong" }))[0];
    assert.deepEqual(
      hits.map((h) => h.id),
      exactTop(5),
    );
    assert.deepEqual(await c.get({ collection_name: name, ids: [5, 700, 5000], output_fields: ["n"] }), [
      { id: 5, n: 5 },
      { id: 700, n: 700 },
    ]);

    // Deletes, by id and by filter, and an upsert reach the segments the query node serves.
    await c.delete({ collection_name: name, ids: [5, 6] });
    live.delete(5);
    live.delete(6);
    await c.delete({ collection_name: name, filter: "n >= 1100" });
    for (const [id, r] of live) if ((r.n as number) >= 1100) live.delete(id);
    await c.upsert({ collection_name: name, data: [{ id: 7, vector: q, n: -7 }] });
    live.set(7, { id: 7, vector: q, n: -7 });
    assert.deepEqual(await allIds(c, name), sortedIds(live));
    assert.deepEqual(await c.get({ collection_name: name, ids: [7], output_fields: ["n"], consistency_level: "Strong" }), [{ id: 7, n: -7 }]);
    const top = (await c.search({ collection_name: name, data: [q], limit: 3, consistency_level: "Strong" }))[0];
    assert.deepEqual(
      top.map((h) => h.id),
      exactTop(3),
    );
    assert.deepEqual(await c.query({ collection_name: name, filter: "id >= 0", output_fields: ["count(*)"], consistency_level: "Strong" }), [{ "count(*)": live.size }]);

    await c.release_collection({ collection_name: name });
    assert.equal((await c.get_load_state({ collection_name: name })).state, "NotLoad");
    await rejectsWith(c.search({ collection_name: name, data: [q], limit: 1 }), "COLLECTION_NOT_LOADED", /load_collection/);
    await rejectsWith(c.query({ collection_name: name, filter: "id > 0" }), "COLLECTION_NOT_LOADED");
    const late = rows(5000, 10);
    await c.insert({ collection_name: name, data: late });
    for (const r of late) live.set(r.id as number, r);
    assert.equal((await c.load_collection({ collection_name: name })).state, "Loaded");
    assert.deepEqual(await allIds(c, name), sortedIds(live));
    assert.equal((await c.get_load_state({ collection_name: "nope" })).state, "NotExist");
  });
});

describe("query nodes under load", () => {
  let env: TestEnv;
  before(async () => {
    env = await startEnv({ tag: "query-hammer", seal: { segmentRowsMax: 300, sealIdleMs: 600_000 }, data: { ackWaitMs: 5_000 }, autoCompaction: true });
  });
  after(async () => env?.close());

  test("query nodes - hammer: every read returns each live row exactly once through seals, index builds, handoffs and compactions", { timeout: TEST_TIMEOUT_MS }, async () => {
    const c = env.client;
    const name = "qh";
    const desc = await c.create_collection({ collection_name: name, dimension: DIM, metric_type: "L2", num_shards: 2 });
    /** Ids the writer has sent (acked or in flight) and ids whose insert was acked. */
    const sent = new Set<number>();
    const acked = new Set<number>();
    let writing = true;
    /** Set when any party fails, so the others stop instead of running on. */
    let stop = false;
    const total = 3000;
    const writer = (async () => {
      try {
        for (let i = 0; i < total; i += 100) {
          const batch = rows(i, 100);
          for (const r of batch) sent.add(r.id as number);
          await c.insert({ collection_name: name, data: batch });
          for (const r of batch) acked.add(r.id as number);
          if (i % 700 === 0) await c.flush({ collection_name: name });
        }
        await c.flush({ collection_name: name });
      } catch (e) {
        stop = true;
        throw e;
      } finally {
        writing = false;
      }
    })();
    let reads = 0;
    // Reads go on until a compacted segment has been swapped in and handed to the query node.
    let compacted = false;
    const watcher = eventually(
      "a compacted segment swapped in and handed off while reads go on",
      async () => {
        const status = await c.status();
        compacted = status.segments.some((x) => x.collection_name === name && (x.segment_id ?? 0) >= COMPACTED_SEGMENT_BASE && /^query [^ ]+$/.test(x.served_by));
        return compacted || stop;
      },
      120_000,
    ).catch((e) => {
      stop = true;
      throw e;
    });
    const [q] = randomVectors(1, DIM, 5);
    const reader = async () => {
      try {
        while (!stop && (writing || reads < 40 || !compacted)) {
          const before = new Set(acked);
          const ids = await allIds(c, name);
          assertMembership("query", ids, before, sent);
          const searchBefore = new Set(acked);
          const hits = (await c.search({ collection_name: name, data: [q], limit: 16384, output_fields: ["id"], consistency_level: "Strong" }))[0];
          assertMembership(
            "search",
            hits.map((h) => h.id as number),
            searchBefore,
            sent,
          );
          reads++;
        }
      } catch (e) {
        stop = true;
        throw e;
      }
    };
    await Promise.all([writer, reader(), reader(), watcher]);
    assert.ok(compacted, "a compacted segment was swapped in and handed off while reads went on");
    await eventually("handoffs", async () => (await served(env, desc.collection_id, 2)) > 0);
    assert.deepEqual(await allIds(c, name), [...sent].sort((a, b) => a - b));
    assert.ok(reads >= 40);
  });
});

describe("a query node that dies", () => {
  let env: TestEnv;
  before(async () => {
    env = await startEnv({ tag: "query-death", roles: ["streaming", "coordinator", "data", "proxy"], seal: { segmentRowsMax: 200, sealIdleMs: 600_000 } });
  });
  after(async () => env?.close());

  test("query nodes - a dead node's segments go back to their shard owner and reads go on", { timeout: TEST_TIMEOUT_MS }, async (t) => {
    const c = env.client;
    const nc = await env.connectAs("query", "query-a");
    const cacheDir = tempDir("qcache");
    const node = new QueryNode(await openContext(nc, names.prefix, "query-a"), "query-a", { cacheDir });
    await node.start();
    try {
      const name = "qd";
      const desc = await c.create_collection({ collection_name: name, dimension: DIM, metric_type: "L2" });
      const written: number[] = [];
      for (let i = 0; i < 600; i += 200) {
        const batch = rows(i, 200);
        await c.insert({ collection_name: name, data: batch });
        written.push(...batch.map((r) => r.id as number));
      }
      await c.flush({ collection_name: name });
      await eventually("handoff", async () => (await served(env, desc.collection_id, 1)) >= 3);
      assert.deepEqual(await allIds(c, name), written);

      // No goodbye: the connection just goes, as when the process is killed.
      await closeConnection(nc);
      const started = Date.now();
      // The read may wait while the owner takes the segments back; the client outwaits every retry window.
      assert.deepEqual(await allIds(c, name), written);
      t.diagnostic(`first read after the query node died answered in ${Date.now() - started} ms`);
      await eventually("segments back on the shard owner", async () => (await served(env, desc.collection_id, 1)) === 0);
      t.diagnostic(`segments back on the shard owner ${Date.now() - started} ms after the query node died`);
      await c.delete({ collection_name: name, ids: [1] });
      assert.deepEqual(
        await allIds(c, name),
        written.filter((id) => id !== 1),
      );
    } finally {
      await node.stop().catch(() => undefined);
      fs.rmSync(cacheDir, { recursive: true, force: true });
    }
  });
});
