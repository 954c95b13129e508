// A compaction whose sources changed while it ran: the data node merged
// three small segments, but before it asks for the swap every row of one
// source is deleted and flushed, so that source leaves the shard's list.
// The owner must refuse the swap (the merged segment was built from a list
// that no longer exists), nothing is committed, and the data node deletes
// what it uploaded.
import assert from "node:assert/strict";
import { test } from "node:test";
import { DataNode } from "../../actors/data.js";
import type { CompactTask, Task } from "../../protocol/indexes.js";
import type { Row } from "../../protocol/rows.js";
import { Names, ObjectName } from "../../protocol/subjects.js";
import { closeConnection, connectNats, openContext } from "../../runtime/context.js";
import { BlobStore } from "../../storage/object-store.js";
import { startEnv } from "../harness.js";
import { randomVectors } from "../random.js";
import { committedSegments, liveIds, range } from "../segments.js";
import { eventually, TEST_TIMEOUT_MS } from "../timeouts.js";

const DIM = 8;
const names = new Names();

function rows(from: number, count: number): Row[] {
  return randomVectors(count, DIM, from + 5).map((vector, i) => ({ id: from + i, vector }));
}

test("compaction swap - refused when a source segment is gone; nothing committed, the upload deleted", { timeout: TEST_TIMEOUT_MS }, async () => {
  // No data node but the one the test drives, so the compaction task is sure to reach it.
  const env = await startEnv({ tag: "compact-swap", roles: ["streaming", "coordinator", "proxy"], seal: { segmentRowsMax: 200, sealIdleMs: 600_000 } });
  const nc = await connectNats(env.nats.url, "swap-data", { reconnectForever: false });
  let node: DataNode | undefined;
  let release!: () => void;
  const released = new Promise<void>((r) => (release = r));
  try {
    const c = env.client;
    const name = "cs";
    const { collection_id: cid } = await c.create_collection({ collection_name: name, dimension: DIM, metric_type: "L2" });
    // No index: the compaction only merges.
    await c.drop_index({ collection_name: name, index_name: "vector" });
    for (const from of [0, 60, 120]) {
      await c.insert({ collection_name: name, data: rows(from, 60) });
      await c.flush({ collection_name: name });
    }
    const sources = (await committedSegments(c.nc, cid)).map((s) => s.segment_id);
    assert.equal(sources.length, 3);

    let taken!: (t: Task) => void;
    const took = new Promise<Task>((r) => (taken = r));
    node = new DataNode(await openContext(nc, names.prefix, "swap-data"), "swap-data", { ackWaitMs: 5_000, beforeCommit: async (t) => (taken(t), released) });
    await node.start();
    await c.compact({ collection_name: name });
    const task = (await took) as CompactTask;
    assert.deepEqual(task.sources, sources);
    const blobs = await BlobStore.open(c.nc, names.objectBucket());
    const merged = ObjectName.compactedSegment(cid, 0, task.target);
    assert.ok((await blobs.list()).some((o) => o.name === merged), "the data node uploaded the merged segment before asking for the swap");

    // Meanwhile the first source loses every row: its flush drops it from the list.
    await c.delete({ collection_name: name, ids: range(0, 60) });
    await c.flush({ collection_name: name });
    await eventually("the emptied source dropped", async () => !(await committedSegments(c.nc, cid)).some((s) => s.segment_id === sources[0]));

    release();
    await eventually("the compaction task finished", () => node!.finished.some((f) => f.task.kind === "compact"));
    assert.deepEqual(
      node.finished.map((f) => f.outcome),
      ["obsolete"],
      "the owner refused the swap",
    );
    assert.deepEqual(
      (await committedSegments(c.nc, cid)).map((s) => s.segment_id),
      sources.slice(1),
      "the committed list is the flush's, without the merged segment",
    );
    assert.ok(!(await blobs.list()).some((o) => o.name === merged), "the refused upload was deleted");
    assert.deepEqual(await liveIds(c, name), range(60, 120));
  } finally {
    release();
    await node?.stop();
    await closeConnection(nc, 200);
    await env.close();
  }
});
