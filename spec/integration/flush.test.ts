// Sealed segments end to end: growing segments seal at the row limit and on
// `flush`, land in the object store, advance the shard checkpoint and purge
// the WAL below it; a restarted cluster rebuilds every shard from its
// segments plus the WAL tail, and every kind of read still agrees with a
// brute-force answer from the rows the test wrote; drop removes it all.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { jetstreamManager, type JetStreamManager } from "@nats-io/jetstream";
import { Kvm } from "@nats-io/kv";
import type { ShardSegments } from "../../protocol/messages.js";
import type { Row } from "../../protocol/rows.js";
import { MetaKey, Names, ObjectName } from "../../protocol/subjects.js";
import { MetaStore } from "../../storage/meta-store.js";
import { BlobStore } from "../../storage/object-store.js";
import { assertHits, rank, referenceGroups } from "../brute-force.js";
import { startEnv, type TestEnv } from "../harness.js";
import { randomVectors, rng } from "../random.js";
import { eventually, TEST_TIMEOUT_MS } from "../timeouts.js";

const C = "flushed";
const SHARDS = 2;
const ROWS_MAX = 100;
const names = new Names();

/** The fields of a row the reference reads use. */
type LiveRow = Row & { id: number; cat: number; n: number; tag: string | null; color?: string; vector: number[] };

/** A row as query returns it with output_fields ["*"]: vectors as float32 values, dynamic keys at the top. */
function makeRow(id: number, version: number, vector: number[], partition: boolean): Row {
  const r = rng(id * 31 + version);
  return {
    id,
    cat: Math.floor(r() * 5),
    n: version * 1000 + id,
    tag: r() < 0.25 ? null : `t${Math.floor(r() * 4)}`,
    info: { version, nested: [id, "x", { ok: r() < 0.5 }] },
    arr: Array.from({ length: id % 4 }, (_, k) => k + id),
    vector: Array.from(Float32Array.from(vector)),
    ...(id % 3 === 0 ? {} : { color: partition ? "red" : "blue" }),
  };
}

