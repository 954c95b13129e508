// compact and get_compaction_state. The coordinator plans and queues the
// tasks and records them; the state is read off the segments keys: a task is
// done once its target segment is committed, or once one of its sources is
// gone (another compaction took it, or all its rows were deleted).
import type { CompactionState } from "../../protocol/api.js";
import { optInt, type Args } from "../../protocol/args.js";
import { VecbusError } from "../../protocol/errors.js";
import type { CompactionRecord, ShardSegments } from "../../protocol/messages.js";
import { MetaKey } from "../../protocol/subjects.js";
import type { ProxyCore } from "./core.js";

export async function compact(core: ProxyCore, args: Args): Promise<{ compaction_id: number }> {
  const meta = await core.collection(args);
  return core.coordinator({ kind: "compact", collection_name: meta.name });
}

export async function compactionState(core: ProxyCore, args: Args): Promise<CompactionState> {
  const id = optInt(args, "compaction_id", 0, 1, Number.MAX_SAFE_INTEGER);
  const record = (await core.ctx.meta.get<CompactionRecord>(MetaKey.compaction(id)))?.value;
  if (!record) throw new VecbusError("INVALID_ARGUMENT", `there is no compaction ${id}; compact returns the compaction_id to ask for`);
  const shards = new Map<number, Set<number>>();
  let completed = 0;
  for (const t of record.tasks) {
    if (!shards.has(t.shard)) {
      const state = (await core.ctx.meta.get<ShardSegments>(MetaKey.segments(record.collection_id, t.shard)))?.value;
      shards.set(t.shard, new Set(state?.segments.map((s) => s.segment_id) ?? []));
    }
    const ids = shards.get(t.shard)!;
    if (ids.has(t.target) || t.sources.some((s) => !ids.has(s))) completed++;
  }
  const executing = record.tasks.length - completed;
  return { compaction_id: id, state: executing === 0 ? "Completed" : "Executing", executing, completed };
}
