// get_load_state reads Loaded only once every segment a query node should
// serve is placed and loaded there (issue 10: an indexed segment the
// coordinator had not placed yet used to leave the placement empty, and
// `every` over nothing said Loaded). Checked on the meta the load state is
// read from, written here by hand, so no sweep timing is involved.
import assert from "node:assert/strict";
import { test } from "node:test";
import { openContext } from "../../actors/context.js";
import { loadState } from "../../actors/proxy/load.js";
import type { CollectionMeta } from "../../protocol/collection.js";
import type { Placement, SegmentRef, ShardSegments } from "../../protocol/messages.js";
import { MetaKey, SessionKey } from "../../protocol/subjects.js";
import { encode } from "../../runtime/codec.js";
import { startEnv } from "../harness.js";

const index = { field_name: "vector", index_name: "vector", index_type: "HNSW", metric_type: "L2", params: {}, created_at: 0 } as const;
const meta = (build: number) =>
  ({
    id: 77,
    name: "ls",
    schema: { fields: [], enable_dynamic_field: false },
    num_shards: 1,
    metric_type: "L2",
    created_at: 0,
    partitions: ["_default"],
    consistency_level: "Bounded",
    indexes: { vector: { ...index, build } },
  }) satisfies CollectionMeta;
const segment = (id: number, rows: number, build: number): SegmentRef => ({
  segment_id: id,
  object: `seg/77/0/${id}-1`,
  row_count: rows,
  seq_from: 1,
  seq_to: id,
  pk_min: 0,
  pk_max: rows - 1,
  delete_logs: [],
  state: "flushed",
  indexes: { vector: { object: `idx/77/0/${id}/vector-${build}`, index_type: "HNSW", params: {}, build, bytes: 1 } },
});

test("load state - Loaded only once every indexed segment is placed and loaded on a query node", async () => {
  const env = await startEnv({ tag: "load-state", roles: "none" });
  try {
    const ctx = await openContext(env.admin, "vecbus", "test");
    const placement = (segments: Placement["segments"]) => ctx.meta.put<Placement>(MetaKey.placement(77), { collection_id: 77, loaded: true, segments });
    await ctx.meta.put<ShardSegments>(MetaKey.segments(77, 0), { collection_id: 77, shard: 0, epoch: 1, checkpoint_seq: 20, segments: [segment(10, 300, 1), segment(20, 100, 1)] });
    // As a release before replicas wrote it: one node per entry, read as one copy.
    await placement({ "0-10": { node: "q1", state: "loaded", rows: 300, builds: { vector: 1 } } } as unknown as Placement["segments"]);
    assert.deepEqual((await ctx.meta.get<Placement>(MetaKey.placement(77)))?.value.segments["0-10"].copies, [{ node: "q1", state: "loaded" }]);

    // With no query node alive the shard owner serves every segment: nothing to wait for.
    assert.deepEqual(await loadState(ctx, meta(1)), { state: "Loaded", progress: 100 });

    await ctx.sessions.put(SessionKey.node("query", "q1"), encode({ role: "query", node_id: "q1", host: "h", pid: 1, started_at: 0 }));
    // Segment 20 is indexed but not placed yet: the bug said Loaded here.
    assert.deepEqual(await loadState(ctx, meta(1)), { state: "Loading", progress: 75 });
    const q1 = (state: "loading" | "loaded") => ({ node: "q1", state });
    await placement({
      "0-10": { copies: [q1("loaded")], rows: 300, builds: { vector: 1 } },
      "0-20": { copies: [q1("loading")], rows: 100, builds: { vector: 1 } },
    });
    assert.deepEqual(await loadState(ctx, meta(1)), { state: "Loading", progress: 75 });
    await placement({
      "0-10": { copies: [q1("loaded")], rows: 300, builds: { vector: 1 } },
      "0-20": { copies: [q1("loaded")], rows: 100, builds: { vector: 1 } },
    });
    assert.deepEqual(await loadState(ctx, meta(1)), { state: "Loaded", progress: 100 });
    // A new index build declared: segments keep being served with what they have until theirs is built.
    assert.deepEqual(await loadState(ctx, meta(2)), { state: "Loaded", progress: 100 });
    assert.deepEqual(await loadState(ctx, { ...meta(1), released: true }), { state: "NotLoad", progress: 0 });
    // Two replicas: every copy counts, and the second copy of segment 10 is still loading (300 of 800 rows).
    await placement({
      "0-10": { copies: [q1("loaded"), { node: "q2", state: "loading" }], rows: 300, builds: { vector: 1 } },
      "0-20": { copies: [q1("loaded"), { node: "q2", state: "loaded" }], rows: 100, builds: { vector: 1 } },
    });
    assert.deepEqual(await loadState(ctx, meta(1)), { state: "Loading", progress: 62 });
  } finally {
    await env.close();
  }
});
