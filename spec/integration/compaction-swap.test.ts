// A compaction whose sources changed while it ran: the data node merged
// three small segments, but before it asks for the swap every row of one
// source is deleted and flushed, so that source leaves the shard's list.
// The owner must refuse the swap (the merged segment was built from a list
// that no longer exists), nothing is committed, and the data node deletes
// what it uploaded — also when the node that uploaded it died and the task
// reaches another node after the source went.
import assert from "node:assert/strict";
import { test } from "node:test";
import { DataNode } from "../../actors/data.js";
import type { CompactTask, Task } from "../../protocol/indexes.js";
import type { Row } from "../../protocol/rows.js";
import { Names, ObjectName } from "../../protocol/subjects.js";
import { closeConnection } from "../../runtime/connection.js";
import { openContext } from "../../actors/context.js";
import { BlobStore } from "../../storage/object-store.js";
import { startEnv, type TestEnv } from "../harness.js";
import { randomVectors } from "../random.js";
import { committedSegments, liveIds, range } from "../segments.js";
import { eventually, TEST_TIMEOUT_MS } from "../timeouts.js";

const DIM = 8;
const names = new Names();

function rows(from: number, count: number): Row[] {
  return randomVectors(count, DIM, from + 5).map((vector, i) => ({ id: from + i, vector }));
}

/** Three flushed 60-row segments of an unindexed collection, on a cluster without a data node of its own. */
async function threeSegments(env: TestEnv, name: string): Promise<{ cid: number; sources: number[] }> {
  const c = env.client;
  const { collection_id: cid } = await c.create_collection({ collection_name: name, dimension: DIM, metric_type: "L2" });
  // No index: the compaction only merges.
  await c.drop_index({ collection_name: name, index_name: "vector" });
  for (const from of [0, 60, 120]) {
    await c.insert({ collection_name: name, data: rows(from, 60) });
    await c.flush({ collection_name: name });
  }
  const sources = (await committedSegments(env.admin, cid)).map((s) => s.segment_id);
  assert.equal(sources.length, 3);
  return { cid, sources };
}

/** Deletes every row of the first source and flushes, so that source leaves the shard's list. */
async function emptyFirstSource(env: TestEnv, name: string, cid: number, sources: number[]): Promise<void> {
  await env.client.delete({ collection_name: name, ids: range(0, 60) });
  await env.client.flush({ collection_name: name });
  await eventually("the emptied source dropped", async () => !(await committedSegments(env.admin, cid)).some((s) => s.segment_id === sources[0]));
}

/** A data node that stops before its swap until `release` is called, reporting the task it holds. */
async function heldDataNode(env: TestEnv, id: string) {
  const nc = await env.connectAs("data", id);
  let release!: () => void;
  const released = new Promise<void>((r) => (release = r));
  let taken!: (t: Task) => void;
  const took = new Promise<Task>((r) => (taken = r));
  const node = new DataNode(await openContext(nc, names.prefix, id), id, { ackWaitMs: 5_000, beforeCommit: async (t) => (taken(t), released) });
  await node.start();
  const stop = async () => {
    release();
    await node.stop();
    await closeConnection(nc, 200);
  };
  return { node, took: took as Promise<CompactTask>, release, stop };
}

const SEGMENTS = { roles: ["streaming", "coordinator", "proxy"] as const, seal: { segmentRowsMax: 200, sealIdleMs: 600_000 } };

test("compaction swap - refused when a source segment is gone; nothing committed, the upload deleted", { timeout: TEST_TIMEOUT_MS }, async () => {
  // No data node but the one the test drives, so the compaction task is sure to reach it.
  const env = await startEnv({ tag: "compact-swap", ...SEGMENTS });
  let held: Awaited<ReturnType<typeof heldDataNode>> | undefined;
  try {
    const c = env.client;
    const name = "cs";
    const { cid, sources } = await threeSegments(env, name);
    held = await heldDataNode(env, "swap-data");
    await c.compact({ collection_name: name });
    const task = await held.took;
    assert.deepEqual(task.sources, sources);
    const blobs = await BlobStore.open(env.admin, names.objectBucket());
    const merged = ObjectName.compactedSegment(cid, 0, task.target);
    assert.ok((await blobs.list()).some((o) => o.name === merged), "the data node uploaded the merged segment before asking for the swap");

    await emptyFirstSource(env, name, cid, sources);
    held.release();
    const node = held.node;
    await eventually("the compaction task finished", () => node.finished.some((f) => f.task.kind === "compact"));
    assert.deepEqual(
      node.finished.map((f) => f.outcome),
      ["obsolete"],
      "the owner refused the swap",
    );
    assert.deepEqual(
      (await committedSegments(env.admin, cid)).map((s) => s.segment_id),
      sources.slice(1),
      "the committed list is the flush's, without the merged segment",
    );
    assert.ok(!(await blobs.list()).some((o) => o.name === merged), "the refused upload was deleted");
    assert.deepEqual(await liveIds(c, name), range(60, 120));
  } finally {
    await held?.stop();
    await env.close();
  }
});

test("compaction swap - a task redelivered after its data node died, whose source went meanwhile, deletes the dead node's upload", { timeout: TEST_TIMEOUT_MS }, async () => {
  const env = await startEnv({ tag: "compact-orphan", ...SEGMENTS });
  let first: Awaited<ReturnType<typeof heldDataNode>> | undefined;
  let second: DataNode | undefined;
  const nc = await env.connectAs("data", "second-data");
  try {
    const c = env.client;
    const name = "co";
    const { cid, sources } = await threeSegments(env, name);
    first = await heldDataNode(env, "first-data");
    await c.compact({ collection_name: name });
    const task = await first.took;
    const blobs = await BlobStore.open(env.admin, names.objectBucket());
    const merged = ObjectName.compactedSegment(cid, 0, task.target);
    assert.ok((await blobs.list()).some((o) => o.name === merged), "the first node uploaded the merged segment");
    // The first node goes away before its swap: the task is not acked and comes back after the ack wait.
    const dead = first;
    first = undefined;
    await dead.stop();
    assert.deepEqual(dead.node.finished, [], "the first node finished nothing");

    await emptyFirstSource(env, name, cid, sources);
    second = new DataNode(await openContext(nc, names.prefix, "second-data"), "second-data", { ackWaitMs: 5_000 });
    await second.start();
    const node = second;
    await eventually("the redelivered compaction task finished", () => node.finished.some((f) => f.task.kind === "compact"));
    assert.deepEqual(node.finished.map((f) => f.outcome), ["obsolete"]);
    assert.ok(!(await blobs.list()).some((o) => o.name === merged), "the dead node's upload was deleted");
    assert.deepEqual(
      (await committedSegments(env.admin, cid)).map((s) => s.segment_id),
      sources.slice(1),
    );
    assert.deepEqual(await liveIds(c, name), range(60, 120));
  } finally {
    await first?.stop();
    await second?.stop();
    await closeConnection(nc, 200);
    await env.close();
  }
});
