// Internal actor messages. Each actor takes one union tagged by `kind` and
// dispatches with an exhaustive match, so adding a kind here is a compile
// error until every handler takes it.
import type { CollectionMeta, ConsistencyLevel } from "./collection.js";
import type { CollectionSchema, MetricType } from "./schema.js";
import type { ColumnBatch } from "./columns.js";
import type { PrimaryKey, Row } from "./rows.js";
import type { Hit } from "./api.js";
import type { IndexMeta, IndexSpec, SegmentIndexRef } from "./indexes.js";

/** Requests the coordinator serves (subject: Names.coordinatorSubject()). */
export type CoordinatorMsg =
  | {
      kind: "create_collection";
      name: string;
      schema: CollectionSchema;
      num_shards: number;
      metric_type: MetricType;
      consistency_level: ConsistencyLevel;
      partitions: string[];
    }
  | { kind: "drop_collection"; name: string }
  | { kind: "rename_collection"; old_name: string; new_name: string }
  | { kind: "create_partition"; collection_name: string; partition_name: string }
  | { kind: "drop_partition"; collection_name: string; partition_name: string }
  | { kind: "create_alias"; alias: string; collection_name: string }
  | { kind: "alter_alias"; alias: string; collection_name: string }
  | { kind: "drop_alias"; alias: string }
  | { kind: "allocate_ids"; count: number }
  | { kind: "allocate_ts"; count: number }
  /** Declares indexes (already checked against the schema by the proxy) and queues builds for flushed segments. */
  | { kind: "create_index"; collection_name: string; indexes: IndexSpec[] }
  | { kind: "drop_index"; collection_name: string; index_name: string }
  | { kind: "load_collection"; collection_name: string; replica_number?: number }
  /** Plans and queues compactions of every shard (the `compact` API). */
  | { kind: "compact"; collection_name: string }
  | { kind: "release_collection"; collection_name: string };

export interface CoordinatorReplies {
  create_collection: CollectionMeta;
  drop_collection: { dropped: boolean };
  rename_collection: CollectionMeta;
  create_partition: CollectionMeta;
  drop_partition: CollectionMeta;
  create_alias: AliasMeta;
  alter_alias: AliasMeta;
  drop_alias: { dropped: boolean };
  /** ids [start, start + count) are the caller's alone. */
  allocate_ids: { start: number };
  /** the first of `count` consecutive hybrid timestamps. */
  allocate_ts: { ts: bigint };
  create_index: IndexMeta[];
  drop_index: { dropped: boolean };
  load_collection: CollectionMeta;
  compact: { compaction_id: number };
  release_collection: CollectionMeta;
}

/**
 * Which rows a shard request may touch. `partition_names` absent means every
 * partition; `guarantee_ts` is the consistency guarantee: the shard answers
 * only once it has applied every write with a smaller timestamp.
 */
export interface ReadScope {
  partition_names?: string[];
  guarantee_ts?: bigint;
  /** The read's level, for an edge replica: it answers Bounded and Eventually reads only (an owner goes by guarantee_ts). */
  consistency_level?: ConsistencyLevel;
}

/** Range search: only hits between the bounds count, the way round depending on the metric (see engine/reduce.ts inRange). */
export interface SearchRange {
  radius: number;
  range_filter?: number;
}

/**
 * Group-by search: `limit` counts groups of up to `size` hits sharing a value
 * of `field`. With `values` (one list per query vector) only those groups are
 * searched, as many as listed: the proxy's second round for group members.
 */
export interface GroupBy {
  field: string;
  size: number;
  values?: unknown[][];
}

/** Requests a shard owner serves (subject: Names.shardSubject(cid, shard)). An insert is an upsert: a row replaces the one of its key. */
export type ShardMsg =
  | { kind: "insert"; batch: ColumnBatch }
  | ({ kind: "delete"; ids: PrimaryKey[] } & ReadScope)
  | ({ kind: "delete_by_filter"; filter: string } & ReadScope)
  | ({
      kind: "search";
      vectors: Float32Array[];
      anns_field: string;
      limit: number;
      filter?: string;
      output_fields: string[];
      range?: SearchRange;
      group_by?: GroupBy;
      /** HNSW search breadth on indexed segments (search_params.params.ef). */
      ef?: number;
      /** The field's metric as the proxy knows it (its index's): a shard's own collection meta is as of its opening. */
      metric_type?: MetricType;
    } & ReadScope)
  | ({ kind: "query"; filter?: string; output_fields: string[]; limit: number; count?: boolean } & ReadScope)
  | ({ kind: "get"; ids: PrimaryKey[]; output_fields: string[] } & ReadScope)
  | { kind: "stats" }
  | { kind: "drop_partition"; partition_name: string }
  | { kind: "flush" }
  /** From a data node: replace `sources` with the compacted `segment` (already in the object store), if they are all still there. */
  | { kind: "swap_segments"; sources: number[]; segment: SegmentRef };

