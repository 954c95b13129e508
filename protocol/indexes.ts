// Indexes: the index types create_index takes, their parameters, and how
// vector indexes map onto usearch. Pure: no I/O.
//
// An index is declared on one field (one index per field) and lives in the
// collection meta (`CollectionMeta.indexes`, keyed by field). A vector index
// (FloatVector field) is built per segment by data nodes; a scalar index
// (INVERTED, BITMAP, STL_SORT on the scalar field types Milvus allows them
// on) is built by the query node serving a sealed segment, from the
// segment's column, when it loads the segment (engine/scalar-index.ts).
// Each declaration gets a `build` number from the coordinator; a segment's
// built index is recorded in its SegmentRef under the field, with the build
// it was made for, so a dropped and re-created index never counts an old
// build's files.
import type { Args } from "./args.js";
import { checkMetric, checkName, type CollectionMeta } from "./collection.js";
import { VecbusError } from "./errors.js";
import { clusteringKeyField, type CollectionSchema, type DataType, type FieldSchema, type MetricType } from "./schema.js";

export const VECTOR_INDEX_TYPES = ["FLAT", "HNSW", "HNSW_SQ", "AUTOINDEX"] as const;
export const SCALAR_INDEX_TYPES = ["INVERTED", "BITMAP", "STL_SORT", "AUTOINDEX"] as const;
export const INDEX_TYPES = ["FLAT", "HNSW", "HNSW_SQ", "AUTOINDEX", "INVERTED", "BITMAP", "STL_SORT"] as const;
export type IndexType = (typeof INDEX_TYPES)[number];

/** The scalar field types each scalar index type takes, as Milvus has them; AUTOINDEX on a scalar field is INVERTED. */
const SCALAR_INDEX_FIELDS: Record<"INVERTED" | "BITMAP" | "STL_SORT", readonly DataType[]> = {
  INVERTED: ["Bool", "Int8", "Int16", "Int32", "Int64", "Float", "Double", "VarChar"],
  BITMAP: ["Bool", "Int8", "Int16", "Int32", "Int64", "VarChar"],
  STL_SORT: ["Int8", "Int16", "Int32", "Int64", "Float", "Double"],
};

export const SQ_TYPES = ["FP16", "BF16"] as const;
export type SqType = (typeof SQ_TYPES)[number];

export interface IndexParams {
  M?: number;
  efConstruction?: number;
  sq_type?: SqType;
}

/** An index as declared by create_index (the checked form); a scalar index has no metric. */
export interface IndexSpec {
  field_name: string;
  index_name: string;
  index_type: IndexType;
  metric_type?: MetricType;
  params: IndexParams;
}

/** As stored in the collection meta: the spec plus the build number the coordinator gave it. */
export interface IndexMeta extends IndexSpec {
  build: number;
  created_at: number;
}

/** A built index of one segment's field, recorded in the segment's SegmentRef. */
export interface SegmentIndexRef {
  object: string;
  index_type: IndexType;
  params: IndexParams;
  build: number;
  bytes: number;
}

/** What the data node hands to usearch. */
export interface UsearchConfig {
  metric: "l2sq" | "ip" | "cos";
  quantization: "f32" | "f16" | "bf16";
  connectivity: number;
  expansion_add: number;
}

export const HNSW_DEFAULTS = { M: 16, efConstruction: 128 } as const;
const M_RANGE = [2, 2048] as const;
const EF_RANGE = [8, 512] as const;

export function usearchMetric(m: MetricType): UsearchConfig["metric"] {
  return m === "L2" ? "l2sq" : m === "IP" ? "ip" : "cos";
}

/** The inverse of usearchMetric. */
export function metricOfUsearch(m: UsearchConfig["metric"]): MetricType {
  return m === "l2sq" ? "L2" : m === "ip" ? "IP" : "COSINE";
}

/**
 * The index builds a sealed segment is served with on a query node, by
 * field; undefined while one it needs is not built yet (such a segment stays
 * with its shard owner). Placement and the load state both go by it.
 */
export function servedBuilds(c: { indexes?: Record<string, IndexMeta> }, ref: { indexes?: Record<string, SegmentIndexRef> }): Record<string, number> | undefined {
  const builds: Record<string, number> = {};
  for (const ix of Object.values(c.indexes ?? {})) {
    if (!needsBuild(ix)) continue;
    if (ref.indexes?.[ix.field_name]?.build !== ix.build) return undefined;
    builds[ix.field_name] = ix.build;
  }
  return builds;
}

/** Whether data nodes build this index per segment: vector indexes but FLAT (exact search: nothing to build). */
export function needsBuild(ix: { index_type: IndexType }): boolean {
  return ix.index_type !== "FLAT" && !isScalarIndex(ix);
}

/** Whether this is a scalar index (a scalar field's AUTOINDEX is stored as INVERTED). */
export function isScalarIndex(ix: { index_type: IndexType }): boolean {
  return ix.index_type === "INVERTED" || ix.index_type === "BITMAP" || ix.index_type === "STL_SORT";
}

