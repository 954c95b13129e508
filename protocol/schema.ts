// Collection schema: the shapes that describe_collection returns and that every
// layer validates rows against. Names follow pymilvus so clients can reuse code.

export const DataType = {
  Bool: "Bool",
  Int8: "Int8",
  Int16: "Int16",
  Int32: "Int32",
  Int64: "Int64",
  Float: "Float",
  Double: "Double",
  VarChar: "VarChar",
  JSON: "JSON",
  Array: "Array",
  FloatVector: "FloatVector",
} as const;
export type DataType = (typeof DataType)[keyof typeof DataType];

/** What an Array field may hold: the scalar types, as in Milvus (no nested arrays, JSON or vectors). */
export const ARRAY_ELEMENT_TYPES = ["Bool", "Int8", "Int16", "Int32", "Int64", "Float", "Double", "VarChar"] as const;
export type ArrayElementType = (typeof ARRAY_ELEMENT_TYPES)[number];

export const MetricType = { L2: "L2", IP: "IP", COSINE: "COSINE" } as const;
export type MetricType = (typeof MetricType)[keyof typeof MetricType];

export interface FieldSchema {
  name: string;
  type: DataType;
  is_primary?: boolean;
  auto_id?: boolean;
  /** FloatVector only. */
  dim?: number;
  /** VarChar, and Array of VarChar (per element): the longest value, measured in characters as Milvus does. */
  max_length?: number;
  /** Array only. */
  element_type?: ArrayElementType;
  /** Array only: the most elements a value may have. */
  max_capacity?: number;
  /** A missing or null value is stored as null instead of being rejected. */
  nullable?: boolean;
  /** Stored when a row leaves the field out or sends null; already normalized like a row value. */
  default_value?: unknown;
  /** Rows are routed to numbered partitions by this field's hash (one per collection). */
  is_partition_key?: boolean;
  /**
   * A query node keeps this field's rows together (one per collection):
   * filters on it cost their matches (as with a scalar index, declared or
   * not), and the vector codes of a segment are laid out in its order.
   */
  is_clustering_key?: boolean;
}

export interface CollectionSchema {
  fields: FieldSchema[];
  enable_dynamic_field: boolean;
}

/** Key under which dynamic (schema-less) fields of a row are kept, as in Milvus. */
export const DYNAMIC_FIELD = "$meta";

export const INTEGER_RANGES: Record<string, readonly [number | bigint, number | bigint]> = {
  Int8: [-128, 127],
  Int16: [-32768, 32767],
  Int32: [-2147483648, 2147483647],
  Int64: [-(2n ** 63n), 2n ** 63n - 1n],
};

/** Up to this magnitude an integer is exact as a double, and msgpack decoders here give a number; beyond, a bigint. */
const EXACT_DOUBLE = 2 ** 53;

/**
 * An Int64 value in its one in-memory form: a number up to ±2^53, a bigint
 * beyond (as msgpack decodes it). One form per value is what lets keys
 * match in maps, hash to the same shard and compare equal whichever form a
 * client sent. Undefined for anything else, a double beyond 2^53 included
 * (there it is not an exact integer).
 */
export function int64Of(v: unknown): number | bigint | undefined {
  if (typeof v === "number") return Number.isInteger(v) && Math.abs(v) <= EXACT_DOUBLE ? v : undefined;
  if (typeof v !== "bigint" || v < INTEGER_RANGES.Int64[0] || v > INTEGER_RANGES.Int64[1]) return undefined;
  const n = Number(v);
  return Math.abs(n) <= EXACT_DOUBLE && BigInt(n) === v ? n : v;
}

export function isIntegerType(t: DataType): boolean {
  return t === "Int8" || t === "Int16" || t === "Int32" || t === "Int64";
}

export function isNumericType(t: DataType): boolean {
  return isIntegerType(t) || t === "Float" || t === "Double";
}

/** The type as people read it in messages: "Array<Int64>" rather than "Array". */
export function typeName(f: FieldSchema): string {
  return f.type === "Array" ? `Array<${f.element_type}>` : f.type;
}

export function primaryField(schema: CollectionSchema): FieldSchema {
  const f = schema.fields.find((x) => x.is_primary);
  if (!f) throw new Error("schema has no primary field");
  return f;
}

/** Fixed bytes a value of each type takes in a sealed segment; variable-length ones are guessed. */
const VALUE_BYTES: Record<Exclude<DataType, "FloatVector">, number> = {
  Bool: 1,
  Int8: 1,
  Int16: 2,
  Int32: 4,
  Int64: 8,
  Float: 4,
  Double: 8,
  VarChar: 32,
  JSON: 64,
  Array: 64,
};

/** Bytes a row takes, estimated from the schema alone (and its timestamp): what turns a segment's byte bound into rows. */
export function rowBytesEstimate(schema: CollectionSchema): number {
  return schema.fields.reduce((bytes, f) => bytes + (f.type === "FloatVector" ? f.dim! * 4 : VALUE_BYTES[f.type]), 8);
}

export function vectorFields(schema: CollectionSchema): FieldSchema[] {
  return schema.fields.filter((f) => f.type === "FloatVector");
}

export function describeFields(schema: CollectionSchema): string {
  return schema.fields.map((f) => f.name).join(", ");
}

export function partitionKeyField(schema: CollectionSchema): FieldSchema | undefined {
  return schema.fields.find((f) => f.is_partition_key);
}

export function clusteringKeyField(schema: CollectionSchema): FieldSchema | undefined {
  return schema.fields.find((f) => f.is_clustering_key);
}