export type ShardRead = Extract<ShardMsg, { kind: "search" | "query" | "get" }>;

export function isShardRead(msg: ShardMsg): msg is ShardRead {
  return msg.kind === "search" || msg.kind === "query" || msg.kind === "get";
}

/** A read an edge replica may answer: one whose level allows a copy behind the owner. */
export function isEdgeRead(msg: ShardMsg): boolean {
  return isShardRead(msg) && (msg.consistency_level === "Bounded" || msg.consistency_level === "Eventually");
}

/** Writes report the timestamp of their WAL record: Session reads wait for it. */
export interface ShardReplies {
  insert: { insert_count: number; timestamp: bigint };
  delete: { delete_count: number; timestamp: bigint };
  delete_by_filter: { delete_count: number; timestamp: bigint };
  search: Hit[][];
  query: Row[];
  get: Row[];
  /** growing_rows: rows taken by the growing segment (not yet sealed). */
  /** skipped_records: WAL records the owner could not apply (corrupt or not fitting the schema), logged and skipped. */
  stats: {
    row_count: number;
    wal_last_seq: number;
    segments: number;
    growing_rows?: number;
    served_by_query_nodes?: number;
    /** Bytes of vectors the owner holds in memory for sealed segments it serves itself. */
    sealed_vector_bytes?: number;
    skipped_records?: number;
  };
  drop_partition: { delete_count: number; timestamp: bigint };
  /** Segments written to the object store by this flush (and by earlier ones it waited for). */
  flush: { flushed_segments: number };
  swap_segments: { swapped: boolean };
}

/** load_collection's replica_number: at most this many copies of each segment. */
export const REPLICAS_MAX = 16;

/** One copy of a sealed segment: the query node that holds it, and whether it has loaded it yet. */
export interface PlacementCopy {
  node: string;
  state: "loading" | "loaded";
  /** A balancing move: this copy takes the place of the copy on that node once it is loaded. */
  replaces?: string;
}

/**
 * Where one sealed segment is served: a copy on each of `replica_number`
 * distinct query nodes (copy i belongs to replica i). Reads go to any
 * loaded copy.
 */
export interface PlacementEntry {
  copies: PlacementCopy[];
  rows: number;
  /** The index builds the nodes are to open, by field: a new build means loading again. */
  builds: Record<string, number>;
}

/**
 * The value of a collection's placement key, written by the coordinator (who
 * serves what) and by query nodes (what they have loaded). Entries are keyed
 * by `placementKey(shard, segment_id)`. `loaded` mirrors the collection's
 * load state: a released collection has no entries.
 */
export interface Placement {
  collection_id: number;
  loaded: boolean;
  /** Copies kept of each segment (load_collection's replica_number); absent is 1. */
  replica_number?: number;
  segments: Record<string, PlacementEntry>;
}

/** The query nodes that have loaded a copy of the segment. */
export function servingNodes(e: PlacementEntry | undefined): string[] {
  return e ? e.copies.filter((c) => c.state === "loaded").map((c) => c.node) : [];
}

export function placementKey(shard: number, segmentId: number): string {
  return `${shard}-${segmentId}`;
}

/** Whether two entries name the same index builds, whatever the order of their fields. */
export function sameBuilds(a: Record<string, number>, b: Record<string, number>): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((k) => a[k] === b[k]);
}

/** One sealed segment of a read sent to a query node, with the slots dead as of the read. */
export interface SegmentSlice {
  shard: number;
  segment_id: number;
  dead: number[];
}

/** The rows a read may see on a query node: as ReadScope, without the guarantee (the shard owner waited for it). */
export interface RemoteScope {
  partition_names?: string[];
  filter?: string;
}

/** Requests a query node serves (subject: Names.querySubject(node)), sent by shard owners. */
export type QueryNodeMsg =
  | ({
      kind: "search";
      collection_id: number;
      segments: SegmentSlice[];
      vectors: Float32Array[];
      anns_field: string;
      limit: number;
      output_fields: string[];
      range?: SearchRange;
      group_by?: GroupBy;
      ef?: number;
      metric_type?: MetricType;
    } & RemoteScope)
  | ({ kind: "query"; collection_id: number; segments: SegmentSlice[]; output_fields: string[]; limit: number } & RemoteScope)
  | ({ kind: "count"; collection_id: number; segments: SegmentSlice[] } & RemoteScope)
  | ({ kind: "matching_ids"; collection_id: number; segments: SegmentSlice[] } & RemoteScope)
  /** Rows by slot: the shard owner knows from its keys which slots hold the ids asked for. */
  | { kind: "get"; collection_id: number; segments: { shard: number; segment_id: number; slots: number[] }[]; output_fields: string[] };

