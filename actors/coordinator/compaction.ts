// Compactions: planned per shard from the segments' sizes and deletes
// (engine/compaction-plan.ts), queued as tasks for data nodes; the `compact`
// API records what it queued so get_compaction_state can follow it.
import { boundedTo, planCompactions } from "../../engine/compaction-plan.js";
import type { CollectionMeta } from "../../protocol/collection.js";
import { VecbusError } from "../../protocol/errors.js";
import { COMPACTED_SEGMENT_BASE, type CompactTask } from "../../protocol/indexes.js";
import { type CompactionRecord, type ShardSegments } from "../../protocol/messages.js";
import { sealBytes } from "../../protocol/limits.js";
import { rowBytesEstimate } from "../../protocol/schema.js";
import { MetaKey } from "../../protocol/subjects.js";
import { publishTask } from "../../storage/tasks.js";
import { onAllocate } from "./ids.js";
import type { CoordinatorState } from "./state.js";

/** Plans every shard's compaction as Milvus's manual compact does, queues the tasks, and records them for get_compaction_state. */
export async function onCompact(co: CoordinatorState, name: string): Promise<{ compaction_id: number }> {
  const meta = await co.ctx.meta.get<CollectionMeta>(MetaKey.collection(name));
  if (!meta) throw new VecbusError("COLLECTION_NOT_FOUND", `collection "${name}" does not exist`);
  const { start: id } = await onAllocate(co, "compaction_id", 1);
  const tasks = await queueCompactions(co, meta.value, true);
  await co.ctx.meta.create(MetaKey.compaction(id), { compaction_id: id, collection_id: meta.value.id, created_at: Date.now(), tasks } satisfies CompactionRecord);
  co.ctx.log.info("compaction queued", { collection: name, compaction_id: id, tasks: tasks.length });
  return { compaction_id: id };
}

/**
 * Plans compactions for every shard of a collection (engine/compaction-plan.ts)
 * and queues a task per group. Automatic plans repeat every sweep: a group
 * this leader queued within the duplicate window is not queued again.
 */
export async function queueCompactions(co: CoordinatorState, c: CollectionMeta, manual: boolean): Promise<CompactionRecord["tasks"]> {
  const tasks: CompactionRecord["tasks"] = [];
  const now = Date.now();
  const policy = boundedTo(co.opts.compaction, sealBytes() / rowBytesEstimate(c.schema));
  for (const { value: state } of (await co.ctx.meta.list<ShardSegments>(MetaKey.segmentsOf(c.id))).values()) {
    const candidates = state.segments.map((r) => ({ segment_id: r.segment_id, rows: r.row_count, deleted: r.deleted_count ?? 0 }));
    for (const sources of planCompactions(candidates, policy, manual)) {
      const planned = `compact.${c.id}.${state.shard}.${sources.join("-")}`;
      if (!manual && co.queued.has(planned)) continue;
      const { start } = await onAllocate(co, "compacted_segment", 1);
      const task: CompactTask = { kind: "compact", collection_id: c.id, shard: state.shard, sources, target: COMPACTED_SEGMENT_BASE + start };
      // Each task has its own target, so a manual compact is never collapsed into an automatic one
      // (the second to run finds its sources gone).
      await publishTask(co.ctx.js, co.ctx.names, task);
      co.queued.set(planned, now);
      tasks.push({ shard: state.shard, sources, target: task.target });
    }
  }
  return tasks;
}
