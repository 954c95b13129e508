// The shard owner is not the only writer of its segments key: data nodes
// record built indexes in it. An owner whose flush commit loses the
// compare-and-set to such a record must re-read the key and keep the
// record — in the commit it retries, in the commits after it, and without
// taking it onto a compaction's output, which brings its own indexes; the
// index of a segment the commit drops is deleted with it.
import assert from "node:assert/strict";
import { test } from "node:test";
import { COMPACTED_SEGMENT_BASE, type SegmentIndexRef } from "../../protocol/indexes.js";
import type { SegmentRef, ShardSegments } from "../../protocol/messages.js";
import { MetaKey } from "../../protocol/subjects.js";
import { logger } from "../../runtime/log.js";
import { SegmentSet } from "../../actors/streaming/segment-set.js";
import { SegmentStore, type FlushSnapshot } from "../../storage/segment-store.js";
import { startEnv } from "../harness.js";
import { openShardStorage, rows, SCHEMA } from "./shard-storage.js";
import { TEST_TIMEOUT_MS } from "../timeouts.js";
import { batchOfRows } from "../../protocol/columns.js";
import { sealedOf } from "../sealed-of.js";

const CID = 7;
const index = (name: string): SegmentIndexRef => ({ object: `idx/${name}`, index_type: "HNSW", params: { M: 16 }, build: 1, bytes: 1 });

function snapshot(set: SegmentSet, checkpoint: number, uploaded?: FlushSnapshot["uploaded"]): FlushSnapshot {
  return { checkpoint, segments: set.sealedSegments.map((segment) => ({ segment, deletions: segment.keys.deletedCount })), uploaded };
}

test("flush takeover - an owner that loses its commit to a data node's index record keeps the record", { timeout: TEST_TIMEOUT_MS }, async () => {
  const env = await startEnv({ roles: "none", tag: "flush-takeover" });
  try {
    const { wal, meta, blobs } = await openShardStorage(env, CID);
    const key = MetaKey.segments(CID, 0);
    const committed = async () => (await meta.get<ShardSegments>(key))!.value;
    const indexesOf = (s: ShardSegments) => Object.fromEntries(s.segments.map((r) => [r.segment_id, r.indexes ?? null]));
    /** What a data node does once its build is uploaded: record it in the segment's entry by CAS. */
    const recordIndex = (segmentId: number, ref: SegmentIndexRef) =>
      meta.casUpdate<ShardSegments>(key, (cur) => ({ ...cur!, segments: cur!.segments.map((s) => (s.segment_id === segmentId ? { ...s, indexes: { v: ref } } : s)) }));

    const { store, segments } = await SegmentStore.open({ meta, blobs, wal, log: logger("test") }, { collectionId: CID, shard: 0, epoch: 1 });
    const set = new SegmentSet(SCHEMA, segments, CID, () => Promise.reject(new Error("no query node")));
    set.insert(batchOfRows(SCHEMA, rows([1, 2])), 1n);
    set.seal({ segment_id: 2, collection_id: CID, shard: 0, seq_from: 1, seq_to: 2 });
    assert.equal(await store.commit(snapshot(set, 2)), 1);

    // A data node records segment 2's index; the owner's next commit is on the revision before it.
    await recordIndex(2, index("2"));
    set.insert(batchOfRows(SCHEMA, rows([3])), 2n);
    set.seal({ segment_id: 4, collection_id: CID, shard: 0, seq_from: 3, seq_to: 4 });
    assert.equal(await store.commit(snapshot(set, 4)), 1, "the flush went through after the conflict");
    let now = await committed();
    assert.equal(now.checkpoint_seq, 4);
    assert.deepEqual(indexesOf(now), { 2: { v: index("2") }, 4: null }, "the retried commit kept the data node's record");

    // A later commit with no conflict starts from what the owner remembers: the record stays.
    set.insert(batchOfRows(SCHEMA, rows([5])), 3n);
    set.seal({ segment_id: 5, collection_id: CID, shard: 0, seq_from: 5, seq_to: 5 });
    assert.equal(await store.commit(snapshot(set, 5)), 1);
    now = await committed();
    assert.deepEqual(indexesOf(now), { 2: { v: index("2") }, 4: null, 5: null }, "the next commit kept it too");

    // A compaction's output replaces 4 and 5 with its own index, while a data node records segment 5's
    // (about to be replaced): the commit conflicts, the merged segment keeps the index it came with,
    // and segment 5's index, learnt from the conflict, goes with segment 5.
    const target = COMPACTED_SEGMENT_BASE + 1;
    const merged = sealedOf({ segment_id: target, collection_id: CID, shard: 0, seq_from: 3, seq_to: 5 }, SCHEMA, rows([3, 5]), [2n, 3n]);
    const ref: SegmentRef = { segment_id: target, object: `seg/${CID}/0/${target}-c`, row_count: 2, seq_from: 3, seq_to: 5, pk_min: 3, pk_max: 5, delete_logs: [], state: "flushed", indexes: { v: index("merged") } };
    assert.ok(set.replace([4, 5], merged));
    await blobs.put(index("5").object, new Uint8Array([5]));
    await recordIndex(5, index("5"));
    await store.commit(snapshot(set, 5, new Map([[target, ref]])));
    now = await committed();
    assert.deepEqual(indexesOf(now), { 2: { v: index("2") }, [target]: { v: index("merged") } }, "the merged segment kept its own index; 2 kept its record");
    assert.equal(now.epoch, 1, "the owner was never fenced");
    assert.ok(!(await blobs.list()).some((o) => o.name === index("5").object), "the replaced segment's index object was deleted");
  } finally {
    await env.close();
  }
});
