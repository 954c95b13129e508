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
  FloatVector: "FloatVector",
} as const;
export type DataType = (typeof DataType)[keyof typeof DataType];

export const MetricType = { L2: "L2", IP: "IP", COSINE: "COSINE" } as const;
export type MetricType = (typeof MetricType)[keyof typeof MetricType];

export interface FieldSchema {
  name: string;
  type: DataType;
  is_primary?: boolean;
  auto_id?: boolean;
  /** FloatVector only. */
  dim?: number;
  /** VarChar only: the longest value in UTF-8 bytes... measured as characters, as Milvus does. */
  max_length?: number;
}

export interface CollectionSchema {
  fields: FieldSchema[];
  enable_dynamic_field: boolean;
}

/** Key under which dynamic (schema-less) fields of a row are kept, as in Milvus. */
export const DYNAMIC_FIELD = "$meta";

export const INTEGER_RANGES: Record<string, readonly [number, number]> = {
  Int8: [-128, 127],
  Int16: [-32768, 32767],
  Int32: [-2147483648, 2147483647],
  // Int64 values travel as JS numbers: only the exactly representable range is accepted.
  Int64: [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
};

export function isIntegerType(t: DataType): boolean {
  return t === "Int8" || t === "Int16" || t === "Int32" || t === "Int64";
}

export function isNumericType(t: DataType): boolean {
  return isIntegerType(t) || t === "Float" || t === "Double";
}

export function primaryField(schema: CollectionSchema): FieldSchema {
  const f = schema.fields.find((x) => x.is_primary);
  if (!f) throw new Error("schema has no primary field");
  return f;
}

export function vectorFields(schema: CollectionSchema): FieldSchema[] {
  return schema.fields.filter((f) => f.type === "FloatVector");
}
