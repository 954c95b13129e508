// The public API: method names and the shapes of their replies. Requests
// arrive as untyped msgpack maps; the proxy checks each field it reads with
// the helpers in this folder, so these types describe the checked form.
import type { ConsistencyLevel } from "./collection.js";
import type { IndexParams, IndexType } from "./indexes.js";
import type { AliasMeta, NodeLoad } from "./messages.js";
import type { CollectionSchema, MetricType } from "./schema.js";
import type { PrimaryKey, Row } from "./rows.js";

/** How long the proxy waits for a shard that is between owners (restart, failover) before SHARD_NOT_READY. */
export const SHARD_RETRY_MS = 20_000;
/** One proxy-to-shard attempt: longer than the session TTL, so an owner that died mid-request is known dead by then. */
export const SHARD_ATTEMPT_MS = 10_000;
/**
 * How long a client waits for a reply by default: above the proxy's worst
 * case (its retry window plus a last attempt), so the client never gives up
 * with a bare TIMEOUT while the proxy is still working towards an answer.
 */
export const CLIENT_TIMEOUT_MS = SHARD_RETRY_MS + SHARD_ATTEMPT_MS + 15_000;
/** load_collection's `timeout` in seconds: as given when positive, else 60 as pymilvus. */
export function loadTimeoutS(timeout: unknown): number {
  return typeof timeout === "number" && timeout > 0 ? timeout : 60;
}

export const API_METHODS = [
  "create_collection",
  "drop_collection",
  "has_collection",
  "list_collections",
  "describe_collection",
  "get_collection_stats",
  "rename_collection",
  "create_partition",
  "drop_partition",
  "has_partition",
  "list_partitions",
  "create_alias",
  "drop_alias",
  "alter_alias",
  "describe_alias",
  "list_aliases",
  "insert",
  "upsert",
  "delete",
  "search",
  "hybrid_search",
  "query",
  "get",
  "flush",
  "status",
  "create_index",
  "describe_index",
  "list_indexes",
  "drop_index",
  "load_collection",
  "release_collection",
  "get_load_state",
  "describe_replica",
  "query_iterator",
  "search_iterator",
  "compact",
  "get_compaction_state",
] as const;
export type ApiMethod = (typeof API_METHODS)[number];

export function isApiMethod(s: string): s is ApiMethod {
  return (API_METHODS as readonly string[]).includes(s);
}

export interface CollectionDescription {
  collection_name: string;
  collection_id: number;
  schema: CollectionSchema;
  num_shards: number;
  metric_type: MetricType;
  created_at: number;
  consistency_level: ConsistencyLevel;
  num_partitions: number;
  aliases: string[];
}

/** describe_index: an index and how far its builds have come. */
export interface IndexDescription {
  field_name: string;
  index_name: string;
  index_type: IndexType;
  /** Vector indexes only. */
  metric_type?: MetricType;
  params: IndexParams;
  /** Finished: every flushed segment has its index; InProgress: some wait for a data node; Failed: a build failed for good. */
  state: "Finished" | "InProgress" | "Failed";
  /** Rows of flushed segments whose index for the field is built. */
  indexed_rows: number;
  /** Rows of flushed segments plus rows in growing segments. */
  total_rows: number;
  pending_index_rows: number;
}

/** get_load_state, as pymilvus names the states; progress is the percentage of placed rows loaded. */
export interface LoadState {
  state: "NotExist" | "NotLoad" | "Loading" | "Loaded";
  progress: number;
}

/**
 * describe_replica: one per replica of a loaded collection. Replica i is
 * the i-th copy of every sealed segment; a query node may hold copies of
 * different replicas (unlike Milvus, which gives each node one replica), but
 * never two copies of one segment. Each shard's growing rows are served by
 * its owner for every replica (`shard_leaders`).
 */
export interface ReplicaDescription {
  replica_id: number;
  collection_name: string;
  node_ids: string[];
  /** Sealed segments with a copy in this replica, and how many of them are loaded. */
  segments: number;
  loaded_segments: number;
  rows: number;
  shard_leaders: { shard: number; node_id: string }[];
}

export interface Hit {
  id: PrimaryKey;
  distance: number;
  entity: Row;
}

export interface NodeStatus {
  role: string;
  node_id: string;
  host: string;
  pid: number;
  started_at: number;
  /** What the process reported when asked (null: no answer within 1 s). */
  load: NodeLoad | null;
}

export interface ShardStatus {
  collection_name: string;
  shard: number;
  owner: string;
  epoch: number;
  wal_stream: string;
  wal_last_seq: number;
  row_count: number | null;
  /** Sealed segments the owner holds, flushed or on their way. */
  segments: number | null;
  /** "ok", or why not: WAL records skipped because they could not be applied (see the owner's log), or no answer from the owner. */
  health: string;
}

/** One segment in `status`: a shard's growing segment, or a sealed one with where it is served. */
export interface SegmentStatus {
  collection_name: string;
  shard: number;
  /** null for the growing segment. */
  segment_id: number | null;
  /** Growing: taking writes; Flushed: in the object store; Indexed: every declared index built. */
  state: "Growing" | "Flushed" | "Indexed";
  /** Live rows (for the growing segment: rows written to it). */
  rows: number;
  deleted: number;
  /** Built index types by field, e.g. "vector:HNSW". */
  index: string;
  /** `query <node>` for each copy on a query node (`loading` while it loads), else `streaming <owner>`. */
  served_by: string;
}

export interface ClusterStatus {
  nodes: NodeStatus[];
  shards: ShardStatus[];
  segments: SegmentStatus[];
}

/** get_compaction_state: Completed once every task of the compaction ran (or found its segments gone). */
export interface CompactionState {
  compaction_id: number;
  state: "Executing" | "Completed";
  executing: number;
  completed: number;
}

export interface ApiReplies {
  load_collection: LoadState;
  release_collection: LoadState;
  get_load_state: LoadState;
  describe_replica: ReplicaDescription[];
  /** One batch, and the cursor to send for the next (null: done). */
  query_iterator: { rows: Row[]; cursor: { last_pk: PrimaryKey; returned: number } | null };
  search_iterator: { hits: Hit[]; cursor: { distance: number; ids: PrimaryKey[]; returned: number } | null };
  compact: { compaction_id: number };
  get_compaction_state: CompactionState;
  create_collection: CollectionDescription;
  drop_collection: { dropped: boolean };
  has_collection: boolean;
  list_collections: string[];
  describe_collection: CollectionDescription;
  get_collection_stats: { row_count: number };
  rename_collection: CollectionDescription;
  create_partition: { created: boolean };
  drop_partition: { dropped: boolean };
  has_partition: boolean;
  list_partitions: string[];
  create_alias: { created: boolean };
  drop_alias: { dropped: boolean };
  alter_alias: { altered: boolean };
  describe_alias: AliasMeta;
  list_aliases: { aliases: string[]; collection_name?: string };
  insert: { insert_count: number; ids: PrimaryKey[]; timestamp: bigint };
  upsert: { upsert_count: number; ids: PrimaryKey[]; timestamp: bigint };
  delete: { delete_count: number; timestamp: bigint };
  search: Hit[][];
  hybrid_search: Hit[][];
  query: Row[];
  get: Row[];
  flush: { flushed_segments: number };
  status: ClusterStatus;
  create_index: { created: boolean };
  describe_index: IndexDescription;
  list_indexes: string[];
  drop_index: { dropped: boolean };
}
