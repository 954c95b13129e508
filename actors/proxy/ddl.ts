// Collection administration and cluster status. Collection changes go to the
// coordinator; reads of meta come straight from the meta bucket.
import type { ClusterStatus, CollectionDescription, NodeStatus, SegmentStatus, ShardStatus } from "../../protocol/api.js";
import { optInt, type Args } from "../../protocol/args.js";
import { checkConsistency, checkMetric, checkName, checkSchema, quickSchema, type CollectionMeta } from "../../protocol/collection.js";
import { VecbusError } from "../../protocol/errors.js";
import { placementKey, type AliasMeta, type Placement, type ShardAssignment, type ShardSegments } from "../../protocol/messages.js";
import { DEFAULT_PARTITION, PARTITION_KEY_PARTITIONS_DEFAULT, PARTITIONS_MAX, partitionKeyNames } from "../../protocol/partitions.js";
import { checkIndexParams, needsBuild } from "../../protocol/indexes.js";
import { partitionKeyField, vectorFields } from "../../protocol/schema.js";
import { MetaKey } from "../../protocol/subjects.js";
import { liveNodes } from "../../runtime/session.js";
import type { ProxyCore } from "./core.js";

/** How long status waits for each process's report of its load (as for each shard's stats). */
const NODE_REPORT_TIMEOUT_MS = 1_000;

export async function createCollection(core: ProxyCore, args: Args): Promise<CollectionDescription> {
  const name = checkName("collection_name", args.collection_name);
  let schema;
  if (args.schema !== undefined && args.schema !== null) schema = checkSchema(args.schema);
  else if (args.dimension !== undefined && args.dimension !== null) schema = quickSchema(args);
  else {
    throw new VecbusError("INVALID_ARGUMENT", "create_collection needs either `dimension` (quick setup) or a full `schema`");
  }
  const metric_type = checkMetric(args.metric_type);
  // As MilvusClient: index_params create indexes with the collection; quick setup gets AUTOINDEX.
  const draft = { name, schema, metric_type } as CollectionMeta;
  const indexes =
    args.index_params !== undefined && args.index_params !== null
      ? checkIndexParams(draft, args.index_params)
      : args.schema === undefined || args.schema === null
        ? checkIndexParams(draft, [{ field_name: vectorFields(schema)[0].name, index_type: "AUTOINDEX" }])
        : [];
  const meta = await core.coordinator({
    kind: "create_collection",
    name,
    schema,
    num_shards: optInt(args, "num_shards", 1, 1, 16),
    metric_type,
    consistency_level: checkConsistency(args.consistency_level, "Bounded"),
    partitions: partitionKeyField(schema)
      ? partitionKeyNames(optInt(args, "num_partitions", PARTITION_KEY_PARTITIONS_DEFAULT, 1, PARTITIONS_MAX))
      : [DEFAULT_PARTITION],
  });
  if (indexes.length > 0) await core.coordinator({ kind: "create_index", collection_name: name, indexes });
  return describe(core, meta);
}

export async function renameCollection(core: ProxyCore, args: Args): Promise<CollectionDescription> {
  const old_name = checkName("old_name", args.old_name);
  const new_name = checkName("new_name", args.new_name);
  return describe(core, await core.coordinator({ kind: "rename_collection", old_name, new_name }));
}

export async function createPartition(core: ProxyCore, args: Args): Promise<{ created: boolean }> {
  const meta = await core.collection(args);
  refuseWithPartitionKey(meta, "create_partition");
  await core.coordinator({ kind: "create_partition", collection_name: meta.name, partition_name: checkName("partition_name", args.partition_name) });
  return { created: true };
}

export async function dropPartition(core: ProxyCore, args: Args): Promise<{ dropped: boolean }> {
  const meta = await core.collection(args);
  refuseWithPartitionKey(meta, "drop_partition");
  const partition = checkName("partition_name", args.partition_name);
  if (partition === DEFAULT_PARTITION) throw new VecbusError("INVALID_ARGUMENT", `the ${DEFAULT_PARTITION} partition cannot be dropped`);
  await core.coordinator({ kind: "drop_partition", collection_name: meta.name, partition_name: partition });
  return { dropped: true };
}