/**
 * The fields a query node keeps scalar indexes of, which filters may use:
 * the clustering key's first (its index lays out the vector codes), then
 * those with a scalar index declared.
 */
export function scalarIndexed(c: { schema: CollectionSchema; indexes?: Record<string, IndexSpec> }): Set<string> {
  const key = clusteringKeyField(c.schema);
  return new Set([...(key ? [key.name] : []), ...Object.values(c.indexes ?? {}).filter(isScalarIndex).map((ix) => ix.field_name)]);
}

/**
 * A vector field's metric, as Milvus keeps it: its index's (create_index's
 * `metric_type`), else the collection's (quick setup's `metric_type`, and
 * every field of a collection made before metrics were per field).
 */
export function fieldMetric(meta: CollectionMeta, field: string): MetricType {
  return meta.indexes?.[field]?.metric_type ?? meta.metric_type;
}

export function usearchConfig(ix: IndexSpec): UsearchConfig {
  const p = ix.params;
  return {
    metric: usearchMetric(ix.metric_type!),
    quantization: ix.index_type === "HNSW_SQ" ? (p.sq_type === "BF16" ? "bf16" : "f16") : "f32",
    connectivity: p.M ?? HNSW_DEFAULTS.M,
    expansion_add: p.efConstruction ?? HNSW_DEFAULTS.efConstruction,
  };
}

function intParam(params: Record<string, unknown>, name: string, range: readonly [number, number], dflt: number): number {
  const raw = params[name];
  if (raw === undefined || raw === null) return dflt;
  const v = typeof raw === "bigint" ? Number(raw) : typeof raw === "string" && /^\d+$/.test(raw) ? Number(raw) : raw;
  if (typeof v !== "number" || !Number.isInteger(v) || v < range[0] || v > range[1]) {
    throw new VecbusError("INVALID_ARGUMENT", `index param ${name} must be an integer from ${range[0]} to ${range[1]}; got ${JSON.stringify(String(raw))}`);
  }
  return v;
}

function checkParams(type: IndexType, raw: unknown): IndexParams {
  if (raw === undefined || raw === null) raw = {};
  if (typeof raw !== "object" || Array.isArray(raw)) throw new VecbusError("INVALID_ARGUMENT", "index params must be a map, e.g. {M: 16, efConstruction: 128}");
  const params = raw as Record<string, unknown>;
  const allowed = type === "HNSW" ? ["M", "efConstruction"] : type === "HNSW_SQ" ? ["M", "efConstruction", "sq_type"] : [];
  const unknown = Object.keys(params).filter((k) => !allowed.includes(k));
  if (unknown.length > 0) {
    const takes = allowed.length > 0 ? `it takes ${allowed.join(", ")}` : "it takes no params";
    throw new VecbusError("INVALID_ARGUMENT", `index type ${type} does not take param(s) ${unknown.join(", ")}; ${takes}`);
  }
  if (type === "FLAT") return {};
  if (type === "AUTOINDEX") return { M: HNSW_DEFAULTS.M, efConstruction: HNSW_DEFAULTS.efConstruction };
  const out: IndexParams = {
    M: intParam(params, "M", M_RANGE, HNSW_DEFAULTS.M),
    efConstruction: intParam(params, "efConstruction", EF_RANGE, HNSW_DEFAULTS.efConstruction),
  };
  if (type === "HNSW_SQ") {
    const sq = params.sq_type ?? "FP16";
    const found = SQ_TYPES.find((t) => typeof sq === "string" && t === sq.toUpperCase());
    if (!found) throw new VecbusError("INVALID_ARGUMENT", `sq_type ${JSON.stringify(sq)} is not supported; use ${SQ_TYPES.join(" or ")} (8-bit quantization loses too much recall)`);
    out.sq_type = found;
  }
  return out;
}

/** Checks one entry of create_index's index_params against the collection. */
export function checkIndexParam(meta: CollectionMeta, raw: unknown): IndexSpec {
  if (!raw || typeof raw !== "object" || Array.isArray(raw)) {
    throw new VecbusError("INVALID_ARGUMENT", "each entry of index_params must be a map {field_name, index_type, metric_type?, params?}");
  }
  const p = raw as Args;
  const field_name = checkName("field_name", p.field_name);
  const field = meta.schema.fields.find((f) => f.name === field_name);
  if (!field) {
    const vectors = meta.schema.fields.filter((f) => f.type === "FloatVector").map((f) => f.name);
    throw new VecbusError("FIELD_NOT_FOUND", `collection "${meta.name}" has no field "${field_name}"; its vector fields are ${vectors.join(", ")}`);
  }
  const index_name = p.index_name === undefined || p.index_name === null || p.index_name === "" ? field_name : checkName("index_name", p.index_name);
  if (field.type !== "FloatVector") return checkScalarIndex(field, index_name, p);
  const typeRaw = p.index_type ?? "AUTOINDEX";
  const index_type = VECTOR_INDEX_TYPES.find((t) => typeof typeRaw === "string" && t === typeRaw.toUpperCase());
  if (!index_type) {
    throw new VecbusError("INVALID_ARGUMENT", `index_type ${JSON.stringify(typeRaw)} does not index vectors; use one of ${VECTOR_INDEX_TYPES.join(", ")}`);
  }
  // Each vector field's index has its own metric (as Milvus); left out, the field keeps the one it has.
  const metricRaw = p.metric_type;
  const metric_type = metricRaw === undefined || metricRaw === null || metricRaw === "" ? fieldMetric(meta, field_name) : checkMetric(metricRaw);
  return { field_name, index_name, index_type, metric_type, params: checkParams(index_type, p.params) };
}

