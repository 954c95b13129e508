// A query node keeps downloaded segment and index files in its cache dir;
// objects never change, so a restarted node (same node id, same cache dir)
// loads its placed segments from those files instead of downloading them
// again. Observed on the files themselves: after the restart and a read the
// node answers, every cached file is the same inode, unmodified. But object
// names repeat across stores: a cache dir that outlives its store (a data
// dir made anew, the default cache dir of `vecbus start query` under the OS
// temp dir) must not answer for another store's segment of the same name.
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";
import type { QueryNodeMsg, QueryNodeReplies } from "../../protocol/messages.js";
import type { Row } from "../../protocol/rows.js";
import { Names } from "../../protocol/subjects.js";
import { request } from "../../runtime/rpc.js";
import { QueryNode } from "../../actors/query.js";
import { openContext } from "../../actors/context.js";
import { startEnv, tempDir } from "../harness.js";
import { randomVectors } from "../random.js";
import { committedSegments, liveIds, range } from "../segments.js";
import { eventually, TEST_TIMEOUT_MS } from "../timeouts.js";

const DIM = 8;
const names = new Names();

function rows(from: number, count: number): Row[] {
  return randomVectors(count, DIM, from + 23).map((vector, i) => ({ id: from + i, vector }));
}

/** Every file in the cache dir: its inode and modification time. */
function cacheFiles(dir: string): Map<string, { ino: number; mtimeMs: number }> {
  return new Map(
    fs.readdirSync(dir).map((f) => {
      const st = fs.statSync(path.join(dir, f));
      return [f, { ino: st.ino, mtimeMs: st.mtimeMs }];
    }),
  );
}

test("query cache - a restarted query node loads its segments from the cached files, not the object store", { timeout: TEST_TIMEOUT_MS }, async () => {
  const env = await startEnv({ tag: "query-cache", seal: { segmentRowsMax: 300, sealIdleMs: 600_000 } });
  try {
    const c = env.client;
    const name = "qc";
    const { collection_id: cid } = await c.create_collection({ collection_name: name, dimension: DIM, metric_type: "L2" });
    const written: Row[] = [];
    for (const from of [0, 200]) {
      written.push(...rows(from, 200));
      await c.insert({ collection_name: name, data: written.slice(from) });
      await c.flush({ collection_name: name });
    }
    const ids = (await committedSegments(env.admin, cid)).map((s) => s.segment_id);
    // Asked directly, a query node counts only the segments it has loaded (SHARD_NOT_READY otherwise).
    const count: QueryNodeMsg = { kind: "count", collection_id: cid, segments: ids.map((segment_id) => ({ shard: 0, segment_id, dead: [] })) };
    const loadedOnQueryNode = async () => {
      try {
        return (await request<QueryNodeReplies["count"]>(env.admin, names.querySubject("test-query"), count)).count === 400;
      } catch {
        return false;
      }
    };
    await eventually("both segments loaded on the query node", loadedOnQueryNode);
    const segments = await committedSegments(env.admin, cid);
    const objects = segments.flatMap((s) => [s.object, ...Object.values(s.indexes ?? {}).map((i) => i.object)]);
    assert.equal(objects.length, 4, "two segments, each with its index");
    const dir = path.join(env.dataDir, "query-cache");
    const before = cacheFiles(dir);
    assert.deepEqual(
      [...before.keys()].map((f) => f.slice(0, f.indexOf(".SHA-256"))).sort(),
      objects.map((o) => o.replaceAll("/", "_")).sort(),
      "the cache holds each placed object once",
    );

    await env.restart();
    // The restarted node starts with nothing loaded: once it answers, it has opened both segments again.
    await eventually("both segments loaded on the restarted query node", loadedOnQueryNode);
    assert.deepEqual(await liveIds(c, name), range(0, 400));
    const [q] = randomVectors(1, DIM, 77);
    const exact = written
      .map((r) => ({ id: r.id as number, d: (r.vector as number[]).reduce((s, x, k) => s + (x - q[k]) ** 2, 0) }))
      .sort((a, b) => a.d - b.d || a.id - b.id)
      .slice(0, 5)
      .map((e) => e.id);
    const hits = (await c.search({ collection_name: name, data: [q], limit: 5, consistency_level: "Strong", search_params: { params: { ef: 400 } } }))[0];
    assert.deepEqual(
      hits.map((h) => h.id),
      exact,
    );
    assert.deepEqual(cacheFiles(dir), before, "every cached file is the one written before the restart");
  } finally {
    await env.close();
  }
});

test("query cache - a cache dir that outlives its store does not answer for another store's segment of the same name", { timeout: TEST_TIMEOUT_MS }, async () => {
  const cacheDir = tempDir("shared-cache");
  try {
    // Two stores in turn, the same names (collection 1, the same segment ids), different rows; one query node id and cache dir.
    for (const from of [0, 5000]) {
      const env = await startEnv({ tag: "query-cache-reuse", roles: ["streaming", "coordinator", "data", "proxy"], seal: { segmentRowsMax: 300, sealIdleMs: 600_000 } });
      const node = new QueryNode(await openContext(await env.connectAs("query", "q-reused"), names.prefix, "q-reused"), "q-reused", { cacheDir });
      await node.start();
      try {
        const c = env.client;
        const { collection_id: cid } = await c.create_collection({ collection_name: "reuse", dimension: DIM, metric_type: "L2" });
        assert.equal(cid, 1);
        await c.insert({ collection_name: "reuse", data: rows(from, 200) });
        await c.flush({ collection_name: "reuse" });
        await eventually("the segment loaded on the query node", async () => (await c.get_load_state({ collection_name: "reuse" })).state === "Loaded" && (await committedSegments(env.admin, cid)).length === 1);
        await eventually("the query node serving it", async () => (await c.status()).segments.some((s) => s.segment_id !== null && s.served_by === "query q-reused"));
        assert.deepEqual(await liveIds(c, "reuse"), range(from, 200));
      } finally {
        await node.stop();
        await env.close();
      }
    }
  } finally {
    fs.rmSync(cacheDir, { recursive: true, force: true });
  }
});
