// The checked decoder of every internal message, WAL record, task and meta
// value: what each actor runs on what it receives or reads back. Each is
// declared as a Check of its type in protocol/, so the compiler holds the two
// together: a field added to a type without its check here does not compile.
import { float32View } from "./binary.js";
import { any, arr, bool, byKind, isMap, lit, map, nat, nullable, num, obj, opt, record, str, u64, type Check } from "./check.js";
import { checkSchema, CONSISTENCY_LEVELS, type CollectionMeta } from "./collection.js";
import { VecbusError } from "./errors.js";
import { INDEX_TYPES, SQ_TYPES, type IndexMeta, type IndexSpec, type SegmentIndexRef, type Task } from "./indexes.js";
import type { DataFormat } from "./data-format.js";
import type {
  NodeMsg,
  AliasMeta,
  CompactionRecord,
  CoordinatorMsg,
  GroupBy,
  Placement,
  PlacementEntry,
  QueryNodeMsg,
  SearchRange,
  SegmentRef,
  SegmentSlice,
  ShardAssignment,
  ShardMsg,
  ShardSegments,
  WalRecord,
} from "./messages.js";
import type { Column, ColumnBatch } from "./columns.js";
import type { PrimaryKey, Row } from "./rows.js";
import { int64Of, MetricType, type CollectionSchema } from "./schema.js";

const primaryKey: Check<PrimaryKey> = (v, path) => {
  const key = typeof v === "string" ? v : int64Of(v);
  if (key !== undefined) return key;
  throw new VecbusError("MALFORMED_REQUEST", `${path} must be a 64-bit integer or string primary key`);
};

/** A row's fields are checked against the schema by whoever stores it; here it need only be a map. */
const row: Check<Row> = map;

const vector: Check<Float32Array> = (v, path) => {
  if (v instanceof Float32Array) return v;
  if (v instanceof Uint8Array && v.byteLength % 4 === 0) return float32View(v);
  throw new VecbusError("MALFORMED_REQUEST", `${path} must be a float32 vector`);
};

/** Likewise a batch's columns (protocol/columns.ts checkStoredBatch): here a list of values or a vector field's float32 block. */
const columnBatch: Check<ColumnBatch> = obj({
  count: nat,
  fields: record<Column>((v, path) => (Array.isArray(v) ? v : vector(v, path))),
  partition: (v, path) => (typeof v === "string" ? v : arr(str)(v, path)),
});

const schema: Check<CollectionSchema> = (v) => checkSchema(v);

const metric = lit(...Object.values(MetricType));

const indexParams = obj({ M: opt(nat), efConstruction: opt(nat), sq_type: opt(lit(...SQ_TYPES)) });

const indexSpecFields = { field_name: str, index_name: str, index_type: lit(...INDEX_TYPES), metric_type: opt(metric), params: indexParams };

const indexSpec: Check<IndexSpec> = obj(indexSpecFields);

const indexMeta: Check<IndexMeta> = obj({ ...indexSpecFields, build: nat, created_at: num });

const segmentIndexRef: Check<SegmentIndexRef> = obj({ object: str, index_type: lit(...INDEX_TYPES), params: indexParams, build: nat, bytes: nat });

const segmentRef: Check<SegmentRef> = obj({
  segment_id: nat,
  object: str,
  row_count: nat,
  seq_from: nat,
  seq_to: nat,
  pk_min: nullable(primaryKey),
  pk_max: nullable(primaryKey),
  delete_logs: arr(str),
  deleted_count: opt(nat),
  state: lit("flushed"),
  indexes: opt(record(segmentIndexRef)),
});

const range: Check<SearchRange> = obj({ radius: num, range_filter: opt(num) });
const groupBy: Check<GroupBy> = obj({ field: str, size: nat, values: opt(arr(arr(any))) });
const scope = { partition_names: opt(arr(str)), guarantee_ts: opt(u64), consistency_level: opt(lit(...CONSISTENCY_LEVELS)) };
const remoteScope = { partition_names: opt(arr(str)), filter: opt(str) };
const slice: Check<SegmentSlice> = obj({ shard: nat, segment_id: nat, dead: arr(nat) });

export const shardMsg: Check<ShardMsg> = byKind<ShardMsg>({
  insert: obj({ kind: lit("insert"), batch: columnBatch }),
  delete: obj({ kind: lit("delete"), ids: arr(primaryKey), ...scope }),
  delete_by_filter: obj({ kind: lit("delete_by_filter"), filter: str, ...scope }),
  search: obj({
    kind: lit("search"),
    vectors: arr(vector),
    anns_field: str,
    limit: nat,
    filter: opt(str),
    output_fields: arr(str),
    range: opt(range),
    group_by: opt(groupBy),
    ef: opt(nat),
    metric_type: opt(metric),
    ...scope,
  }),
  query: obj({ kind: lit("query"), filter: opt(str), output_fields: arr(str), limit: nat, count: opt(bool), ...scope }),
  get: obj({ kind: lit("get"), ids: arr(primaryKey), output_fields: arr(str), ...scope }),
  stats: obj({ kind: lit("stats") }),
  drop_partition: obj({ kind: lit("drop_partition"), partition_name: str }),
  flush: obj({ kind: lit("flush") }),
  swap_segments: obj({ kind: lit("swap_segments"), sources: arr(nat), segment: segmentRef }),
});

const named = { collection_name: str };

