// The segment store against a real NATS: commit, load with delete logs, and
// fencing — once a newer owner has claimed the shard, an older owner's
// commit fails before it can change the key or purge the WAL, and what it
// uploaded is never read.
import assert from "node:assert/strict";
import { test } from "node:test";
import { VecbusError } from "../../protocol/errors.js";
import type { ShardSegments } from "../../protocol/messages.js";
import { MetaKey } from "../../protocol/subjects.js";
import { logger } from "../../runtime/log.js";
import { SegmentSet } from "../../actors/streaming/segment-set.js";
import { RemoteSegment } from "../../engine/remote-segment.js";
import { SegmentStore, type FlushSnapshot } from "../../storage/segment-store.js";
import { startEnv } from "../harness.js";
import { openShardStorage, rows, SCHEMA } from "./shard-storage.js";
import { batchOfRows } from "../../protocol/columns.js";


function seal(set: SegmentSet, from: number, to: number): FlushSnapshot {
  set.seal({ segment_id: to, collection_id: 9, shard: 0, seq_from: from, seq_to: to });
  return { checkpoint: to, segments: set.sealedSegments.map((segment) => ({ segment, deletions: segment.keys.deletedCount })) };
}

test("segment store - commit, reload with delete logs, and a stale owner fenced off", async () => {
  const env = await startEnv({ roles: "none", tag: "segstore" });
  try {
    const { jsm, stream, wal, meta, blobs } = await openShardStorage(env, 9);
    const deps = { meta, blobs, wal, log: logger("test") };
    const shard = { collectionId: 9, shard: 0 };

    const a = await SegmentStore.open(deps, { ...shard, epoch: 1 });
    assert.deepEqual([a.store.checkpoint, a.segments.length], [0, 0]);
    const set = new SegmentSet(SCHEMA, a.segments, 9, () => Promise.reject(new Error("no query node")));
    set.insert(batchOfRows(SCHEMA, rows([1, 2, 3, 4])), 1n);
    assert.equal(await a.store.commit(seal(set, 1, 2)), 1);
    set.delete([2]);
    set.insert(batchOfRows(SCHEMA, rows([3, 10])), 2n);
    assert.equal(await a.store.commit(seal(set, 3, 4)), 1);
    assert.equal(await a.store.commit(seal(set, 5, 4)), 0, "nothing after the checkpoint: no commit");
    assert.equal((await jsm.streams.info(stream)).state.first_seq, 5);

    const b = await SegmentStore.open(deps, { ...shard, epoch: 2 });
    assert.equal(b.store.checkpoint, 4);
    const reloaded = new SegmentSet(SCHEMA, b.segments, 9, () => Promise.reject(new Error("no query node")));
    const ids = async (s: SegmentSet) => (await s.matchingIds({})).sort((x, y) => (x as number) - (y as number));
    assert.deepEqual(await ids(reloaded), [1, 3, 4, 10], "the delete of 2 and the re-insert of 3 came back from the delete logs");
    const stored = (await reloaded.get([1, 2, 3, 4, 10], ["v"])).sort((x, y) => (x.id as number) - (y.id as number));
    assert.deepEqual(stored, [1, 3, 4, 10].map((id) => ({ id, v: [id, -id] })), "the rows as written");

    // The old owner goes on: its seal uploads, but its commit fails, and it purges nothing.
    set.insert(batchOfRows(SCHEMA, rows([20])), 3n);
    const replaced = (e: unknown) => e instanceof VecbusError && e.code === "SHARD_NOT_READY" && /newer owner/.test(e.message);
    await assert.rejects(a.store.commit(seal(set, 5, 6)), replaced);
    const key = (await meta.get<ShardSegments>(MetaKey.segments(9, 0)))!.value;
    assert.deepEqual([key.epoch, key.checkpoint_seq, key.segments.length], [2, 4, 2]);
    assert.equal((await jsm.streams.info(stream)).state.first_seq, 5, "records 5 and 6 stay in the WAL");
    assert.ok((await blobs.list()).some((o) => o.name === "seg/9/0/6-1"), "the stale upload exists, as garbage nothing names");
    const objects = (await blobs.list()).length;
    set.insert(batchOfRows(SCHEMA, rows([21])), 4n);
    await assert.rejects(a.store.commit(seal(set, 7, 7)), replaced);
    assert.equal((await blobs.list()).length, objects, "once fenced, the old owner uploads nothing more");
    await assert.rejects(SegmentStore.open(deps, { ...shard, epoch: 1 }), replaced);

    // The new owner commits on top of what it claimed.
    reloaded.insert(batchOfRows(SCHEMA, rows([30])), 3n);
    assert.equal(await b.store.commit(seal(reloaded, 5, 6)), 1);
    assert.equal((await jsm.streams.info(stream)).state.first_seq, 7);

    // Segments a query node serves come back as keys alone, read from the head of their blobs, with their delete logs.
    const c = await SegmentStore.open(deps, { ...shard, epoch: 3 }, () => ["q2", "q1"]);
    assert.ok(c.segments.every((s) => s instanceof RemoteSegment && s.nodes.join() === "q1,q2"));
    const live = c.segments.flatMap((s) => s.keys.pks.filter((_, slot) => s.keys.isLive(slot)));
    assert.deepEqual(live.sort((x, y) => (x as number) - (y as number)), [1, 3, 4, 10, 30]);
    // A record that disagrees with the keys read (the prefix is not covered by the object's digest) is refused.
    const cur = (await meta.get<ShardSegments>(MetaKey.segments(9, 0)))!;
    await meta.update(MetaKey.segments(9, 0), { ...cur.value, segments: cur.value.segments.map((r, i) => (i === 0 ? { ...r, row_count: r.row_count + 1 } : r)) }, cur.revision);
    await assert.rejects(SegmentStore.open(deps, { ...shard, epoch: 4 }, () => ["q1"]), /do not match its committed record/);
  } finally {
    await env.close();
  }
});
