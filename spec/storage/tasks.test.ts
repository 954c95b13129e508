// The tasks work queue against a real JetStream: a task published again
// within the duplicate window is stored once (its msgID is derived from what
// it asks for), so data nodes run it once.
import assert from "node:assert/strict";
import { test } from "node:test";
import { DataNode } from "../../actors/data.js";
import type { BuildIndexTask } from "../../protocol/indexes.js";
import { Names } from "../../protocol/subjects.js";
import { closeConnection } from "../../runtime/connection.js";
import { openContext } from "../../actors/context.js";
import { ensureTaskStream, publishTask } from "../../storage/tasks.js";
import { startEnv } from "../harness.js";
import { eventually, TEST_TIMEOUT_MS } from "../timeouts.js";

const names = new Names();

/** A build of a collection that does not exist: a data node that takes it drops it as obsolete at once. */
function build(segment_id: number): BuildIndexTask {
  return {
    kind: "build_index",
    collection_id: 999,
    shard: 0,
    segment_id,
    field_name: "vector",
    index: { field_name: "vector", index_name: "vector", index_type: "HNSW", metric_type: "L2", params: { M: 16 }, build: 1, created_at: 0 },
  };
}

test("tasks - a task queued twice within the duplicate window is stored once and run once", { timeout: TEST_TIMEOUT_MS }, async () => {
  const env = await startEnv({ roles: "none", tag: "tasks" });
  // Tasks are queued as the coordinator queues them, and run by a data node: each with its role's permissions.
  const nc = await env.connectAs("data", "tasks-test");
  const coordNc = await env.connectAs("coordinator", "tasks-coordinator");
  let node: DataNode | undefined;
  try {
    const ctx = await openContext(nc, names.prefix, "tasks-test");
    const coord = await openContext(coordNc, names.prefix, "tasks-coordinator");
    await ensureTaskStream(ctx.jsm, names);
    const stored = async () => (await ctx.jsm.streams.info(names.taskStream())).state.messages;

    assert.equal(await publishTask(coord.js, names, build(1)), true, "the first publish is queued");
    // A fresh object with the same content: what a coordinator builds again at its next sweep.
    assert.equal(await publishTask(coord.js, names, build(1)), false, "the same task again collapses into the first");
    assert.equal(await stored(), 1);
    assert.equal(await publishTask(coord.js, names, build(2)), true, "another segment's build is another task");
    assert.equal(await stored(), 2);

    // The build of segment 2 was queued after the repeat of segment 1: once it has run, a second
    // copy of segment 1's build would have run before it.
    node = new DataNode(ctx, "tasks-data", { ackWaitMs: 5_000 });
    await node.start();
    await eventually("the build of segment 2 run", () => node!.finished.some((f) => f.task.kind === "build_index" && f.task.segment_id === 2));
    assert.deepEqual(
      node.finished.map((f) => [f.task.kind === "build_index" && f.task.segment_id, f.outcome]),
      [
        [1, "obsolete"],
        [2, "obsolete"],
      ],
    );
    await eventually("the work queue emptied by the acks", async () => (await stored()) === 0);
  } finally {
    await node?.stop();
    await closeConnection(nc, 200);
    await closeConnection(coordNc, 200);
    await env.close();
  }
});
