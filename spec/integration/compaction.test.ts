// Compaction end to end: small segments merge and deleted rows go, the
// merged segment is indexed and served by the query node, the replaced
// objects are garbage-collected, and a restart finds exactly the live rows.
// A second cluster with automatic compaction on merges small segments and
// rewrites a segment with many deletes by itself; a third loses a data node
// in the middle of a compaction.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { Kvm } from "@nats-io/kv";
import { DataNode } from "../../actors/data.js";
import { COMPACTED_SEGMENT_BASE, type CompactTask, type Task } from "../../protocol/indexes.js";
import type { ShardSegments } from "../../protocol/messages.js";
import type { Row } from "../../protocol/rows.js";
import { MetaKey, Names } from "../../protocol/subjects.js";
import type { VecbusClient } from "../../runtime/client.js";
import { closeConnection } from "../../runtime/connection.js";
import { openContext } from "../../actors/context.js";
import { MetaStore } from "../../storage/meta-store.js";
import { BlobStore } from "../../storage/object-store.js";
import { publishTask } from "../../storage/tasks.js";
import { startEnv, type TestEnv } from "../harness.js";
import { randomVectors } from "../random.js";
import { eventually, TEST_TIMEOUT_MS } from "../timeouts.js";

const DIM = 8;
const names = new Names();

function rows(from: number, count: number): Row[] {
  return randomVectors(count, DIM, from + 3).map((vector, i) => ({ id: from + i, vector, n: from + i }));
}

async function segments(env: TestEnv, cid: number): Promise<ShardSegments["segments"]> {
  const meta = new MetaStore(await new Kvm(env.admin).open(names.metaBucket()));
  return (await meta.get<ShardSegments>(MetaKey.segments(cid, 0)))?.value.segments ?? [];
}

/** The collection's rows as stored, vectors included, in primary-key order. */
async function stored(c: VecbusClient, name: string): Promise<Row[]> {
  return c.query({ collection_name: name, filter: "id >= 0", output_fields: ["n", "vector"], consistency_level: "Strong", limit: 16384 });
}

/** What the collection must hold, from what the test wrote and deleted: rows as query returns them (vectors as float32 values). */
class Live {
  private readonly rows = new Map<number, Row>();

  async insert(c: VecbusClient, name: string, batch: Row[]): Promise<void> {
    await c.insert({ collection_name: name, data: batch });
    for (const r of batch) this.rows.set(r.id as number, { id: r.id, n: r.n, vector: Array.from(Float32Array.from(r.vector as number[])) });
  }

  async delete(c: VecbusClient, name: string, ids: number[]): Promise<void> {
    await c.delete({ collection_name: name, ids });
    for (const id of ids) this.rows.delete(id);
  }

  /** A delete by filter; `matches` is the same predicate, evaluated here. */
  async deleteWhere(c: VecbusClient, name: string, filter: string, matches: (r: Row) => boolean): Promise<void> {
    await c.delete({ collection_name: name, filter });
    for (const [id, r] of this.rows) if (matches(r)) this.rows.delete(id);
  }

  get ids(): number[] {
    return [...this.rows.keys()].sort((a, b) => a - b);
  }

  get expected(): Row[] {
    return this.ids.map((id) => this.rows.get(id)!);
  }
}

/** Five flushed segments of 60 rows (small next to the 200-row seal size). */
async function smallSegments(c: VecbusClient, name: string, live: Live): Promise<void> {
  for (let i = 0; i < 300; i += 60) {
    await live.insert(c, name, rows(i, 60));
    await c.flush({ collection_name: name });
  }
}

describe("compaction", () => {
  let env: TestEnv;
  before(async () => {
    env = await startEnv({ tag: "compact", seal: { segmentRowsMax: 200, sealIdleMs: 600_000 } });
  });
  after(async () => env?.close());

  test("compaction - compact merges small segments and drops deleted rows; objects are collected; a restart finds the same rows", { timeout: TEST_TIMEOUT_MS }, async () => {
    const c = env.client;
    const name = "cm";
    const desc = await c.create_collection({ collection_name: name, dimension: DIM, metric_type: "L2" });
    const live = new Live();
    await smallSegments(c, name, live);
    await live.delete(c, name, [1, 2, 3, 61, 299]);
    await c.flush({ collection_name: name });
    const before = await segments(env, desc.collection_id);
    assert.equal(before.length, 5);
    assert.deepEqual(await stored(c, name), live.expected, "before compaction");

    const { compaction_id } = await c.compact({ collection_name: name });
    await eventually("compaction", async () => (await c.get_compaction_state({ compaction_id })).state === "Completed");
    const after = await segments(env, desc.collection_id);
    assert.ok(after.length < before.length, `${after.length} segments after compaction`);
    const merged = after.filter((s) => s.segment_id >= COMPACTED_SEGMENT_BASE);
    assert.ok(merged.length >= 1);
    for (const s of merged) {
      assert.ok(s.indexes?.vector, "the merged segment was indexed by the compaction");
      assert.equal(s.deleted_count ?? 0, 0, "deleted rows were dropped, not carried over");
    }
    assert.equal(after.reduce((n, s) => n + s.row_count - (s.deleted_count ?? 0), 0), live.ids.length);
    assert.deepEqual(await stored(c, name), live.expected, "after compaction");

    // The replaced segments' objects go (the owner deletes them after its commit, which get_compaction_state already sees); the merged ones stay.
    const blobs = await BlobStore.open(env.admin, names.objectBucket());
    const replaced = before.filter((s) => !after.some((a) => a.segment_id === s.segment_id)).flatMap((s) => [s.object, ...s.delete_logs]);
    const objects = async () => new Set((await blobs.list()).map((o) => o.name));
    await eventually("the replaced segments' objects are collected", async () => {
      const now = await objects();
      return replaced.every((o) => !now.has(o));
    });
    const left = await objects();
    for (const s of merged) assert.ok(left.has(s.object));

    // The query node takes the merged segment; reads stay exact, and deletes still reach it.
    await eventually("the merged segment served", async () => (await c.status()).segments.some((s) => s.segment_id !== null && s.segment_id >= COMPACTED_SEGMENT_BASE && /^query .*[^)]$/.test(s.served_by)));
    await live.delete(c, name, [100]);
    const [q] = randomVectors(1, DIM, 42);
    const hits = (await c.search({ collection_name: name, data: [q], limit: 300, consistency_level: "Strong" }))[0];
    assert.deepEqual(hits.map((h) => h.id as number).sort((a, b) => a - b), live.ids, "a search wider than the collection returns each live row once");

    await env.restart();
    assert.deepEqual(await stored(c, name), live.expected, "after the restart");
    assert.deepEqual(await c.get_collection_stats({ collection_name: name }), { row_count: live.ids.length });
  });
});

