// Turning create_collection requests into a checked schema. Pure: the
// coordinator calls it before anything is written.
import type { IndexMeta } from "./indexes.js";
import { VecbusError } from "./errors.js";
import { checkValueAt } from "./rows.js";
import {
  ARRAY_ELEMENT_TYPES,
  DataType,
  DYNAMIC_FIELD,
  MetricType,
  typeName,
  type ArrayElementType,
  type CollectionSchema,
  type FieldSchema,
} from "./schema.js";

// Other modules import it from here; it lives in schema.ts so that rows.ts, which this file imports, need not import this file back.
export { describeFields } from "./schema.js";

export const LIMITS = {
  nameLengthMax: 255,
  dimMax: 32768,
  varCharLengthMax: 65535,
  fieldsMax: 64,
  vectorFieldsMax: 4,
  arrayCapacityMax: 4096,
  topKMax: 16384,
  nqMax: 16384,
  /** Milvus 2.5 quotaAndLimits.limits.maxGroupSize. */
  groupSizeMax: 10,
} as const;

export interface CollectionMeta {
  id: number;
  name: string;
  schema: CollectionSchema;
  num_shards: number;
  metric_type: MetricType;
  created_at: number;
  /** Always holds "_default" (or, with a partition key, the numbered key partitions). */
  partitions: string[];
  consistency_level: ConsistencyLevel;
  /** Vector indexes by field name (see protocol/indexes.ts); absent means none. */
  indexes?: Record<string, IndexMeta>;
  /** Set by release_collection, cleared by load_collection: a released collection serves no read. */
  released?: boolean;
  /** load_collection's replica_number while loaded: copies kept of each sealed segment on distinct query nodes (absent is 1). */
  replica_number?: number;
}

export const CONSISTENCY_LEVELS = ["Strong", "Bounded", "Session", "Eventually"] as const;
export type ConsistencyLevel = (typeof CONSISTENCY_LEVELS)[number];

export function checkConsistency(v: unknown, dflt: ConsistencyLevel): ConsistencyLevel {
  if (v === undefined || v === null) return dflt;
  const found = CONSISTENCY_LEVELS.find((l) => typeof v === "string" && l.toLowerCase() === v.toLowerCase());
  if (!found) throw new VecbusError("INVALID_ARGUMENT", `consistency_level must be one of ${CONSISTENCY_LEVELS.join(", ")}; got ${JSON.stringify(v)}`);
  return found;
}

const NAME_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function checkName(what: string, name: unknown): string {
  if (typeof name !== "string" || name.length === 0) {
    throw new VecbusError("INVALID_ARGUMENT", `${what} is required and must be a non-empty string`);
  }
  if (name.length > LIMITS.nameLengthMax || !NAME_RE.test(name)) {
    throw new VecbusError(
      "INVALID_ARGUMENT",
      `${what} "${name}" is invalid: use letters, digits and '_', start with a letter or '_', at most ${LIMITS.nameLengthMax} characters`,
    );
  }
  return name;
}

export function checkMetric(m: unknown): MetricType {
  if (m === undefined || m === null) return "COSINE";
  const up = typeof m === "string" ? m.toUpperCase() : m;
  if (up === "L2" || up === "IP" || up === "COSINE") return up;
  throw new VecbusError("INVALID_ARGUMENT", `metric_type ${JSON.stringify(m)} is not supported; use L2, IP or COSINE`);
}

/** The quick-setup form: one primary key, one vector field, dynamic fields on. */
export function quickSchema(req: Record<string, unknown>): CollectionSchema {
  const idType = req.id_type ?? "int";
  if (idType !== "int" && idType !== "string") {
    throw new VecbusError("INVALID_ARGUMENT", `id_type must be "int" or "string", got ${JSON.stringify(idType)}`);
  }
  const pk: FieldSchema = {
    name: (req.primary_field_name as string) ?? "id",
    type: idType === "int" ? "Int64" : "VarChar",
    is_primary: true,
    auto_id: req.auto_id === true,
  };
  if (pk.type === "VarChar") pk.max_length = (req.max_length as number) ?? 65535;
  const vec: FieldSchema = { name: (req.vector_field_name as string) ?? "vector", type: "FloatVector", dim: req.dimension as number };
  return checkSchema({ fields: [pk, vec], enable_dynamic_field: true });
}

