// Internal actor messages. Each actor takes one union tagged by `kind` and
// dispatches with an exhaustive match, so adding a kind here is a compile
// error until every handler takes it.
import type { CollectionMeta } from "./collection.js";
import type { CollectionSchema, MetricType } from "./schema.js";
import type { PrimaryKey, Row } from "./rows.js";
import type { Hit } from "./api.js";

/** Requests the coordinator serves (subject: Names.coordinatorSubject()). */
export type CoordinatorMsg =
  | { kind: "create_collection"; name: string; schema: CollectionSchema; num_shards: number; metric_type: MetricType }
  | { kind: "drop_collection"; name: string }
  | { kind: "allocate_ids"; count: number }
  | { kind: "allocate_ts"; count: number };

export interface CoordinatorReplies {
  create_collection: CollectionMeta;
  drop_collection: { dropped: boolean };
  /** ids [start, start + count) are the caller's alone. */
  allocate_ids: { start: number };
  /** the first of `count` consecutive hybrid timestamps. */
  allocate_ts: { ts: bigint };
}

/** Requests a shard owner serves (subject: Names.shardSubject(cid, shard)). */
export type ShardMsg =
  | { kind: "insert"; rows: Row[] }
  | { kind: "delete"; ids: PrimaryKey[] }
  | { kind: "delete_by_filter"; filter: string }
  | { kind: "search"; vectors: Float32Array[]; limit: number; filter?: string; output_fields: string[] }
  | { kind: "query"; filter?: string; output_fields: string[]; limit: number }
  | { kind: "get"; ids: PrimaryKey[]; output_fields: string[] }
  | { kind: "stats" };

export interface ShardReplies {
  insert: { insert_count: number };
  delete: { delete_count: number };
  delete_by_filter: { delete_count: number };
  search: Hit[][];
  query: Row[];
  get: Row[];
  stats: { row_count: number; wal_last_seq: number };
}

/** The value of a shard key in the meta bucket: who owns it, under which epoch. */
export interface ShardAssignment {
  collection_id: number;
  collection_name: string;
  shard: number;
  owner: string;
  epoch: number;
}

/** One record of a shard's write-ahead log. */
export type WalRecord =
  | { kind: "insert"; ts: bigint; epoch: number; rows: Row[] }
  | { kind: "delete"; ts: bigint; epoch: number; ids: PrimaryKey[] };

/** The value of a session key: an actor that is alive. */
export interface SessionInfo {
  role: string;
  node_id: string;
  host: string;
  pid: number;
  started_at: number;
}
