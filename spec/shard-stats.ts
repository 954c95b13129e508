// What shard owners report about themselves, read straight from their subjects
// (not through the proxy): how many sealed segments query nodes serve for them.
import type { NatsConnection } from "@nats-io/transport-node";
import type { ShardReplies } from "../protocol/messages.js";
import { Names } from "../protocol/subjects.js";
import { request } from "../runtime/rpc.js";

const names = new Names();

/** Sealed segments of the collection's shards answered by query nodes, summed over the shards (each at its first owner: the callers move none). */
export async function servedByQueryNodes(nc: NatsConnection, collectionId: number, shards: number): Promise<number> {
  let n = 0;
  for (let s = 0; s < shards; s++) n += (await request<ShardReplies["stats"]>(nc, names.shardSubject(collectionId, s, 1), { kind: "stats" })).served_by_query_nodes ?? 0;
  return n;
}
