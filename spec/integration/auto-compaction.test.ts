// Automatic compaction: VECBUS_AUTO_COMPACTION=0 keeps the coordinator from
// merging small segments by itself, unset it merges them; and a compaction
// the coordinator planned is queued once, not again at every sweep, while
// no data node has taken it yet (the coordinator's `queued` map: each
// automatic task has a fresh target, so the stream's msgID dedupe cannot
// collapse them).
import assert from "node:assert/strict";
import path from "node:path";
import { describe, test } from "node:test";
import { startCluster, type Cluster } from "../../cli/cluster.js";
import { COMPACTED_SEGMENT_BASE, type Task } from "../../protocol/indexes.js";
import type { Row } from "../../protocol/rows.js";
import { Names } from "../../protocol/subjects.js";
import type { VecbusClient } from "../../runtime/client.js";
import { decode } from "../../runtime/codec.js";
import { startEnv, type TestEnv } from "../harness.js";
import { randomVectors } from "../random.js";
import { committedSegments, liveIds, range } from "../segments.js";
import { eventually, TEST_TIMEOUT_MS } from "../timeouts.js";

const DIM = 8;
const SEAL = { segmentRowsMax: 200, sealIdleMs: 600_000 };
const names = new Names();

function rows(from: number, count: number): Row[] {
  return randomVectors(count, DIM, from + 11).map((vector, i) => ({ id: from + i, vector }));
}

/** One flushed segment of 60 rows: "small" next to the 200-row seal size. */
async function smallSegment(c: VecbusClient, name: string, from: number): Promise<void> {
  await c.insert({ collection_name: name, data: rows(from, 60) });
  await c.flush({ collection_name: name });
}

/** Every task published on the tasks subjects, as the coordinator sent it (a core subscription sees publishes the stream collapses). */
function recordTasks(env: TestEnv): { tasks: Task[]; stop(): void } {
  const tasks: Task[] = [];
  const sub = env.admin.subscribe(names.taskWildcard(), { callback: (_e, m) => void tasks.push(decode(m.data) as Task) });
  return { tasks, stop: () => sub.unsubscribe() };
}

describe("automatic compaction switch", () => {
  test("auto compaction - VECBUS_AUTO_COMPACTION=0 leaves small segments alone; unset, the coordinator merges them", { timeout: TEST_TIMEOUT_MS }, async () => {
    const env = await startEnv({ roles: "none", tag: "autocompact-env" });
    const saved = process.env.VECBUS_AUTO_COMPACTION;
    let cluster: Cluster | undefined;
    const seen = recordTasks(env);
    // No autoCompaction option: the coordinator reads the environment, as under `vecbus serve`.
    const start = () => startCluster({ natsUrl: env.nats.url, credentials: env.credentials, nodeId: "ac", seal: SEAL, cacheDir: path.join(env.dataDir, "query-cache") });
    try {
      process.env.VECBUS_AUTO_COMPACTION = "0";
      cluster = await start();
      const c = env.client;
      const name = "ac";
      const { collection_id: cid } = await c.create_collection({ collection_name: name, dimension: DIM, metric_type: "L2" });
      const indexed = (id: number) => async () => (await committedSegments(env.admin, cid)).some((s) => s.segment_id === id && s.indexes?.vector);
      for (let i = 0; i < 6; i++) await smallSegment(c, name, i * 60);
      const six = (await committedSegments(env.admin, cid)).map((s) => s.segment_id);
      assert.equal(six.length, 6);
      // The sweep that queues a segment's index build plans compactions right after it, and the one
      // data node works tasks in queue order: once a build queued after the sixth segment is done,
      // any compaction planned with six small segments has run (or was never queued).
      await eventually("the sixth segment indexed", indexed(six[5]));
      await smallSegment(c, name, 360);
      const seventh = (await committedSegments(env.admin, cid)).map((s) => s.segment_id).find((id) => !six.includes(id))!;
      await eventually("the seventh segment indexed", indexed(seventh));
      const off = await committedSegments(env.admin, cid);
      assert.deepEqual(
        off.map((s) => s.segment_id),
        [...six, seventh],
        "with automatic compaction off, the seven small segments stay as flushed",
      );
      assert.deepEqual(
        seen.tasks.filter((t) => t.kind === "compact"),
        [],
        "no compaction task was queued",
      );
      assert.deepEqual(await liveIds(c, name), range(0, 420));

      // The same cluster again with the variable unset: on by default.
      await cluster.stop();
      cluster = undefined;
      delete process.env.VECBUS_AUTO_COMPACTION;
      cluster = await start();
      await eventually("the small segments merged", async () => {
        const now = await committedSegments(env.admin, cid);
        return now.length < 7 && now.some((s) => s.segment_id >= COMPACTED_SEGMENT_BASE);
      });
      const merged = await committedSegments(env.admin, cid);
      assert.equal(
        merged.reduce((n, s) => n + s.row_count - (s.deleted_count ?? 0), 0),
        420,
      );
      assert.deepEqual(await liveIds(c, name), range(0, 420));
    } finally {
      if (saved === undefined) delete process.env.VECBUS_AUTO_COMPACTION;
      else process.env.VECBUS_AUTO_COMPACTION = saved;
      seen.stop();
      await cluster?.stop();
      await env.close();
    }
  });
});

describe("a planned compaction waiting for a data node", () => {
  test("auto compaction - the coordinator queues a planned compaction once, not at every sweep", { timeout: TEST_TIMEOUT_MS }, async () => {
    // No data node: the planned task stays queued, and every sweep sees the same small segments.
    const env = await startEnv({ tag: "autocompact-once", roles: ["streaming", "coordinator", "proxy"], seal: SEAL, autoCompaction: true });
    const seen = recordTasks(env);
    try {
      const c = env.client;
      const a = await c.create_collection({ collection_name: "a", dimension: DIM, metric_type: "L2" });
      for (let i = 0; i < 3; i++) await smallSegment(c, "a", i * 60);
      const sources = (await committedSegments(env.admin, a.collection_id)).map((s) => s.segment_id);
      const compactsOfA = () => seen.tasks.filter((t) => t.kind === "compact" && t.collection_id === a.collection_id);
      await eventually("the compaction of a's small segments queued", () => compactsOfA().length > 0);

      // Sweeps go on: each flushed segment of b gets its build queued by a later sweep, and a sweep
      // that queues one goes on to plan a's compactions. Two of them, so one such sweep ran to its end.
      const b = await c.create_collection({ collection_name: "b", dimension: DIM, metric_type: "L2" });
      for (const from of [0, 60]) {
        await smallSegment(c, "b", from);
        const ids = (await committedSegments(env.admin, b.collection_id)).map((s) => s.segment_id);
        await eventually(`the build of b's segment ${ids.at(-1)} queued`, () =>
          seen.tasks.some((t) => t.kind === "build_index" && t.collection_id === b.collection_id && t.segment_id === ids.at(-1)),
        );
      }
      assert.deepEqual(
        compactsOfA().map((t) => t.kind === "compact" && t.sources),
        [sources],
        "one compaction task for a's three small segments",
      );
    } finally {
      seen.stop();
      await env.close();
    }
  });
});