/** With a partition key, vecbus owns the partitions: they are routing buckets, not user containers. */
export function refuseWithPartitionKey(meta: CollectionMeta, what: string): void {
  const key = partitionKeyField(meta.schema);
  if (key) throw new VecbusError("INVALID_ARGUMENT", `${what} is not allowed: "${meta.name}" routes rows to partitions by its partition key "${key.name}"`);
}

export async function hasPartition(core: ProxyCore, args: Args): Promise<boolean> {
  const meta = await core.collection(args);
  return meta.partitions.includes(checkName("partition_name", args.partition_name));
}

export async function listPartitions(core: ProxyCore, args: Args): Promise<string[]> {
  return (await core.collection(args)).partitions;
}

export async function createAlias(core: ProxyCore, args: Args): Promise<{ created: boolean }> {
  await core.coordinator({ kind: "create_alias", alias: checkName("alias", args.alias), collection_name: checkName("collection_name", args.collection_name) });
  return { created: true };
}

export async function alterAlias(core: ProxyCore, args: Args): Promise<{ altered: boolean }> {
  await core.coordinator({ kind: "alter_alias", alias: checkName("alias", args.alias), collection_name: checkName("collection_name", args.collection_name) });
  return { altered: true };
}

export function dropAlias(core: ProxyCore, args: Args): Promise<{ dropped: boolean }> {
  return core.coordinator({ kind: "drop_alias", alias: checkName("alias", args.alias) });
}

export async function describeAlias(core: ProxyCore, args: Args): Promise<AliasMeta> {
  const alias = checkName("alias", args.alias);
  const a = await core.ctx.meta.get<AliasMeta>(MetaKey.alias(alias));
  if (!a) throw new VecbusError("ALIAS_NOT_FOUND", `alias "${alias}" does not exist`);
  return a.value;
}

/** Every alias, or those of one collection (given by name or by one of its aliases). */
export async function listAliases(core: ProxyCore, args: Args): Promise<{ aliases: string[]; collection_name?: string }> {
  const target = args.collection_name === undefined || args.collection_name === null ? undefined : (await core.collection(args)).name;
  const all = await core.ctx.meta.list<AliasMeta>(MetaKey.aliasesPrefix);
  const aliases = [...all.values()].map((a) => a.value).filter((a) => target === undefined || a.collection_name === target);
  return { aliases: aliases.map((a) => a.alias).sort(), ...(target === undefined ? {} : { collection_name: target }) };
}

export function dropCollection(core: ProxyCore, args: Args): Promise<{ dropped: boolean }> {
  return core.coordinator({ kind: "drop_collection", name: checkName("collection_name", args.collection_name) });
}

export async function listCollections(core: ProxyCore): Promise<string[]> {
  const all = await core.ctx.meta.list<CollectionMeta>(MetaKey.collectionsPrefix);
  return [...all.values()].map((v) => v.value.name).sort();
}

export async function collectionStats(core: ProxyCore, args: Args): Promise<{ row_count: number }> {
  const meta = await core.collection(args);
  const stats = await core.allShards(meta, { kind: "stats" });
  return { row_count: stats.reduce((n, s) => n + s.row_count, 0) };
}

export async function describe(core: ProxyCore, meta: CollectionMeta): Promise<CollectionDescription> {
  return {
    collection_name: meta.name,
    collection_id: meta.id,
    schema: meta.schema,
    num_shards: meta.num_shards,
    metric_type: meta.metric_type,
    created_at: meta.created_at,
    consistency_level: meta.consistency_level,
    num_partitions: meta.partitions.length,
    aliases: (await listAliases(core, { collection_name: meta.name })).aliases,
  };
}

