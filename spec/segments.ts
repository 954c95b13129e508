// What the meta store says a shard has committed, read straight from the
// segments key (not through the proxy or a shard owner), and every live
// primary key of a collection: the observations the segment-lifecycle tests
// compare with what they wrote.
import { Kvm } from "@nats-io/kv";
import type { NatsConnection } from "@nats-io/transport-node";
import type { ShardSegments } from "../protocol/messages.js";
import { MetaKey, Names } from "../protocol/subjects.js";
import type { VecbusClient } from "../runtime/client.js";
import { MetaStore } from "../storage/meta-store.js";

const names = new Names();

/** The shard's committed segment list (empty before its first flush). */
export async function committedSegments(nc: NatsConnection, collectionId: number, shard = 0): Promise<ShardSegments["segments"]> {
  const meta = new MetaStore(await new Kvm(nc).open(names.metaBucket()));
  return (await meta.get<ShardSegments>(MetaKey.segments(collectionId, shard)))?.value.segments ?? [];
}

/** Every live integer primary key of the collection, ascending, read at Strong consistency. */
export async function liveIds(c: VecbusClient, name: string): Promise<number[]> {
  const got = await c.query({ collection_name: name, filter: "id >= 0", output_fields: ["id"], consistency_level: "Strong" });
  return got.map((r) => r.id as number).sort((a, b) => a - b);
}

/** 0, 1, ..., n-1. */
export function range(from: number, count: number): number[] {
  return Array.from({ length: count }, (_, i) => from + i);
}
