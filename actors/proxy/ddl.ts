// Collection administration and cluster status. Collection changes go to the
// coordinator; reads of meta come straight from the meta bucket.
import type { ClusterStatus, CollectionDescription, ShardStatus } from "../../protocol/api.js";
import { optInt, type Args } from "../../protocol/args.js";
import { checkMetric, checkName, checkSchema, quickSchema, type CollectionMeta } from "../../protocol/collection.js";
import { VecbusError } from "../../protocol/errors.js";
import type { ShardAssignment, ShardReplies } from "../../protocol/messages.js";
import { MetaKey } from "../../protocol/subjects.js";
import { request } from "../../runtime/rpc.js";
import { liveNodes } from "../../runtime/session.js";
import type { ProxyCore } from "./core.js";

export async function createCollection(core: ProxyCore, args: Args): Promise<CollectionDescription> {
  const name = checkName("collection_name", args.collection_name);
  let schema;
  if (args.schema !== undefined && args.schema !== null) schema = checkSchema(args.schema);
  else if (args.dimension !== undefined && args.dimension !== null) schema = quickSchema(args);
  else {
    throw new VecbusError("INVALID_ARGUMENT", "create_collection needs either `dimension` (quick setup) or a full `schema`");
  }
  const meta = await core.coordinator({
    kind: "create_collection",
    name,
    schema,
    num_shards: optInt(args, "num_shards", 1, 1, 16),
    metric_type: checkMetric(args.metric_type),
  });
  return describe(meta);
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

export function describe(meta: CollectionMeta): CollectionDescription {
  return {
    collection_name: meta.name,
    collection_id: meta.id,
    schema: meta.schema,
    num_shards: meta.num_shards,
    metric_type: meta.metric_type,
    created_at: meta.created_at,
  };
}

export async function clusterStatus(core: ProxyCore): Promise<ClusterStatus> {
  const { ctx } = core;
  const nodes = await liveNodes(ctx.sessions);
  const assignments = await ctx.meta.list<ShardAssignment>(MetaKey.shardsPrefix);
  const shards: ShardStatus[] = await Promise.all(
    [...assignments.values()].map(async ({ value: a }) => {
      const stats = await request<ShardReplies["stats"]>(ctx.nc, ctx.names.shardSubject(a.collection_id, a.shard), { kind: "stats" }, 2_000).catch(() => null);
      return {
        collection_name: a.collection_name,
        shard: a.shard,
        owner: a.owner,
        epoch: a.epoch,
        wal_stream: ctx.names.walStream(a.collection_id, a.shard),
        wal_last_seq: stats?.wal_last_seq ?? 0,
        row_count: stats?.row_count ?? null,
      };
    }),
  );
  shards.sort((a, b) => a.collection_name.localeCompare(b.collection_name) || a.shard - b.shard);
  nodes.sort((a, b) => a.role.localeCompare(b.role) || a.node_id.localeCompare(b.node_id));
  return { nodes, shards };
}