export async function clusterStatus(core: ProxyCore): Promise<ClusterStatus> {
  const { ctx } = core;
  const nodes: NodeStatus[] = await Promise.all(
    (await liveNodes(ctx.sessions)).map(async (n) => ({
      ...n,
      load: await ctx.refs
        .node(n.role, n.node_id)
        .ask({ kind: "report" }, NODE_REPORT_TIMEOUT_MS)
        .catch(() => null),
    })),
  );
  const assignments = await ctx.meta.list<ShardAssignment>(MetaKey.shardsPrefix);
  const collections = new Map([...(await ctx.meta.list<CollectionMeta>(MetaKey.collectionsPrefix)).values()].map((c) => [c.value.id, c.value]));
  const segments: SegmentStatus[] = [];
  const shards: ShardStatus[] = await Promise.all(
    [...assignments.values()].map(async ({ value: a }) => {
      const stats = await ctx.refs
        .shard(a.collection_id, a.shard, a.epoch)
        .ask({ kind: "stats" }, 2_000)
        .catch(() => null);
      const meta = collections.get(a.collection_id);
      if (meta) segments.push(...(await segmentStatus(core, meta, a, stats?.growing_rows ?? 0)));
      return {
        collection_name: a.collection_name,
        shard: a.shard,
        owner: a.owner,
        epoch: a.epoch,
        wal_stream: ctx.names.walStream(a.collection_id, a.shard),
        wal_last_seq: stats?.wal_last_seq ?? 0,
        row_count: stats?.row_count ?? null,
        segments: stats?.segments ?? null,
        health: !stats ? "no answer from the owner" : stats.skipped_records ? `unhealthy: ${stats.skipped_records} WAL records skipped` : "ok",
      };
    }),
  );
  shards.sort((a, b) => a.collection_name.localeCompare(b.collection_name) || a.shard - b.shard);
  nodes.sort((a, b) => a.role.localeCompare(b.role) || a.node_id.localeCompare(b.node_id));
  segments.sort((a, b) => a.collection_name.localeCompare(b.collection_name) || a.shard - b.shard || (a.segment_id ?? Infinity) - (b.segment_id ?? Infinity));
  return { nodes, shards, segments };
}

/** A shard's segments as the meta bucket has them: committed ones with their indexes and placement, and the growing one. */
async function segmentStatus(core: ProxyCore, meta: CollectionMeta, a: ShardAssignment, growingRows: number): Promise<SegmentStatus[]> {
  const state = (await core.ctx.meta.get<ShardSegments>(MetaKey.segments(meta.id, a.shard)))?.value;
  const placed = (await core.ctx.meta.get<Placement>(MetaKey.placement(meta.id)))?.value.segments ?? {};
  const declared = Object.values(meta.indexes ?? {}).filter(needsBuild);
  const out: SegmentStatus[] = (state?.segments ?? []).map((ref) => {
    const built = Object.entries(ref.indexes ?? {}).filter(([field, ix]) => meta.indexes?.[field]?.build === ix.build);
    const p = placed[placementKey(a.shard, ref.segment_id)];
    return {
      collection_name: meta.name,
      shard: a.shard,
      segment_id: ref.segment_id,
      state: declared.length > 0 && built.length === declared.length ? "Indexed" : "Flushed",
      rows: ref.row_count - (ref.deleted_count ?? 0),
      deleted: ref.deleted_count ?? 0,
      index: built.map(([field, ix]) => `${field}:${ix.index_type}`).join(",") || "-",
      served_by: p ? p.copies.map((c) => `query ${c.node}${c.state === "loaded" ? "" : " (loading)"}`).join(", ") : `streaming ${a.owner}`,
    };
  });
  out.push({ collection_name: meta.name, shard: a.shard, segment_id: null, state: "Growing", rows: growingRows, deleted: 0, index: "-", served_by: `streaming ${a.owner}` });
  return out;
}