/** Validates a full schema (as sent by clients) and returns a normalized copy. */
export function checkSchema(raw: unknown): CollectionSchema {
  if (!raw || typeof raw !== "object") throw new VecbusError("SCHEMA_INVALID", "schema must be a map with a `fields` list");
  const s = raw as { fields?: unknown; enable_dynamic_field?: unknown };
  if (!Array.isArray(s.fields) || s.fields.length === 0) {
    throw new VecbusError("SCHEMA_INVALID", "schema.fields must be a non-empty list of field maps");
  }
  if (s.fields.length > LIMITS.fieldsMax) {
    throw new VecbusError("SCHEMA_INVALID", `a collection has at most ${LIMITS.fieldsMax} fields; got ${s.fields.length}`);
  }
  const fields = s.fields.map(checkField);
  const names = new Set<string>();
  for (const f of fields) {
    if (names.has(f.name)) throw new VecbusError("SCHEMA_INVALID", `field name "${f.name}" appears twice in the schema`);
    names.add(f.name);
  }
  const primaries = fields.filter((f) => f.is_primary);
  if (primaries.length !== 1) {
    throw new VecbusError("SCHEMA_INVALID", `the schema must have exactly one field with is_primary: true; found ${primaries.length}`);
  }
  const pk = primaries[0];
  if (pk.type !== "Int64" && pk.type !== "VarChar") {
    throw new VecbusError("SCHEMA_INVALID", `primary field "${pk.name}" must be Int64 or VarChar, not ${pk.type}`);
  }
  if (pk.auto_id && pk.type !== "Int64") {
    throw new VecbusError("SCHEMA_INVALID", `auto_id needs an Int64 primary field; "${pk.name}" is ${pk.type}`);
  }
  const vectors = fields.filter((f) => f.type === "FloatVector").length;
  if (vectors === 0) throw new VecbusError("SCHEMA_INVALID", "the schema needs a FloatVector field (with `dim`)");
  if (vectors > LIMITS.vectorFieldsMax) {
    throw new VecbusError("SCHEMA_INVALID", `a collection has at most ${LIMITS.vectorFieldsMax} FloatVector fields; got ${vectors}`);
  }
  checkPartitionKey(fields);
  checkClusteringKey(fields);
  return { fields, enable_dynamic_field: s.enable_dynamic_field === true };
}

/** The one field with `flag` set, if any; two or more are refused, naming them. */
function soleField(fields: FieldSchema[], flag: "is_partition_key" | "is_clustering_key", what: string): FieldSchema | undefined {
  const keys = fields.filter((f) => f[flag]);
  if (keys.length > 1) throw new VecbusError("SCHEMA_INVALID", `at most one ${what} field; found ${keys.map((f) => f.name).join(", ")}`);
  return keys[0];
}

function checkPartitionKey(fields: FieldSchema[]): void {
  const key = soleField(fields, "is_partition_key", "partition key");
  if (!key) return;
  if (key.is_primary) throw new VecbusError("SCHEMA_INVALID", `the primary field "${key.name}" cannot also be the partition key`);
  if (key.type !== "Int64" && key.type !== "VarChar") {
    throw new VecbusError("SCHEMA_INVALID", `partition key field "${key.name}" must be Int64 or VarChar, not ${key.type}`);
  }
  if (key.nullable) throw new VecbusError("SCHEMA_INVALID", `partition key field "${key.name}" cannot be nullable`);
}

/** Milvus's clustering key types: numbers and strings, which sort. */
const CLUSTERING_TYPES = new Set(["Int8", "Int16", "Int32", "Int64", "Float", "Double", "VarChar"]);

function checkClusteringKey(fields: FieldSchema[]): void {
  const key = soleField(fields, "is_clustering_key", "clustering key");
  if (key && !CLUSTERING_TYPES.has(key.type)) {
    throw new VecbusError("SCHEMA_INVALID", `clustering key field "${key.name}" must be one of ${[...CLUSTERING_TYPES].join(", ")}, not ${key.type}`);
  }
}

function checkField(raw: unknown, i: number): FieldSchema {
  if (!raw || typeof raw !== "object") throw new VecbusError("SCHEMA_INVALID", `schema.fields[${i}] must be a map`);
  const f = raw as Record<string, unknown>;
  let name: string;
  try {
    name = checkName(`schema.fields[${i}].name`, f.name);
  } catch (e) {
    throw new VecbusError("SCHEMA_INVALID", (e as Error).message);
  }
  if (name === DYNAMIC_FIELD) throw new VecbusError("SCHEMA_INVALID", `"${DYNAMIC_FIELD}" is reserved for dynamic fields`);
  const type = typeof f.type === "string" ? canonicalType(f.type) : undefined;
  if (!type) {
    throw new VecbusError(
      "SCHEMA_INVALID",
      `field "${name}" has unknown type ${JSON.stringify(f.type)}; use one of ${Object.values(DataType).join(", ")}`,
    );
  }
  const out: FieldSchema = { name, type };
  if (f.is_primary === true) out.is_primary = true;
  if (f.auto_id === true) out.auto_id = true;
  if (type === "FloatVector") out.dim = checkDim(name, f.dim);
  if (type === "VarChar") out.max_length = checkMaxLength(`VarChar field "${name}"`, f.max_length ?? LIMITS.varCharLengthMax);
  if (type === "Array") checkArrayField(out, f);
  if (checkNullable(out, f.nullable)) out.nullable = true;
  if (f.default_value !== undefined) out.default_value = checkDefault(out, f.default_value);
  if (checkFlag(out, "is_partition_key", f.is_partition_key)) out.is_partition_key = true;
  if (checkFlag(out, "is_clustering_key", f.is_clustering_key)) out.is_clustering_key = true;
  return out;
}

