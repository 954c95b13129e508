// Writes: rows are checked against the schema as a whole batch before any
// shard sees them, turned into columns (protocol/columns.ts) if they came as
// rows, then split by primary-key hash.
import { optFilter, optString, type Args } from "../../protocol/args.js";
import { isMap } from "../../protocol/check.js";
import type { CollectionMeta } from "../../protocol/collection.js";
import { VecbusError } from "../../protocol/errors.js";
import type { ShardReplies } from "../../protocol/messages.js";
import { DEFAULT_PARTITION, partitionKeyPartition, unknownPartition } from "../../protocol/partitions.js";
import { batchKeys, checkColumns, columnRowCount, columnsOfRows, takeRows, type CheckedColumns, type ColumnBatch } from "../../protocol/columns.js";
import { checkIds, checkRows, type PrimaryKey } from "../../protocol/rows.js";
import { partitionKeyField, primaryField, type CollectionSchema } from "../../protocol/schema.js";
import { refuseWithPartitionKey } from "./ddl.js";
import { groupByShard } from "../../protocol/sharding.js";
import type { ProxyCore } from "./core.js";
import { requireLoaded } from "./load.js";

export async function insert(core: ProxyCore, given: Args): Promise<{ insert_count: number; ids: PrimaryKey[]; timestamp: bigint }> {
  const meta = await core.collection(given);
  const args = asRowList(given);
  if (nothingToWrite(args)) return { insert_count: 0, ids: [], timestamp: 0n };
  let autoIds: number[] | undefined;
  if (primaryField(meta.schema).auto_id) {
    const n = givenRows(meta.schema, args);
    if (n > 0) {
      const { start } = await core.coordinator({ kind: "allocate_ids", count: n });
      autoIds = Array.from({ length: n }, (_, i) => start + i);
    }
  }
  const batch = placeBatch(meta, args, checkedBatch(meta.schema, args, autoIds));
  const timestamp = await writeBatch(core, meta, batch);
  return { insert_count: batch.count, ids: batchKeys(meta.schema, batch), timestamp };
}

/** Upsert always carries the primary key, auto_id or not: it names the row to replace. */
export async function upsert(core: ProxyCore, given: Args): Promise<{ upsert_count: number; ids: PrimaryKey[]; timestamp: bigint }> {
  const meta = await core.collection(given);
  const args = asRowList(given);
  if (nothingToWrite(args)) return { upsert_count: 0, ids: [], timestamp: 0n };
  const batch = placeBatch(meta, args, checkedBatch(meta.schema, args));
  const timestamp = await writeBatch(core, meta, batch);
  return { upsert_count: batch.count, ids: batchKeys(meta.schema, batch), timestamp };
}

/** As pymilvus: `data` may be one row map, a list of one. */
function asRowList(args: Args): Args {
  return isMap(args.data) ? { ...args, data: [args.data] } : args;
}

/** As pymilvus: an empty list of rows writes nothing and is no error. */
function nothingToWrite(args: Args): boolean {
  return !columnsGiven(args) && Array.isArray(args.data) && args.data.length === 0;
}

/** `data` (a list of row maps) or `columns` (a map of field name to column), never both. */
function columnsGiven(args: Args): boolean {
  const given = (v: unknown) => v !== undefined && v !== null;
  if (given(args.data) && given(args.columns)) throw new VecbusError("INVALID_ARGUMENT", "give the rows as `data` (a list of row maps) or as `columns` (a map of field name to column), not both");
  return given(args.columns);
}

/** How many rows a write holds, before they are checked (0 for no list: the check says what is wrong): auto ids are allocated for that many. */
function givenRows(schema: CollectionSchema, args: Args): number {
  if (columnsGiven(args)) return columnRowCount(schema, args.columns);
  return Array.isArray(args.data) ? args.data.length : 0;
}

function checkedBatch(schema: CollectionSchema, args: Args, autoIds?: number[]): CheckedColumns {
  return columnsGiven(args) ? checkColumns(schema, args.columns, autoIds) : columnsOfRows(schema, checkRows(schema, args.data, autoIds));
}

/** Gives the rows their partitions (a partition is not a field: checked rows cannot carry it). */
function placeBatch(meta: CollectionMeta, args: Args, batch: CheckedColumns): ColumnBatch {
  const key = partitionKeyField(meta.schema);
  if (key) {
    if (args.partition_name !== undefined && args.partition_name !== null) refuseWithPartitionKey(meta, "partition_name");
    return { ...batch, partition: (batch.fields[key.name] as unknown[]).map((v) => partitionKeyPartition(v, meta.partitions.length)) };
  }
  const partition = optString(args, "partition_name") ?? DEFAULT_PARTITION;
  if (!meta.partitions.includes(partition)) throw unknownPartition(meta.name, partition);
  return { ...batch, partition };
}

/** One message per shard written; resolves with the newest WAL timestamp among them: a Session read waits for it. */
async function writeBatch(core: ProxyCore, meta: CollectionMeta, batch: ColumnBatch): Promise<bigint> {
  const parts = shardParts(meta, batch);
  return newest(await Promise.all(parts.map(([shard, part]) => core.toShard(meta, shard, { kind: "insert", batch: part }))));
}

/** The batch split by shard; with one shard, the batch itself, not grouped by key. */
function shardParts(meta: CollectionMeta, batch: ColumnBatch): (readonly [number, ColumnBatch])[] {
  if (meta.num_shards === 1) return [[0, batch]];
  const keys = batchKeys(meta.schema, batch);
  const groups = groupByShard(keys.map((_, i) => i), (i) => keys[i], meta.num_shards);
  return groups.size === 1 ? [[groups.keys().next().value!, batch]] : [...groups].map(([shard, rows]) => [shard, takeRows(batch, rows)] as const);
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
