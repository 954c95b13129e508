// Writes: rows are checked against the schema as a whole batch before any
// shard sees them, then split by primary-key hash.
import { optFilter, optString, type Args } from "../../protocol/args.js";
import type { CollectionMeta } from "../../protocol/collection.js";
import { VecbusError } from "../../protocol/errors.js";
import type { ShardReplies } from "../../protocol/messages.js";
import { DEFAULT_PARTITION, PARTITION_FIELD, partitionKeyPartition, unknownPartition } from "../../protocol/partitions.js";
import { checkIds, checkRows, type PrimaryKey, type Row } from "../../protocol/rows.js";
import { partitionKeyField, primaryField } from "../../protocol/schema.js";
import { refuseWithPartitionKey } from "./ddl.js";
import { groupByShard } from "../../protocol/sharding.js";
import type { ProxyCore } from "./core.js";
import { requireLoaded } from "./load.js";

export async function insert(core: ProxyCore, args: Args): Promise<{ insert_count: number; ids: PrimaryKey[]; timestamp: bigint }> {
  const meta = await core.collection(args);
  const pk = primaryField(meta.schema);
  let autoIds: number[] | undefined;
  if (pk.auto_id) {
    const n = Array.isArray(args.data) ? args.data.length : 0;
    if (n > 0) {
      const { start } = await core.coordinator({ kind: "allocate_ids", count: n });
      autoIds = Array.from({ length: n }, (_, i) => start + i);
    }
  }
  const rows = checkRows(meta.schema, args.data, autoIds);
  const timestamp = await writeRows(core, meta, placeRows(meta, args, rows));
  return { insert_count: rows.length, ids: rows.map((r) => r[pk.name] as PrimaryKey), timestamp };
}

/** Upsert always carries the primary key, auto_id or not: it names the row to replace. */
export async function upsert(core: ProxyCore, args: Args): Promise<{ upsert_count: number; ids: PrimaryKey[]; timestamp: bigint }> {
  const meta = await core.collection(args);
  const pk = primaryField(meta.schema);
  const rows = checkRows(meta.schema, args.data);
  const timestamp = await writeRows(core, meta, placeRows(meta, args, rows));
  return { upsert_count: rows.length, ids: rows.map((r) => r[pk.name] as PrimaryKey), timestamp };
}

/** Labels each row with its partition (checked rows cannot carry the label themselves: it is not a field). */
function placeRows(meta: CollectionMeta, args: Args, rows: Row[]): Row[] {
  const key = partitionKeyField(meta.schema);
  if (key) {
    if (args.partition_name !== undefined && args.partition_name !== null) refuseWithPartitionKey(meta, "partition_name");
    for (const r of rows) r[PARTITION_FIELD] = partitionKeyPartition(r[key.name], meta.partitions.length);
    return rows;
  }
  const partition = optString(args, "partition_name") ?? DEFAULT_PARTITION;
  if (!meta.partitions.includes(partition)) throw unknownPartition(meta.name, partition);
  for (const r of rows) r[PARTITION_FIELD] = partition;
  return rows;
}

/** Resolves with the newest WAL timestamp among the shards written: a Session read waits for it. */
async function writeRows(core: ProxyCore, meta: CollectionMeta, rows: Row[]): Promise<bigint> {
  const pk = primaryField(meta.schema).name;
  const groups = groupByShard(rows, (r) => r[pk] as PrimaryKey, meta.num_shards);
  return newest(await Promise.all([...groups].map(([shard, part]) => core.toShard(meta, shard, { kind: "insert", rows: part }))));
}

function newest(replies: { timestamp: bigint }[]): bigint {
  return replies.reduce((m, r) => (BigInt(r.timestamp) > m ? BigInt(r.timestamp) : m), 0n);
}

export async function remove(core: ProxyCore, args: Args): Promise<{ delete_count: number; timestamp: bigint }> {
  const meta = await core.collection(args);
  const filter = optFilter(args);
  const hasIds = args.ids !== undefined && args.ids !== null;
  if (hasIds === (filter !== undefined)) {
    throw new VecbusError("INVALID_ARGUMENT", "delete needs exactly one of `ids` (a list of primary keys) or `filter` (an expression)");
  }
  const partition = optString(args, "partition_name");
  if (partition !== undefined && partitionKeyField(meta.schema)) refuseWithPartitionKey(meta, "partition_name");
  if (partition !== undefined && !meta.partitions.includes(partition)) throw unknownPartition(meta.name, partition);
  const scope = partition === undefined ? {} : { partition_names: [partition] };
  // Finding the rows to delete reads sealed segments, which only a loaded collection serves.
  if (filter !== undefined || partition !== undefined) requireLoaded(meta);
  let replies: ShardReplies["delete"][];
  if (filter !== undefined) replies = await core.allShards(meta, { kind: "delete_by_filter", filter, ...scope });
  else {
    const ids = checkIds(meta.schema, args.ids);
    const groups = groupByShard(ids, (id) => id, meta.num_shards);
    replies = await Promise.all([...groups].map(([shard, part]) => core.toShard(meta, shard, { kind: "delete", ids: part, ...scope })));
  }
  return { delete_count: replies.reduce((n, r) => n + r.delete_count, 0), timestamp: newest(replies) };
}

/** Seals every shard's growing segment and waits until the object store holds all of the collection's rows written before. */
export async function flush(core: ProxyCore, args: Args): Promise<{ flushed_segments: number }> {
  const replies = await core.allShards(await core.collection(args), { kind: "flush" });
  return { flushed_segments: replies.reduce((n, r) => n + r.flushed_segments, 0) };
}