describe("flush", () => {
  let env: TestEnv;
  let jsm: JetStreamManager;
  let meta: MetaStore;
  let blobs: BlobStore;
  let cid: number;
  /** What the collection must hold: id → row as read back, and the partition each is in. */
  const expected = new Map<number, Row>();
  const partitionOf = new Map<number, string>();
  const vectors = randomVectors(2_000, 8, 5);
  const queries = randomVectors(3, 8, 6);

  async function insert(ids: number[], version: number, partition = false): Promise<void> {
    const rows = ids.map((id) => makeRow(id, version, vectors[id], partition));
    await env.client.call("upsert", { collection_name: C, data: rows, ...(partition ? { partition_name: "p1" } : {}) });
    for (const row of rows) {
      expected.set(row.id as number, row);
      partitionOf.set(row.id as number, partition ? "p1" : "_default");
    }
  }

  async function remove(ids: number[]): Promise<void> {
    await env.client.delete({ collection_name: C, ids });
    for (const id of ids) {
      expected.delete(id);
      partitionOf.delete(id);
    }
  }

  async function segmentsKey(shard: number): Promise<ShardSegments | undefined> {
    return (await meta.get<ShardSegments>(MetaKey.segments(cid, shard)))?.value;
  }

  async function objectsOfCollection(): Promise<string[]> {
    return (await blobs.list()).map((o) => o.name).filter((n) => ObjectName.ofCollection(cid, n));
  }

  async function assertExpected(what: string): Promise<void> {
    const rows = await env.client.query({ collection_name: C, filter: "id >= 0", output_fields: ["*"], limit: 16384 });
    const want = [...expected.values()].sort((a, b) => (a.id as number) - (b.id as number));
    assert.deepEqual(rows, want, what);
  }

  /** Every kind of read, each against a brute-force answer from `expected`. */
  async function assertReads(what: string): Promise<void> {
    const c = env.client;
    await assertExpected(what);
    const live = [...expected.values()] as LiveRow[];
    const byId = (a: { id: number }, b: { id: number }) => a.id - b.id;
    const p1 = await c.query({ collection_name: C, filter: "id >= 0", output_fields: ["id"], partition_names: ["p1"], limit: 16384 });
    assert.deepEqual(
      p1,
      live
        .filter((r) => partitionOf.get(r.id) === "p1")
        .sort(byId)
        .map((r) => ({ id: r.id })),
      `${what}: partition p1`,
    );
    const count = await c.query({ collection_name: C, filter: 'tag == "t1" or color == "red"', output_fields: ["count(*)"] });
    assert.deepEqual(count, [{ "count(*)": live.filter((r) => r.tag === "t1" || r.color === "red").length }], `${what}: count`);
    const vector = (r: LiveRow) => r.vector;
    const search = await c.search({ collection_name: C, data: queries, limit: 10, output_fields: ["n", "tag"] });
    const filtered = await c.search({ collection_name: C, data: queries, limit: 5, filter: "cat in [1, 3] and n % 2 == 0" });
    const range = await c.search({ collection_name: C, data: queries, limit: 50, search_params: { params: { radius: 3, range_filter: 1 } } });
    const grouped = await c.search({ collection_name: C, data: queries, limit: 3, group_by_field: "cat", group_size: 2 });
    queries.forEach((q, i) => {
      const all = rank(live, vector, q, "L2");
      assertHits(search[i], all.slice(0, 10), `${what}: search ${i}`);
      assert.deepEqual(
        search[i].map((h) => h.entity),
        all.slice(0, 10).map((h) => ({ id: h.id, n: h.row.n, tag: h.row.tag })),
        `${what}: search ${i} entities`,
      );
      assertHits(filtered[i], rank(live, vector, q, "L2", (r) => (r.cat === 1 || r.cat === 3) && r.n % 2 === 0).slice(0, 5), `${what}: filtered search ${i}`);
      // L2 range search keeps range_filter <= distance < radius.
      assert.ok(range[i].length > 0, `${what}: range search ${i} finds rows in its band`);
      assertHits(range[i], all.filter((h) => h.distance >= 1 && h.distance < 3).slice(0, 50), `${what}: range search ${i}`);
      assertHits(grouped[i], referenceGroups(all, (r) => r.cat, 0, 3, 2), `${what}: grouped search ${i}`);
    });
    const asked = [0, 1, 5, 40, 150, 399, 1500];
    const got = await c.get({ collection_name: C, ids: asked, output_fields: ["*"] });
    assert.deepEqual(
      [...got].sort((a, b) => (a.id as number) - (b.id as number)),
      asked.filter((id) => expected.has(id)).map((id) => expected.get(id)),
      `${what}: get`,
    );
    assert.deepEqual(await c.get_collection_stats({ collection_name: C }), { row_count: expected.size }, `${what}: stats`);
  }

  before(async () => {
    env = await startEnv({ tag: "flush", seal: { segmentRowsMax: ROWS_MAX, sealIdleMs: 600_000 } });
    jsm = await jetstreamManager(env.admin);
    meta = new MetaStore(await new Kvm(env.admin).open(names.metaBucket()));
    blobs = await BlobStore.open(env.admin, names.objectBucket());
    const desc = await env.client.create_collection({
      collection_name: C,
      metric_type: "L2",
      num_shards: SHARDS,
      consistency_level: "Strong",
      schema: {
        enable_dynamic_field: true,
        fields: [
          { name: "id", type: "Int64", is_primary: true },
          { name: "cat", type: "Int64" },
          { name: "n", type: "Int64" },
          { name: "tag", type: "VarChar", max_length: 8, nullable: true },
          { name: "info", type: "JSON" },
          { name: "arr", type: "Array", element_type: "Int64", max_capacity: 8 },
          { name: "vector", type: "FloatVector", dim: 8 },
        ],
      },
    });
    cid = desc.collection_id;
    await env.client.create_partition({ collection_name: C, partition_name: "p1" });
  });
  after(async () => {
    await env?.close();
  });

  test("flush - growing segments seal at the row limit and are committed to the object store", async () => {
    for (let b = 0; b < 12; b++) await insert(Array.from({ length: 50 }, (_, i) => b * 50 + i), 1, b % 4 === 3);
    // ~300 rows per shard in 50-row batches: at least two seals each, committed in the background.
    for (let s = 0; s < SHARDS; s++) await eventually(`shard ${s} committed two segments`, async () => ((await segmentsKey(s))?.segments.length ?? 0) >= 2);
    const objects = await objectsOfCollection();
    for (let s = 0; s < SHARDS; s++) {
      const key = (await segmentsKey(s))!;
      assert.ok(key.checkpoint_seq > 0 && key.epoch >= 1);
      for (const seg of key.segments) {
        assert.ok(objects.includes(seg.object), `${seg.object} is in the object store`);
        assert.equal(seg.state, "flushed");
        assert.ok(seg.row_count >= ROWS_MAX && seg.seq_from <= seg.seq_to && seg.seq_to <= key.checkpoint_seq);
      }
    }
    const status = await env.client.status();
    assert.ok(status.shards.filter((s) => s.collection_name === C).every((s) => (s.segments ?? 0) >= 2));
    await assertExpected("after the row-limit seals");
  });

  test("flush - writes to sealed rows, the flush API, and the WAL purged below the checkpoint", async () => {
    // Upserts and deletes of rows that now live in sealed segments, and of growing ones.
    await insert([0, 1, 2, 3, 100, 101, 250], 2);
    await remove([4, 5, 6, 102, 103, 598, 599, 12345]);
    await insert([5, 700, 701], 3, true);
    const flushed = await env.client.flush({ collection_name: C });
    assert.ok(flushed.flushed_segments >= 1, "the growing rows became segments");
    for (let s = 0; s < SHARDS; s++) {
      const key = (await segmentsKey(s))!;
      const wal = await jsm.streams.info(names.walStream(cid, s));
      assert.equal(key.checkpoint_seq, wal.state.last_seq, `shard ${s}: the flush covers the whole WAL`);
      assert.equal(wal.state.first_seq, key.checkpoint_seq + 1, `shard ${s}: the WAL is purged through the checkpoint`);
      assert.equal(wal.state.messages, 0);
      assert.ok(key.segments.some((seg) => seg.delete_logs.length > 0), `shard ${s}: deletes of sealed rows are logged`);
    }
    assert.deepEqual(await env.client.flush({ collection_name: C }), { flushed_segments: 0 }, "nothing new to flush");
    await assertExpected("after the flush");
  });

  test("flush - a restarted cluster rebuilds every shard from its segments and the WAL tail", { timeout: TEST_TIMEOUT_MS }, async () => {
    // A WAL tail after the checkpoint: it is all the restart has of these writes.
    await insert([1, 7, 800, 801, 802], 4);
    await insert([803], 4, true);
    await remove([2, 100, 700, 800]);
    await assertReads("before the restart");
    await env.restart();
    await assertReads("after the restart");

    // The restarted shards take writes, seal and flush again, and a second restart still agrees.
    await insert(Array.from({ length: 120 }, (_, i) => 900 + i), 5);
    await remove([0, 901]);
    await env.client.flush({ collection_name: C });
    await insert([3], 6);
    await assertReads("before the second restart");
    await env.restart();
    await assertReads("after the second restart");
  });

  test("flush - drop_collection deletes the segment keys and objects", async () => {
    assert.ok((await objectsOfCollection()).length > 0);
    await env.client.drop_collection({ collection_name: C });
    assert.deepEqual(await objectsOfCollection(), []);
    for (let s = 0; s < SHARDS; s++) assert.equal(await segmentsKey(s), undefined);
  });

  test("flush - the coordinator removes the segments of a collection that vanished in a half-done drop", async () => {
    const c = env.client;
    cid = (await c.create_collection({ collection_name: "orphan", dimension: 2, metric_type: "L2" })).collection_id;
    await c.insert({ collection_name: "orphan", data: [{ id: 1, vector: [1, 2] }] });
    await c.flush({ collection_name: "orphan" });
    assert.equal((await objectsOfCollection()).length, 1);
    // What a coordinator that crashed right after deleting the collection key leaves behind.
    await meta.delete(MetaKey.collection("orphan"));
    await eventually("the sweep removed the orphaned segments", async () => (await segmentsKey(0)) === undefined && (await objectsOfCollection()).length === 0);
  });
});