describe("automatic compaction", () => {
  let env: TestEnv;
  before(async () => {
    env = await startEnv({ tag: "autocompact", seal: { segmentRowsMax: 200, sealIdleMs: 600_000 }, autoCompaction: true });
  });
  after(async () => env?.close());

  test("compaction - automatic: small segments merge, and a segment with many deletes is rewritten, without being asked", { timeout: TEST_TIMEOUT_MS }, async () => {
    const c = env.client;
    const name = "ca";
    const desc = await c.create_collection({ collection_name: name, dimension: DIM, metric_type: "L2" });
    const live = new Live();
    await smallSegments(c, name, live);
    await eventually("small segments merged", async () => (await segments(env, desc.collection_id)).length <= 2);
    assert.deepEqual(await stored(c, name), live.expected, "after the merge");

    await live.insert(c, name, rows(1000, 200));
    await c.flush({ collection_name: name });
    const big = (await segments(env, desc.collection_id)).find((s) => s.seq_to > 0 && s.row_count === 200 && s.segment_id < COMPACTED_SEGMENT_BASE);
    assert.ok(big, "a full 200-row segment");
    await live.deleteWhere(c, name, "id >= 1000 and id < 1060", (r) => (r.id as number) >= 1000 && (r.id as number) < 1060);
    await c.flush({ collection_name: name });
    await eventually("the segment with 30% deleted rows rewritten", async () => !(await segments(env, desc.collection_id)).some((s) => s.segment_id === big.segment_id));
    assert.deepEqual(await stored(c, name), live.expected, "after the rewrite");
  });
});

describe("a compaction task whose data node dies", () => {
  let env: TestEnv;
  before(async () => {
    env = await startEnv({ tag: "compact-redeliver", roles: ["streaming", "coordinator", "query", "proxy"], seal: { segmentRowsMax: 200, sealIdleMs: 600_000 } });
  });
  after(async () => env?.close());

  test("compaction - a task whose data node dies is redelivered, reuses what was uploaded, and commits once; a repeat finds it done", { timeout: TEST_TIMEOUT_MS }, async () => {
    const c = env.client;
    const name = "cr";
    const desc = await c.create_collection({ collection_name: name, dimension: DIM, metric_type: "L2" });
    // No index: the compaction has nothing to build, and no data node runs before node A.
    await c.drop_index({ collection_name: name, index_name: "vector" });
    const live = new Live();
    await smallSegments(c, name, live);
    await live.delete(c, name, [10, 70]);

    // Node A takes the task, uploads the merged segment, and dies before it asks for the swap.
    const ncA = await env.connectAs("data", "data-a");
    let taken!: (t: Task) => void;
    const took = new Promise<Task>((r) => (taken = r));
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    const a = new DataNode(await openContext(ncA, names.prefix, "data-a"), "a", { ackWaitMs: 1_500, beforeCommit: async (t) => (taken(t), released) });
    await a.start();
    const { compaction_id } = await c.compact({ collection_name: name });
    const task = (await took) as CompactTask;
    const blobs = await BlobStore.open(env.admin, names.objectBucket());
    const merged = `seg/${desc.collection_id}/0/${task.target}-c`;
    assert.ok((await blobs.list()).some((o) => o.name === merged), "node A uploaded the merged segment");
    await closeConnection(ncA, 200);
    await a.stop().catch(() => undefined);
    release();

    const ncB = await env.connectAs("data", "data-b");
    const b = new DataNode(await openContext(ncB, names.prefix, "data-b"), "b", { ackWaitMs: 1_500 });
    await b.start();
    try {
      await eventually("compaction", async () => (await c.get_compaction_state({ compaction_id })).state === "Completed");
      assert.ok((await segments(env, desc.collection_id)).some((s) => s.segment_id === task.target));
      assert.deepEqual(await stored(c, name), live.expected, "after the compaction");
      // The same task once more (a reply lost after the commit): it finds its target committed.
      const ncP = await env.connectAs("coordinator", "pub");
      assert.equal(await publishTask((await openContext(ncP, names.prefix, "pub")).js, names, task, "again"), true);
      const ofTask = () => b.finished.filter((f) => f.task.kind === "compact" && f.task.target === task.target).map((f) => f.outcome);
      await eventually("the repeat", async () => ofTask().length >= 2);
      await closeConnection(ncP, 200);
      assert.deepEqual(ofTask(), ["committed", "done"]);
      assert.equal((await blobs.list()).filter((o) => o.name === merged).length, 1);
      assert.deepEqual(await stored(c, name), live.expected, "after the repeat");
    } finally {
      await b.stop();
      await closeConnection(ncB, 200);
    }
  });
});
