// Index declarations (create_index, drop_index) and the build tasks the
// sweep queues for every flushed segment that lacks its index build.
import type { CollectionMeta } from "../../protocol/collection.js";
import { VecbusError } from "../../protocol/errors.js";
import { needsBuild, sameSpec, taskMsgId, type BuildIndexTask, type IndexMeta } from "../../protocol/indexes.js";
import { type CoordinatorMsg, type ShardSegments } from "../../protocol/messages.js";
import { MetaKey, ObjectName } from "../../protocol/subjects.js";
import { BlobStore } from "../../storage/object-store.js";
import { publishTask, TASK_DUPLICATE_WINDOW_MS } from "../../storage/tasks.js";
import { updateCollection } from "./ddl.js";
import { onAllocate } from "./ids.js";
import type { CoordinatorState } from "./state.js";

/** Declares the indexes not declared yet (an identical one is a no-op) and queues builds for flushed segments. */
export async function onCreateIndex(co: CoordinatorState, m: Extract<CoordinatorMsg, { kind: "create_index" }>): Promise<IndexMeta[]> {
  const { start } = await onAllocate(co, "index_build", m.indexes.length);
  let result: IndexMeta[] = [];
  const meta = await co.ctx.meta.casUpdate<CollectionMeta>(MetaKey.collection(m.collection_name), (c) => {
    if (!c) throw new VecbusError("COLLECTION_NOT_FOUND", `collection "${m.collection_name}" does not exist`);
    const indexes = { ...(c.indexes ?? {}) };
    let changed = false;
    result = m.indexes.map((spec, i) => {
      const cur = indexes[spec.field_name];
      if (cur) {
        if (sameSpec(cur, spec)) return cur;
        throw new VecbusError(
          "INVALID_ARGUMENT",
          `field "${spec.field_name}" already has index "${cur.index_name}" (${cur.index_type}); a field has one index: drop_index it first to change it`,
        );
      }
      const clash = Object.values(indexes).find((ix) => ix.index_name === spec.index_name);
      if (clash) throw new VecbusError("INVALID_ARGUMENT", `index_name "${spec.index_name}" is already used by field "${clash.field_name}"; pick another index_name`);
      const ix: IndexMeta = { ...spec, build: start + i, created_at: Date.now() };
      indexes[spec.field_name] = ix;
      changed = true;
      return ix;
    });
    return changed ? { ...c, indexes } : undefined;
  });
  if (meta) await queueIndexBuilds(co, [meta]).catch((e) => co.ctx.log.warn("queueing index builds failed; the sweep retries", { error: String(e) }));
  co.ctx.log.info("created index", { collection: m.collection_name, indexes: result.map((r) => r.index_name) });
  return result;
}

/** Meta first (from then on nothing counts the index), then the segments' records of it and its files. */
export async function onDropIndex(co: CoordinatorState, m: Extract<CoordinatorMsg, { kind: "drop_index" }>): Promise<{ dropped: boolean }> {
  let dropped: IndexMeta | undefined;
  const meta = await updateCollection(co, m.collection_name, (c) => {
    dropped = Object.values(c.indexes ?? {}).find((ix) => ix.index_name === m.index_name);
    if (!dropped) throw new VecbusError("INDEX_NOT_FOUND", `collection "${c.name}" has no index "${m.index_name}"; list_indexes shows its indexes`);
    const { [dropped.field_name]: _gone, ...rest } = c.indexes ?? {};
    return { ...c, indexes: rest };
  });
  const ix = dropped!;
  try {
    for (const key of (await co.ctx.meta.list<ShardSegments>(MetaKey.segmentsOf(meta.id))).keys()) {
      await co.ctx.meta.casUpdate<ShardSegments>(key, (cur) => {
        if (!cur || !cur.segments.some((s) => s.indexes?.[ix.field_name]?.build === ix.build)) return undefined;
        const segments = cur.segments.map((s) => {
          if (s.indexes?.[ix.field_name]?.build !== ix.build) return s;
          const { [ix.field_name]: _old, ...others } = s.indexes;
          return { ...s, indexes: others };
        });
        return { ...cur, segments };
      });
    }
    co.blobs ??= await BlobStore.open(co.ctx.js, co.ctx.names.objectBucket());
    for (const o of await co.blobs.list()) if (ObjectName.isIndexOf(meta.id, ix.field_name, ix.build, o.name)) await co.blobs.delete(o.name);
  } catch (e) {
    co.ctx.log.warn("removing a dropped index's files failed; they are never read", { collection: meta.name, index: ix.index_name, error: String(e) });
  }
  co.ctx.log.info("dropped index", { collection: meta.name, index: ix.index_name });
  return { dropped: true };
}

/**
 * Queues a build task for every flushed segment that lacks the current
 * build of an index on its field. Tasks carry a msgID, so queueing one
 * again within the duplicate window is free; this leader also skips those
 * it queued within the window.
 */
export async function queueIndexBuilds(co: CoordinatorState, only?: CollectionMeta[]): Promise<void> {
  const collections = (only ?? [...(await co.ctx.meta.list<CollectionMeta>(MetaKey.collectionsPrefix)).values()].map((v) => v.value)).filter((c) =>
    Object.values(c.indexes ?? {}).some(needsBuild),
  );
  const now = Date.now();
  for (const [id, at] of co.queued) if (now - at > TASK_DUPLICATE_WINDOW_MS) co.queued.delete(id);
  for (const c of collections) {
    const keys = await co.ctx.meta.list<ShardSegments>(MetaKey.segmentsOf(c.id));
    for (const { value: state } of keys.values()) {
      for (const seg of state.segments) {
        for (const ix of Object.values(c.indexes ?? {})) {
          if (!needsBuild(ix) || seg.indexes?.[ix.field_name]?.build === ix.build) continue;
          const task: BuildIndexTask = { kind: "build_index", collection_id: c.id, shard: state.shard, segment_id: seg.segment_id, field_name: ix.field_name, index: ix };
          const msgId = taskMsgId(task);
          if (co.queued.has(msgId)) continue;
          await publishTask(co.ctx.js, co.ctx.names, task, msgId);
          co.queued.set(msgId, now);
        }
      }
    }
  }
}
