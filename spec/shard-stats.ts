// What shard owners report about themselves, read straight from their subjects
// (not through the proxy), each at the epoch its assignment names now.
import { Kvm } from "@nats-io/kv";
import type { NatsConnection } from "@nats-io/transport-node";
import type { ShardAssignment, ShardReplies } from "../protocol/messages.js";
import { MetaKey, Names } from "../protocol/subjects.js";
import { request } from "../runtime/rpc.js";
import { MetaStore } from "../storage/meta-store.js";

const names = new Names();

/** One shard's stats from its current owner (`nc` may read the meta bucket: the superuser's connection). */
export async function shardStats(nc: NatsConnection, collectionId: number, shard: number): Promise<ShardReplies["stats"]> {
  const meta = new MetaStore(await new Kvm(nc).open(names.metaBucket()));
  const assigned = await meta.get<ShardAssignment>(MetaKey.shard(collectionId, shard));
  if (!assigned) throw new Error(`shard ${shard} of collection ${collectionId} has no assignment`);
  return request<ShardReplies["stats"]>(nc, names.shardSubject(collectionId, shard, assigned.value.epoch), { kind: "stats" });
}

/** Sealed segments of the collection's shards answered by query nodes, summed over the shards. */
export async function servedByQueryNodes(nc: NatsConnection, collectionId: number, shards: number): Promise<number> {
  let n = 0;
  for (let s = 0; s < shards; s++) n += (await shardStats(nc, collectionId, s)).served_by_query_nodes ?? 0;
  return n;
}