function checkDim(name: string, dim: unknown): number {
  if (!Number.isInteger(dim) || (dim as number) < 1 || (dim as number) > LIMITS.dimMax) {
    throw new VecbusError("SCHEMA_INVALID", `vector field "${name}" needs an integer dim between 1 and ${LIMITS.dimMax}; got ${JSON.stringify(dim)}`);
  }
  return dim as number;
}

function checkMaxLength(what: string, ml: unknown): number {
  if (!Number.isInteger(ml) || (ml as number) < 1 || (ml as number) > LIMITS.varCharLengthMax) {
    throw new VecbusError("SCHEMA_INVALID", `${what} needs max_length between 1 and ${LIMITS.varCharLengthMax}; got ${JSON.stringify(ml)}`);
  }
  return ml as number;
}

function checkArrayField(out: FieldSchema, f: Record<string, unknown>): void {
  const element = typeof f.element_type === "string" ? canonicalType(f.element_type) : undefined;
  if (!element || !(ARRAY_ELEMENT_TYPES as readonly string[]).includes(element)) {
    throw new VecbusError(
      "SCHEMA_INVALID",
      `Array field "${out.name}" needs an element_type, one of ${ARRAY_ELEMENT_TYPES.join(", ")}; got ${JSON.stringify(f.element_type)}`,
    );
  }
  const cap = f.max_capacity;
  if (!Number.isInteger(cap) || (cap as number) < 1 || (cap as number) > LIMITS.arrayCapacityMax) {
    throw new VecbusError(
      "SCHEMA_INVALID",
      `Array field "${out.name}" needs an integer max_capacity between 1 and ${LIMITS.arrayCapacityMax}; got ${JSON.stringify(cap)}`,
    );
  }
  out.element_type = element as ArrayElementType;
  out.max_capacity = cap as number;
  // Unlike a VarChar field, Milvus has no default length for VarChar elements.
  if (element === "VarChar") out.max_length = checkMaxLength(`Array<VarChar> field "${out.name}"`, f.max_length);
}

/** A field's yes/no attribute: true, false or left out (a "true" string or a 1 is refused, not read as either). */
function checkFlag(out: FieldSchema, key: string, value: unknown): boolean {
  if (value === undefined || value === null || value === false) return false;
  if (value !== true) throw new VecbusError("SCHEMA_INVALID", `field "${out.name}": ${key} must be true or false; got ${JSON.stringify(value)}`);
  return true;
}

function checkNullable(out: FieldSchema, nullable: unknown): boolean {
  if (!checkFlag(out, "nullable", nullable)) return false;
  if (out.is_primary) throw new VecbusError("SCHEMA_INVALID", `primary field "${out.name}" cannot be nullable`);
  if (out.type === "FloatVector") throw new VecbusError("SCHEMA_INVALID", `vector field "${out.name}" cannot be nullable`);
  return true;
}

/** Returns the default normalized as a row value would be, so rows can store it as is. */
function checkDefault(out: FieldSchema, value: unknown): unknown {
  const refuse = (why: string) => new VecbusError("SCHEMA_INVALID", `field "${out.name}" cannot have a default_value: ${why}`);
  if (out.is_primary) throw refuse("it is the primary key");
  if (out.type === "FloatVector" || out.type === "JSON" || out.type === "Array") {
    throw refuse(`${typeName(out)} fields do not support defaults (as in Milvus)`);
  }
  if (value === null) throw refuse("the default may not be null; leave it out, and use nullable: true to store missing values as null");
  try {
    return checkValueAt(out, value, `default_value of field "${out.name}"`);
  } catch (e) {
    throw new VecbusError("SCHEMA_INVALID", (e as Error).message);
  }
}

// pymilvus sends DataType names ("INT64", "FLOAT_VECTOR", "ARRAY"); the wire docs use "Int64". Accept both.
function canonicalType(t: string): DataType | undefined {
  const key = t.replace(/_/g, "").toLowerCase();
  return Object.values(DataType).find((d) => d.toLowerCase() === key);
}