export const coordinatorMsg: Check<CoordinatorMsg> = byKind<CoordinatorMsg>({
  create_collection: obj({
    kind: lit("create_collection"),
    name: str,
    schema,
    num_shards: nat,
    metric_type: metric,
    consistency_level: lit(...CONSISTENCY_LEVELS),
    partitions: arr(str),
  }),
  drop_collection: obj({ kind: lit("drop_collection"), name: str }),
  rename_collection: obj({ kind: lit("rename_collection"), old_name: str, new_name: str }),
  create_partition: obj({ kind: lit("create_partition"), ...named, partition_name: str }),
  drop_partition: obj({ kind: lit("drop_partition"), ...named, partition_name: str }),
  create_alias: obj({ kind: lit("create_alias"), alias: str, ...named }),
  alter_alias: obj({ kind: lit("alter_alias"), alias: str, ...named }),
  drop_alias: obj({ kind: lit("drop_alias"), alias: str }),
  allocate_ids: obj({ kind: lit("allocate_ids"), count: nat }),
  allocate_ts: obj({ kind: lit("allocate_ts"), count: nat }),
  create_index: obj({ kind: lit("create_index"), ...named, indexes: arr(indexSpec) }),
  drop_index: obj({ kind: lit("drop_index"), ...named, index_name: str }),
  load_collection: obj({ kind: lit("load_collection"), ...named, replica_number: opt(nat) }),
  compact: obj({ kind: lit("compact"), ...named }),
  release_collection: obj({ kind: lit("release_collection"), ...named }),
});

const onSegments = { collection_id: nat, segments: arr(slice), ...remoteScope };

export const nodeMsg: Check<NodeMsg> = byKind<NodeMsg>({ report: obj({ kind: lit("report") }) });

export const queryNodeMsg: Check<QueryNodeMsg> = byKind<QueryNodeMsg>({
  search: obj({
    kind: lit("search"),
    ...onSegments,
    vectors: arr(vector),
    anns_field: str,
    limit: nat,
    output_fields: arr(str),
    range: opt(range),
    group_by: opt(groupBy),
    ef: opt(nat),
    metric_type: opt(metric),
  }),
  query: obj({ kind: lit("query"), ...onSegments, output_fields: arr(str), limit: nat }),
  count: obj({ kind: lit("count"), ...onSegments }),
  matching_ids: obj({ kind: lit("matching_ids"), ...onSegments }),
  get: obj({
    kind: lit("get"),
    collection_id: nat,
    segments: arr(obj({ shard: nat, segment_id: nat, slots: arr(nat) })),
    output_fields: arr(str),
  }),
});

export const walRecord: Check<WalRecord> = byKind<WalRecord>({
  insert_columns: obj({ kind: lit("insert_columns"), ts: u64, epoch: nat, batches: arr(columnBatch) }),
  insert: obj({ kind: lit("insert"), ts: u64, epoch: nat, rows: arr(row) }),
  delete: obj({ kind: lit("delete"), ts: u64, epoch: nat, ids: arr(primaryKey) }),
  fence: obj({ kind: lit("fence"), ts: u64, epoch: nat }),
});

export const task: Check<Task> = byKind<Task>({
  build_index: obj({ kind: lit("build_index"), collection_id: nat, shard: nat, segment_id: nat, field_name: str, index: indexMeta }),
  compact: obj({ kind: lit("compact"), collection_id: nat, shard: nat, sources: arr(nat), target: nat }),
});

// Meta values, by key family (protocol/subjects.ts MetaKey): the meta store
// runs the family's check on every value it reads, and skips (with a log
// line) one that fails, as it does one that cannot be decoded.

const collectionMeta: Check<CollectionMeta> = obj({
  id: nat,
  name: str,
  schema,
  num_shards: nat,
  metric_type: metric,
  created_at: num,
  partitions: arr(str),
  consistency_level: lit(...CONSISTENCY_LEVELS),
  indexes: opt(record(indexMeta)),
  released: opt(bool),
  replica_number: opt(nat),
});

const aliasMeta: Check<AliasMeta> = obj({ alias: str, collection_name: str });

const shardAssignment: Check<ShardAssignment> = obj({ collection_id: nat, collection_name: str, shard: nat, owner: str, epoch: nat });

const shardSegments: Check<ShardSegments> = obj({ collection_id: nat, shard: nat, epoch: nat, checkpoint_seq: nat, segments: arr(segmentRef) });

const placementCopy = obj({ node: str, state: lit("loading", "loaded"), replaces: opt(str) });
const placementEntryNow = obj({ copies: arr(placementCopy), rows: nat, builds: record(nat) });
/** Before replicas an entry named its one node itself: read as one copy. */
const placementEntryBefore = obj({ node: str, state: lit("loading", "loaded"), rows: nat, builds: record(nat) });
const placementEntry: Check<PlacementEntry> = (v, path) => {
  if (isMap(v) && "copies" in v) return placementEntryNow(v, path);
  const { node, state, ...rest } = placementEntryBefore(v, path);
  return { ...rest, copies: [{ node, state }] };
};

const placement: Check<Placement> = obj({ collection_id: nat, loaded: bool, replica_number: opt(nat), segments: record(placementEntry) });

const compactionRecord: Check<CompactionRecord> = obj({
  compaction_id: nat,
  collection_id: nat,
  created_at: num,
  tasks: arr(obj({ shard: nat, sources: arr(nat), target: nat })),
});

const META_VALUES: Record<string, Check<unknown>> = {
  collections: collectionMeta,
  aliases: aliasMeta,
  shards: shardAssignment,
  segments: shardSegments,
  placement,
  compactions: compactionRecord,
  counters: obj({ next: nat }),
  tso: obj({ bound: num }),
  format: obj({ version: nat }) satisfies Check<DataFormat>,
};

/** The check of a meta value, chosen by its key's first token (every key vecbus writes has one). */
export function metaValue(key: string): Check<unknown> {
  return META_VALUES[key.split(".")[0]] ?? any;
}