function checkScalarIndex(field: FieldSchema, index_name: string, p: Args): IndexSpec {
  const typeRaw = p.index_type ?? "AUTOINDEX";
  const declared = SCALAR_INDEX_TYPES.find((t) => typeof typeRaw === "string" && t === typeRaw.toUpperCase());
  const takes = (Object.keys(SCALAR_INDEX_FIELDS) as (keyof typeof SCALAR_INDEX_FIELDS)[]).filter((t) => SCALAR_INDEX_FIELDS[t].includes(field.type));
  if (takes.length === 0) {
    throw new VecbusError("INVALID_ARGUMENT", `field "${field.name}" is ${field.type}: vecbus indexes Bool, integer, Float, Double and VarChar fields (and FloatVector ones), not ${field.type}`);
  }
  const index_type = declared === "AUTOINDEX" ? "INVERTED" : declared;
  if (!index_type || !takes.includes(index_type)) {
    throw new VecbusError("INVALID_ARGUMENT", `index_type ${JSON.stringify(typeRaw)} cannot index ${field.type} field "${field.name}"; use one of ${[...takes, "AUTOINDEX"].join(", ")}`);
  }
  if (p.metric_type !== undefined && p.metric_type !== null && p.metric_type !== "") {
    throw new VecbusError("INVALID_ARGUMENT", `metric_type applies to vector indexes; leave it out for the ${index_type} index on "${field.name}"`);
  }
  const params = p.params ?? {};
  if (typeof params !== "object" || Array.isArray(params) || Object.keys(params).length > 0) {
    const got = typeof params === "object" && !Array.isArray(params) ? Object.keys(params).join(", ") : typeof params;
    throw new VecbusError("INVALID_ARGUMENT", `index type ${index_type} takes no params; got ${got}`);
  }
  return { field_name: field.name, index_name, index_type, params: {} };
}

/** Checks create_index's `index_params` list: at least one entry, one per field, distinct names. */
export function checkIndexParams(meta: CollectionMeta, raw: unknown): IndexSpec[] {
  const list = raw && typeof raw === "object" && !Array.isArray(raw) ? [raw] : raw;
  if (!Array.isArray(list) || list.length === 0) {
    throw new VecbusError("INVALID_ARGUMENT", "index_params must be a non-empty list of {field_name, index_type, metric_type?, params?}");
  }
  const specs = list.map((p) => checkIndexParam(meta, p));
  const fields = new Set<string>();
  const names = new Set<string>();
  for (const s of specs) {
    if (fields.has(s.field_name)) throw new VecbusError("INVALID_ARGUMENT", `index_params names field "${s.field_name}" twice; a field has one index`);
    if (names.has(s.index_name)) throw new VecbusError("INVALID_ARGUMENT", `index_params uses index_name "${s.index_name}" twice`);
    fields.add(s.field_name);
    names.add(s.index_name);
  }
  return specs;
}

export function sameSpec(a: IndexSpec, b: IndexSpec): boolean {
  return a.index_name === b.index_name && a.index_type === b.index_type && JSON.stringify(sortKeys(a.params)) === JSON.stringify(sortKeys(b.params));
}

function sortKeys(o: object): [string, unknown][] {
  return Object.entries(o).sort((x, y) => x[0].localeCompare(y[0]));
}

/** A build_index task on the tasks work queue. */
export interface BuildIndexTask {
  kind: "build_index";
  collection_id: number;
  shard: number;
  segment_id: number;
  field_name: string;
  index: IndexMeta;
}

/**
 * A compact task: merge the live rows of `sources` (segments of one shard)
 * into one new segment `target`, with its indexes built, and have the shard
 * owner swap it in.
 */
export interface CompactTask {
  kind: "compact";
  collection_id: number;
  shard: number;
  sources: number[];
  target: number;
}

export type Task = BuildIndexTask | CompactTask;

/** Compacted segments take ids from here up, above any WAL sequence (which names the segments shards seal). */
export const COMPACTED_SEGMENT_BASE = 2 ** 40;

/** The msgID that makes duplicate publishes of one task collapse. */
export function taskMsgId(t: Task): string {
  return t.kind === "build_index"
    ? `build_index.${t.collection_id}.${t.shard}.${t.segment_id}.${t.field_name}.${t.index.build}`
    : `compact.${t.collection_id}.${t.shard}.${t.target}`;
}
