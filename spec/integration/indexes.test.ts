// Indexes end to end: create_index validation, HNSW builds by the data node
// for every flushed segment (recorded in the segments keys, files under idx/),
// describe_index progress, list/drop, and a build task that survives a data
// node stopped mid-task and a task queued twice.
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { Kvm } from "@nats-io/kv";
import { Index, MetricKind, ScalarKind } from "usearch";
import { DataNode } from "../../actors/data.js";
import type { CollectionDescription, IndexDescription } from "../../protocol/api.js";
import type { BuildIndexTask, Task } from "../../protocol/indexes.js";
import type { ShardSegments } from "../../protocol/messages.js";
import { MetaKey, Names } from "../../protocol/subjects.js";
import { closeConnection } from "../../runtime/connection.js";
import { openContext } from "../../actors/context.js";
import type { VecbusClient } from "../../runtime/client.js";
import { MetaStore } from "../../storage/meta-store.js";
import { BlobStore } from "../../storage/object-store.js";
import { publishTask } from "../../storage/tasks.js";
import { rejectsWith } from "../assert.js";
import { startEnv, tempDir, type TestEnv } from "../harness.js";
import { randomVectors } from "../random.js";
import { eventually, TEST_TIMEOUT_MS } from "../timeouts.js";

const names = new Names();
const DIM = 16;

/** Quick setup declares AUTOINDEX; these tests declare their own. */
async function createUnindexed(c: VecbusClient, args: Parameters<VecbusClient["create_collection"]>[0]): Promise<CollectionDescription> {
  const desc = await c.create_collection(args);
  await c.drop_index({ collection_name: desc.collection_name, index_name: "vector" });
  return desc;
}

async function fill(client: VecbusClient, name: string, from: number, count: number): Promise<void> {
  const vectors = randomVectors(count, DIM, from + 1);
  for (let i = 0; i < count; i += 100) {
    const data = vectors.slice(i, i + 100).map((vector, k) => ({ id: from + i + k, vector, n: from + i + k }));
    await client.insert({ collection_name: name, data });
  }
}

async function segmentsOf(meta: MetaStore, cid: number): Promise<ShardSegments[]> {
  return [...(await meta.list<ShardSegments>(MetaKey.segmentsOf(cid))).values()].map((v) => v.value);
}

async function waitFinished(client: VecbusClient, name: string): Promise<IndexDescription> {
  let d: IndexDescription | undefined;
  await eventually(`index vidx of ${name} finished`, async () => (d = await client.describe_index({ collection_name: name, index_name: "vidx" })).state === "Finished");
  return d!;
}

