// Index administration: create_index, describe_index, list_indexes,
// drop_index. Declarations go to the coordinator (it also queues the builds);
// progress is read from the segments keys, where data nodes record each
// segment's built index, and from the shard owners (rows still growing).
import type { IndexDescription } from "../../protocol/api.js";
import { shardOwner } from "../context.js";
import { optString, type Args } from "../../protocol/args.js";
import { checkName, type CollectionMeta } from "../../protocol/collection.js";
import { VecbusError } from "../../protocol/errors.js";
import { checkIndexParams, needsBuild, type IndexMeta } from "../../protocol/indexes.js";
import type { ShardSegments } from "../../protocol/messages.js";
import { MetaKey } from "../../protocol/subjects.js";
import type { ProxyCore } from "./core.js";

/** How long describe_index waits for a shard owner's count of growing rows (an owner that does not answer counts 0). */
const STATS_TIMEOUT_MS = 2_000;

export async function createIndex(core: ProxyCore, args: Args): Promise<{ created: boolean }> {
  const meta = await core.collection(args);
  const indexes = checkIndexParams(meta, args.index_params);
  await core.coordinator({ kind: "create_index", collection_name: meta.name, indexes });
  return { created: true };
}

export async function listIndexes(core: ProxyCore, args: Args): Promise<string[]> {
  const meta = await core.collection(args);
  const field = optString(args, "field_name");
  return Object.values(meta.indexes ?? {})
    .filter((ix) => field === undefined || ix.field_name === field)
    .map((ix) => ix.index_name)
    .sort();
}

export async function dropIndex(core: ProxyCore, args: Args): Promise<{ dropped: boolean }> {
  const meta = await core.collection(args);
  return core.coordinator({ kind: "drop_index", collection_name: meta.name, index_name: checkName("index_name", args.index_name) });
}

function findIndex(meta: CollectionMeta, args: Args): IndexMeta {
  const all = Object.values(meta.indexes ?? {});
  const name = optString(args, "index_name");
  const field = optString(args, "field_name");
  const found = name !== undefined ? all.find((ix) => ix.index_name === name) : field !== undefined ? meta.indexes?.[field] : all.length === 1 ? all[0] : undefined;
  if (found && (field === undefined || found.field_name === field)) return found;
  if (name === undefined && field === undefined && all.length > 1) {
    throw new VecbusError("INVALID_ARGUMENT", `collection "${meta.name}" has ${all.length} indexes (${all.map((i) => i.index_name).join(", ")}); pass index_name`);
  }
  const what = name !== undefined ? `an index "${name}"` : field !== undefined ? `an index on field "${field}"` : "an index";
  throw new VecbusError("INDEX_NOT_FOUND", `collection "${meta.name}" has no ${what}; create one with create_index`);
}

export async function describeIndex(core: ProxyCore, args: Args): Promise<IndexDescription> {
  const meta = await core.collection(args);
  const ix = findIndex(meta, args);
  const keys = await core.ctx.meta.list<ShardSegments>(MetaKey.segmentsOf(meta.id));
  let flushed = 0;
  let indexed = 0;
  for (const { value } of keys.values()) {
    for (const seg of value.segments) {
      flushed += seg.row_count;
      if (!needsBuild(ix) || seg.indexes?.[ix.field_name]?.build === ix.build) indexed += seg.row_count;
    }
  }
  const growing = await Promise.all(
    Array.from({ length: meta.num_shards }, (_, s) =>
      shardOwner(core.ctx, meta.id, s)
        .then((owner) => owner.ask({ kind: "stats" }, STATS_TIMEOUT_MS))
        .then((r) => r.growing_rows ?? 0)
        .catch(() => 0),
    ),
  );
  const total = flushed + growing.reduce((a, b) => a + b, 0);
  return {
    field_name: ix.field_name,
    index_name: ix.index_name,
    index_type: ix.index_type,
    ...(ix.metric_type ? { metric_type: ix.metric_type } : {}),
    params: ix.params,
    state: indexed === flushed ? "Finished" : "InProgress",
    indexed_rows: indexed,
    total_rows: total,
    pending_index_rows: total - indexed,
  };
}