export interface QueryNodeReplies {
  search: Hit[][];
  query: Row[];
  count: { count: number };
  matching_ids: PrimaryKey[];
  get: Row[];
}

/** What `compact` queued, kept so get_compaction_state can tell when it is done. */
export interface CompactionRecord {
  compaction_id: number;
  collection_id: number;
  created_at: number;
  tasks: { shard: number; sources: number[]; target: number }[];
}

/** The value of an alias key in the meta bucket. */
export interface AliasMeta {
  alias: string;
  collection_name: string;
}

/** The value of a shard key in the meta bucket: who owns it, under which epoch. */
export interface ShardAssignment {
  collection_id: number;
  collection_name: string;
  shard: number;
  owner: string;
  epoch: number;
}

/** A sealed segment as committed in its shard's segments key; `object` and `delete_logs` are object store names. */
export interface SegmentRef {
  segment_id: number;
  object: string;
  row_count: number;
  seq_from: number;
  seq_to: number;
  pk_min: PrimaryKey | null;
  pk_max: PrimaryKey | null;
  /** Each holds a msgpack list of primary keys deleted from the segment, oldest log first. */
  delete_logs: string[];
  /** How many of the segment's rows its delete logs mark deleted: compaction triggers on it. */
  deleted_count?: number;
  state: "flushed";
  /** Built vector indexes by field, recorded by data nodes (the shard owner keeps them as it finds them). */
  indexes?: Record<string, SegmentIndexRef>;
}

/**
 * The value of a shard's segments key: what the object store holds of the
 * shard as of WAL sequence `checkpoint_seq`. The WAL from checkpoint_seq + 1
 * on holds the rest. `epoch` is the owner that wrote it: an owner with a
 * lower epoch may not write it again.
 */
export interface ShardSegments {
  collection_id: number;
  shard: number;
  epoch: number;
  checkpoint_seq: number;
  segments: SegmentRef[];
}

/** One record of a shard's write-ahead log. */
export type WalRecord =
  /** Data format 2 on: the batches of one or more inserts (those that reached the shard during the append before), as columns. */
  | { kind: "insert_columns"; ts: bigint; epoch: number; batches: ColumnBatch[] }
  /** Data format 1 (release 0.1.0): rows, each carrying its partition in PARTITION_FIELD; still replayed. */
  | { kind: "insert"; ts: bigint; epoch: number; rows: Row[] }
  | { kind: "delete"; ts: bigint; epoch: number; ids: PrimaryKey[] }
  /** Written by a new owner before it serves: any older owner's next append is fenced by it. */
  | { kind: "fence"; ts: bigint; epoch: number };

/**
 * What an actor reports of its load when asked on its node subject
 * (Names.nodeSubject): requests it is working on, and what it holds.
 */
export interface NodeLoad {
  in_flight: number;
  /** Streaming nodes: shards open. */
  shards?: number;
  /** Query nodes: segments loaded; edge replicas: sealed segments kept. */
  segments?: number;
  /** Query nodes and edge replicas: HNSW indexes open (segments searched through one). */
  indexes?: number;
  /** Rows the node serves: a streaming node's shards, a query node's segments. */
  rows?: number;
  /** Query nodes: bytes of vector columns held in memory, and of int8 codes of those left on disk (VECBUS_QUERY_VECTOR_MEMORY_BYTES, VECBUS_QUERY_VECTOR_CODE_BYTES). */
  vector_bytes?: number;
  code_bytes?: number;
  /** Coordinators: whether this one holds the lease. */
  leader?: boolean;
  /**
   * Edge replicas: how far behind the hub its stalest shard may be, in ms:
   * the time since the shard last knew it held every record the hub's WAL
   * had. The hub's heartbeats (every 2.5 s while idle) refresh it while the
   * link is up; it grows while the link is down.
   */
  lag_ms?: number;
}

/** Asked of every actor on its node subject: the coordinator's pings (any answer means alive) and status. */
export type NodeMsg = { kind: "report" };

export interface NodeReplies {
  report: NodeLoad;
}

/** The value of a session key: an actor that is alive. */
export interface SessionInfo {
  role: string;
  node_id: string;
  host: string;
  pid: number;
  started_at: number;
}
