// Garbage collection: WAL streams, segment keys and objects of dropped
// collections, also those a drop that crashed half-way left behind.
import type { CollectionMeta } from "../../protocol/collection.js";
import { type ShardAssignment, type ShardSegments } from "../../protocol/messages.js";
import { MetaKey, ObjectName } from "../../protocol/subjects.js";
import { BlobStore } from "../../storage/object-store.js";
import { deleteWalStream } from "../../storage/wal.js";
import type { CoordinatorState } from "./state.js";

export async function deleteStreams(co: CoordinatorState, meta: CollectionMeta): Promise<void> {
  for (let s = 0; s < meta.num_shards; s++) await deleteWalStream(co.ctx.jsm, co.ctx.names.walStream(meta.id, s));
}

/**
 * Keys first: an object whose key is gone is never read again, so a crash
 * between the two leaves only garbage. Objects no key named (an interrupted
 * flush's) go too.
 */
export async function deleteSegments(co: CoordinatorState, collectionId: number): Promise<void> {
  for (const key of (await co.ctx.meta.list(MetaKey.segmentsOf(collectionId))).keys()) await co.ctx.meta.delete(key);
  co.blobs ??= await BlobStore.open(co.ctx.js, co.ctx.names.objectBucket());
  for (const o of await co.blobs.list()) if (ObjectName.ofCollection(collectionId, o.name)) await co.blobs.delete(o.name);
}

/**
 * Shard keys (and their WAL streams) whose collection is gone: left by a drop
 * that crashed half-way. Assignments are read before collections, so a
 * collection created in between is seen and its new shards are kept.
 */
export async function collectOrphanShards(co: CoordinatorState): Promise<void> {
  const assignments = await co.ctx.meta.list<ShardAssignment>(MetaKey.shardsPrefix);
  const live = await liveCollectionIds(co);
  for (const [key, { value: a, revision }] of assignments) {
    if (live.has(a.collection_id)) continue;
    await co.ctx.meta.delete(key, revision).catch(() => undefined);
    await deleteWalStream(co.ctx.jsm, co.ctx.names.walStream(a.collection_id, a.shard));
    co.ctx.log.info("removed an orphaned shard", { collection: a.collection_name, shard: a.shard });
  }
}

/**
 * Segments whose collection is gone: left by a drop that crashed half-way,
 * or claimed by a shard that opened while its collection was being dropped.
 * Keys are read before collections, as for shards.
 */
export async function collectOrphanSegments(co: CoordinatorState): Promise<void> {
  const keys = await co.ctx.meta.list<ShardSegments>(MetaKey.segmentsPrefix);
  const live = await liveCollectionIds(co);
  const orphaned = new Set([...keys.values()].map((k) => k.value.collection_id).filter((id) => !live.has(id)));
  for (const id of orphaned) {
    await deleteSegments(co, id);
    co.ctx.log.info("removed orphaned segments", { collection_id: id });
  }
}

export async function liveCollectionIds(co: CoordinatorState): Promise<Set<number>> {
  return new Set([...(await co.ctx.meta.list<CollectionMeta>(MetaKey.collectionsPrefix)).values()].map((c) => c.value.id));
}