describe("flush - idle seal", () => {
  test("flush - a growing segment without writes for sealIdleMs is sealed and flushed by itself", { timeout: TEST_TIMEOUT_MS }, async () => {
    const env = await startEnv({ tag: "flush-idle", seal: { segmentRowsMax: 100_000, sealIdleMs: 300 } });
    try {
      const c = env.client;
      const { collection_id } = await c.create_collection({ collection_name: "idle", dimension: 4, metric_type: "L2" });
      await c.insert({ collection_name: "idle", data: randomVectors(30, 4, 1).map((vector, id) => ({ id, vector })) });
      const meta = new MetaStore(await new Kvm(env.admin).open(names.metaBucket()));
      const jsm = await jetstreamManager(env.admin);
      let key: ShardSegments | undefined;
      await eventually("the idle shard flushed", async () => ((key = (await meta.get<ShardSegments>(MetaKey.segments(collection_id, 0)))?.value)?.segments.length ?? 0) > 0);
      const flushed = key!;
      assert.equal(flushed.segments[0].row_count, 30);
      // The purge follows the commit.
      await eventually("the WAL purged through the checkpoint", async () => (await jsm.streams.info(names.walStream(collection_id, 0))).state.first_seq === flushed.checkpoint_seq + 1);
      assert.deepEqual(await c.get_collection_stats({ collection_name: "idle" }), { row_count: 30 });
    } finally {
      await env.close();
    }
  });
});
