// Writes: rows are checked against the schema as a whole batch before any
// shard sees them, then split by primary-key hash.
import { optFilter, type Args } from "../../protocol/args.js";
import type { CollectionMeta } from "../../protocol/collection.js";
import { VecbusError } from "../../protocol/errors.js";
import type { ShardReplies } from "../../protocol/messages.js";
import { checkIds, checkRows, type PrimaryKey, type Row } from "../../protocol/rows.js";
import { primaryField } from "../../protocol/schema.js";
import { groupByShard } from "../../protocol/sharding.js";
import type { ProxyCore } from "./core.js";

export async function insert(core: ProxyCore, args: Args): Promise<{ insert_count: number; ids: PrimaryKey[] }> {
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
  await writeRows(core, meta, rows);
  return { insert_count: rows.length, ids: rows.map((r) => r[pk.name] as PrimaryKey) };
}

/** Upsert always carries the primary key, auto_id or not: it names the row to replace. */
export async function upsert(core: ProxyCore, args: Args): Promise<{ upsert_count: number; ids: PrimaryKey[] }> {
  const meta = await core.collection(args);
  const pk = primaryField(meta.schema);
  const rows = checkRows(meta.schema, args.data);
  await writeRows(core, meta, rows);
  return { upsert_count: rows.length, ids: rows.map((r) => r[pk.name] as PrimaryKey) };
}

async function writeRows(core: ProxyCore, meta: CollectionMeta, rows: Row[]): Promise<void> {
  const pk = primaryField(meta.schema).name;
  const groups = groupByShard(rows, (r) => r[pk] as PrimaryKey, meta.num_shards);
  await Promise.all([...groups].map(([shard, part]) => core.toShard(meta, shard, { kind: "insert", rows: part })));
}

export async function remove(core: ProxyCore, args: Args): Promise<{ delete_count: number }> {
  const meta = await core.collection(args);
  const filter = optFilter(args);
  const hasIds = args.ids !== undefined && args.ids !== null;
  if (hasIds === (filter !== undefined)) {
    throw new VecbusError("INVALID_ARGUMENT", "delete needs exactly one of `ids` (a list of primary keys) or `filter` (an expression)");
  }
  let replies: ShardReplies["delete"][];
  if (filter !== undefined) replies = await core.allShards(meta, { kind: "delete_by_filter", filter });
  else {
    const ids = checkIds(meta.schema, args.ids);
    const groups = groupByShard(ids, (id) => id, meta.num_shards);
    replies = await Promise.all([...groups].map(([shard, part]) => core.toShard(meta, shard, { kind: "delete", ids: part })));
  }
  return { delete_count: replies.reduce((n, r) => n + r.delete_count, 0) };
}