describe("indexes", () => {
  let env: TestEnv;
  let meta: MetaStore;
  let blobs: BlobStore;

  before(async () => {
    env = await startEnv({ tag: "indexes", seal: { segmentRowsMax: 100, sealIdleMs: 600_000 }, data: { ackWaitMs: 5_000 } });
    meta = new MetaStore(await new Kvm(env.admin).open(names.metaBucket()));
    blobs = await BlobStore.open(env.admin, names.objectBucket());
  });
  after(async () => env?.close());

  test("indexes - create_index checks its arguments", async () => {
    const c = env.client;
    await createUnindexed(c, { collection_name: "ixv", dimension: DIM, metric_type: "L2" });
    const one = (p: Record<string, unknown>) => c.call("create_index", { collection_name: "ixv", index_params: [{ field_name: "vector", index_type: "HNSW", ...p }] });
    await rejectsWith(c.call("create_index", { collection_name: "ixv" }), "INVALID_ARGUMENT", /index_params/);
    await rejectsWith(one({ field_name: "nope" }), "FIELD_NOT_FOUND", /no field "nope".*vector/);
    await rejectsWith(one({ field_name: "id" }), "INVALID_ARGUMENT", /"HNSW" cannot index Int64 field "id"; use one of INVERTED, BITMAP, STL_SORT, AUTOINDEX/);
    await rejectsWith(one({ index_type: "IVF_FLAT" }), "INVALID_ARGUMENT", /FLAT, HNSW, HNSW_SQ, AUTOINDEX/);
    await rejectsWith(one({ metric_type: "HAMMING" }), "INVALID_ARGUMENT", /metric_type "HAMMING" is not supported; use L2, IP or COSINE/);
    await rejectsWith(one({ params: { M: 1 } }), "INVALID_ARGUMENT", /M must be an integer from 2 to 2048/);
    await rejectsWith(one({ params: { efConstruction: 1000 } }), "INVALID_ARGUMENT", /efConstruction must be an integer from 8 to 512/);
    await rejectsWith(one({ params: { nlist: 128 } }), "INVALID_ARGUMENT", /does not take param\(s\) nlist/);
    await rejectsWith(one({ index_type: "HNSW_SQ", params: { sq_type: "SQ8" } }), "INVALID_ARGUMENT", /FP16 or BF16/);
    await rejectsWith(c.describe_index({ collection_name: "ixv" }), "INDEX_NOT_FOUND");
    await rejectsWith(c.drop_index({ collection_name: "ixv", index_name: "vector" }), "INDEX_NOT_FOUND");
    await rejectsWith(c.create_index({ collection_name: "nope", index_params: [{ field_name: "vector" }] }), "COLLECTION_NOT_FOUND");

    // FLAT needs no build: every flushed row counts as indexed.
    await c.create_index({ collection_name: "ixv", index_params: [{ field_name: "vector", index_type: "FLAT", metric_type: "L2" }] });
    await c.create_index({ collection_name: "ixv", index_params: [{ field_name: "vector", index_type: "FLAT" }] });
    await rejectsWith(one({}), "INVALID_ARGUMENT", /already has index "vector" \(FLAT\).*drop_index/);
    const d = await c.describe_index({ collection_name: "ixv", field_name: "vector" });
    assert.equal(d.state, "Finished");
    assert.equal(d.index_name, "vector");
    assert.deepEqual(await c.list_indexes({ collection_name: "ixv" }), ["vector"]);
    await c.drop_index({ collection_name: "ixv", index_name: "vector" });
    assert.deepEqual(await c.list_indexes({ collection_name: "ixv" }), []);
  });

  test("indexes - HNSW builds for every flushed segment; list and drop", { timeout: TEST_TIMEOUT_MS }, async () => {
    const c = env.client;
    const name = "ixh";
    const desc = await createUnindexed(c, { collection_name: name, dimension: DIM, metric_type: "L2", num_shards: 2 });
    await fill(c, name, 0, 500);
    await c.create_index({ collection_name: name, index_params: [{ field_name: "vector", index_type: "HNSW", index_name: "vidx", params: { M: 8, efConstruction: 64 } }] });
    await fill(c, name, 500, 250);
    await c.flush({ collection_name: name });
    const d = await waitFinished(c, name);
    const segs = (await segmentsOf(meta, desc.collection_id)).flatMap((s) => s.segments);
    const flushedRows = segs.reduce((n, s) => n + s.row_count, 0);
    assert.equal(flushedRows, 750);
    assert.ok(segs.length >= 4, `segments: ${segs.length}`);
    assert.deepEqual({ indexed: d.indexed_rows, total: d.total_rows, pending: d.pending_index_rows }, { indexed: 750, total: 750, pending: 0 });
    assert.deepEqual(d.params, { M: 8, efConstruction: 64 });
    assert.equal(d.metric_type, "L2");

    const objects = (await blobs.list()).map((o) => o.name).filter((n) => n.startsWith(`idx/${desc.collection_id}/`));
    assert.equal(objects.length, segs.length);
    for (const s of segs) {
      const rec = s.indexes?.vector;
      assert.ok(rec, `segment ${s.segment_id} has an index record`);
      assert.ok(objects.includes(rec.object), rec.object);
      assert.match(rec.object, new RegExp(`^idx/${desc.collection_id}/\\d+/${s.segment_id}/vector-\\d+$`));
    }
    // The file is a usearch index of the segment's rows.
    const dir = tempDir("ixfile");
    try {
      const file = path.join(dir, "x.usearch");
      fs.writeFileSync(file, (await blobs.get(segs[0].indexes!.vector.object))!);
      const ix = new Index({ dimensions: DIM, metric: MetricKind.L2sq, quantization: ScalarKind.F32, connectivity: 8, expansion_add: 64, expansion_search: 64, multi: false });
      ix.view(file);
      assert.equal(ix.size(), segs[0].row_count);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }

    // New rows after the build: growing rows are pending until flushed and built.
    await fill(c, name, 750, 50);
    const more = await c.describe_index({ collection_name: name, index_name: "vidx" });
    assert.equal(more.indexed_rows, 750);
    assert.equal(more.total_rows, 800);
    assert.equal(more.pending_index_rows, 50);
    await c.flush({ collection_name: name });
    assert.equal((await waitFinished(c, name)).indexed_rows, 800);
    // Search is unchanged (exact) and still sees every row.
    const [hits] = await c.search({ collection_name: name, data: [randomVectors(1, DIM, 1)[0]], limit: 1, consistency_level: "Strong" });
    assert.equal(hits[0].id, 0);

    assert.deepEqual(await c.list_indexes({ collection_name: name }), ["vidx"]);
    await c.drop_index({ collection_name: name, index_name: "vidx" });
    assert.deepEqual(await c.list_indexes({ collection_name: name }), []);
    await rejectsWith(c.describe_index({ collection_name: name, index_name: "vidx" }), "INDEX_NOT_FOUND");
    const after = (await segmentsOf(meta, desc.collection_id)).flatMap((s) => s.segments);
    assert.ok(after.every((s) => !s.indexes?.vector), "records removed");
    assert.equal((await blobs.list()).filter((o) => o.name.startsWith(`idx/${desc.collection_id}/`)).length, 0, "files removed");
  });
});

describe("index build tasks", () => {
  let env: TestEnv;

  before(async () => {
    env = await startEnv({ tag: "ixtasks", roles: ["streaming", "coordinator", "proxy"], seal: { segmentRowsMax: 100, sealIdleMs: 600_000 } });
  });
  after(async () => env?.close());

  test("indexes - a data node stopped mid-task and a task queued twice still give one index per segment", { timeout: TEST_TIMEOUT_MS }, async () => {
    const c = env.client;
    const name = "ixt";
    const desc = await createUnindexed(c, { collection_name: name, dimension: DIM, metric_type: "COSINE" });
    await fill(c, name, 0, 300);
    await c.flush({ collection_name: name });
    await c.create_index({ collection_name: name, index_params: [{ field_name: "vector", index_type: "HNSW_SQ", index_name: "vidx", params: { sq_type: "BF16" } }] });

    // Node A takes a task, uploads, and is stopped (its connection closed) before it commits.
    const ncA = await env.connectAs("data", "data-a");
    const ctxA = await openContext(ncA, names.prefix, "data-a");
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    let taken!: (t: Task) => void;
    const took = new Promise<Task>((r) => (taken = r));
    const a = new DataNode(ctxA, "a", { ackWaitMs: 1_500, beforeCommit: async (t) => (taken(t), released) });
    await a.start();
    const stuck = (await took) as BuildIndexTask;
    await closeConnection(ncA, 200);
    await a.stop().catch(() => undefined);
    release();

    // The stuck task is also queued a second time, past the duplicate check.
    const ncP = await env.connectAs("coordinator", "pub");
    const ctxP = await openContext(ncP, names.prefix, "pub");
    assert.equal(await publishTask(ctxP.js, names, stuck, "another-id"), true);

    const ncB = await env.connectAs("data", "data-b");
    const b = new DataNode(await openContext(ncB, names.prefix, "data-b"), "b", { ackWaitMs: 1_500 });
    await b.start();
    try {
      const d = await waitFinished(c, name);
      assert.equal(d.indexed_rows, 300);
      // Let the redelivered and duplicate tasks run too.
      const segmentOf = (t: Task) => (t.kind === "build_index" ? t.segment_id : undefined);
      const forStuck = () => b.finished.filter((f) => segmentOf(f.task) === stuck.segment_id);
      await eventually("the redelivered and the duplicate task of the stuck segment", () => forStuck().length >= 2);
      const outcomes = forStuck().map((f) => f.outcome);
      assert.equal(outcomes.filter((o) => o === "committed").length, 1, `outcomes: ${outcomes}`);
      const committed = b.finished.filter((f) => f.outcome === "committed").map((f) => segmentOf(f.task));
      assert.equal(new Set(committed).size, committed.length, "each segment committed once");

      const meta = new MetaStore(await new Kvm(env.admin).open(names.metaBucket()));
      const segs = (await segmentsOf(meta, desc.collection_id)).flatMap((s) => s.segments);
      assert.equal(segs.length, 3);
      assert.ok(segs.every((s) => Object.keys(s.indexes ?? {}).length === 1 && s.indexes!.vector.index_type === "HNSW_SQ"));
      const blobs = await BlobStore.open(env.admin, names.objectBucket());
      const objects = (await blobs.list()).filter((o) => o.name.startsWith(`idx/${desc.collection_id}/`));
      assert.deepEqual(objects.map((o) => o.name).sort(), segs.map((s) => s.indexes!.vector.object).sort());
    } finally {
      await b.stop();
      await closeConnection(ncB);
      await closeConnection(ncP);
    }
  });
});
