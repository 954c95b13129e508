// Milvus's columnar FieldData and schema messages, to and from vecbus rows
// and schemas. Requests arrive decoded as the SDK encodes them (int64 as
// decimal strings, enums as names, oneofs with their discriminator); replies
// are plain objects protobufjs encodes.
import type { CollectionDescription } from "../../protocol/api.js";
import { VecbusError } from "../../protocol/errors.js";
import type { PrimaryKey, Row } from "../../protocol/rows.js";
import { DataType, DYNAMIC_FIELD, int64Of, type CollectionSchema, type FieldSchema } from "../../protocol/schema.js";
import { jsonText, parseJson } from "../../runtime/json.js";
import { kvMap } from "./milvus-params.js";

type Obj = Record<string, unknown>;

const TYPES = new Set<string>(Object.values(DataType));

/** A CreateCollection's schema (schema.CollectionSchema) as vecbus's; a type vecbus does not store is refused by name. */
export function schemaFromMilvus(s: Obj): CollectionSchema {
  const fields = ((s.fields as Obj[] | undefined) ?? []).map((f): FieldSchema => {
    const type = String(f.data_type);
    if (!TYPES.has(type)) throw new VecbusError("SCHEMA_INVALID", `field "${String(f.name)}": vecbus does not store ${type} (it stores ${[...TYPES].join(", ")})`);
    const params = kvMap(f.type_params);
    const out: FieldSchema = { name: String(f.name), type: type as DataType };
    if (f.is_primary_key) out.is_primary = true;
    if (f.autoID || (f.is_primary_key && s.autoID)) out.auto_id = true;
    if (params.dim !== undefined) out.dim = Number(params.dim);
    if (params.max_length !== undefined) out.max_length = Number(params.max_length);
    if (params.max_capacity !== undefined) out.max_capacity = Number(params.max_capacity);
    if (type === "Array") out.element_type = f.element_type as FieldSchema["element_type"];
    if (f.nullable) out.nullable = true;
    if (f.is_partition_key) out.is_partition_key = true;
    if (f.is_clustering_key) out.is_clustering_key = true;
    return out;
  });
  return { fields, enable_dynamic_field: Boolean(s.enable_dynamic_field) };
}

/** vecbus's schema as a DescribeCollection's (schema.CollectionSchema message); a dynamic schema has Milvus's `$meta` field. */
export function schemaToMilvus(d: CollectionDescription): Obj {
  const fields: Obj[] = d.schema.fields.map((f, i) => ({
    fieldID: String(100 + i),
    name: f.name,
    is_primary_key: Boolean(f.is_primary),
    autoID: Boolean(f.auto_id),
    data_type: f.type,
    element_type: f.element_type ?? "None",
    nullable: Boolean(f.nullable),
    is_partition_key: Boolean(f.is_partition_key),
    is_clustering_key: Boolean(f.is_clustering_key),
    type_params: [
      ...(f.dim !== undefined ? [{ key: "dim", value: String(f.dim) }] : []),
      ...(f.max_length !== undefined ? [{ key: "max_length", value: String(f.max_length) }] : []),
      ...(f.max_capacity !== undefined ? [{ key: "max_capacity", value: String(f.max_capacity) }] : []),
    ],
  }));
  if (d.schema.enable_dynamic_field) fields.push({ fieldID: String(100 + fields.length), name: DYNAMIC_FIELD, data_type: "JSON", is_dynamic: true });
  return { name: d.collection_name, autoID: d.schema.fields.some((f) => f.is_primary && f.auto_id), fields, enable_dynamic_field: d.schema.enable_dynamic_field };
}

/**
 * An Insert's or Upsert's columns as rows; the dynamic (`$meta`) column's
 * keys become the rows' own. Every column must hold `numRows` values, which
 * bounds the rows made by the request's size (`num_rows` alone is a number
 * anyone can send).
 */
export function rowsFromFieldData(fieldsData: Obj[], numRows: number): Row[] {
  if (!Number.isSafeInteger(numRows) || numRows < 0) throw new VecbusError("INVALID_ARGUMENT", `num_rows must be a count; got ${numRows}`);
  if (fieldsData.length === 0 && numRows > 0) throw new VecbusError("INVALID_ARGUMENT", `num_rows is ${numRows} but no field data came`);
  const columns = fieldsData.map((fd) => ({ fd, name: String(fd.field_name), values: columnValues(fd, numRows, String(fd.field_name)) }));
  const typed = new Set(columns.filter((c) => !c.fd.is_dynamic).map((c) => c.name));
  const rows: Row[] = Array.from({ length: numRows }, () => ({}));
  for (const { fd, name, values } of columns) {
    for (let i = 0; i < numRows; i++) {
      if (fd.is_dynamic) addDynamic(rows[i], values[i], typed, name);
      else rows[i][name] = values[i];
    }
  }
  return rows;
}

/** A row's dynamic (`$meta`) keys; one that names a column of its own would overwrite it, so is refused. */
function addDynamic(row: Row, meta: unknown, typed: Set<string>, column: string): void {
  if (meta === null || meta === undefined) return;
  if (typeof meta !== "object" || Array.isArray(meta)) throw new VecbusError("INVALID_FIELD_VALUE", `field "${column}": a dynamic field's value must be a JSON object`);
  for (const [k, v] of Object.entries(meta)) {
    if (typed.has(k) || k === "__proto__") throw new VecbusError("INVALID_FIELD_VALUE", `field "${column}": the dynamic key "${k}" names a field of its own`);
    row[k] = v;
  }
}

function columnValues(fd: Obj, n: number, name: string): unknown[] {
  let values: unknown[];
  if (fd.field === "vectors") {
    const v = fd.vectors as Obj;
    if (v.data !== "float_vector") throw new VecbusError("INVALID_ARGUMENT", `field "${name}": vecbus stores FloatVector only; got ${String(v.data)}`);
    const dim = Number(v.dim);
    const flat = (v.float_vector as { data: number[] }).data;
    if (!(dim > 0) || flat.length !== dim * n) throw new VecbusError("DIMENSION_MISMATCH", `field "${name}": ${flat.length} floats are not ${n} vectors of dimension ${dim}`);
    values = Array.from({ length: n }, (_, i) => flat.slice(i * dim, (i + 1) * dim));
  } else if (fd.field === "scalars") {
    values = scalarValues(fd.scalars as Obj, name);
  } else {
    throw new VecbusError("INVALID_ARGUMENT", `field "${name}" carries neither scalars nor vectors`);
  }
  const valid = (fd.valid_data as boolean[] | undefined) ?? [];
  if (valid.length === n && valid.some((ok) => !ok)) {
    // Nullable columns: `data` holds every row (placeholders where invalid) or only the valid ones.
    const compact = values.length < n;
    let next = 0;
    values = valid.map((ok, i) => (ok ? values[compact ? next++ : i] : null));
  }
  if (values.length !== n) throw new VecbusError("INVALID_ARGUMENT", `field "${name}" has ${values.length} values for ${n} rows`);
  return values;
}

function scalarValues(s: Obj, name: string): unknown[] {
  const kind = String(s.data);
  const data = ((s[kind] as { data?: unknown[] } | undefined)?.data ?? []) as unknown[];
  switch (kind) {
    case "long_data":
      return data.map((x) => int64Of(BigInt(x as string)));
    case "json_data":
      return data.map((b) => {
        try {
          return parseJson(Buffer.from(b as Uint8Array).toString("utf8"));
        } catch (e) {
          throw new VecbusError("INVALID_FIELD_VALUE", `field "${name}": a JSON value does not parse (${(e as Error).message})`);
        }
      });
    case "array_data":
      return data.map((inner) => scalarValues(inner as Obj, name));
    case "bool_data":
    case "int_data":
    case "float_data":
    case "double_data":
    case "string_data":
      return data;
    default:
      throw new VecbusError("INVALID_ARGUMENT", `field "${name}": vecbus does not store ${kind} values`);
  }
}

/**
 * Rows as Milvus columns: the schema's fields typed, other keys in the
 * dynamic `$meta` column; and the names of every output, which the SDK
 * reads the rows' values by (a name without a column of its own is read
 * from `$meta`).
 */
export function rowsToFieldData(rows: Row[], d: CollectionDescription, outputs: string[]): { fields_data: Obj[]; output_fields: string[] } {
  const byName = new Map(d.schema.fields.map((f) => [f.name, f]));
  // No rows still answer with the columns asked for, empty: clients read a result's fields from them.
  const names: string[] = rows.length > 0 ? [] : outputs.includes("*") ? d.schema.fields.map((f) => f.name) : outputs.filter((o) => byName.has(o));
  const dynamic = new Set<string>();
  for (const r of rows) {
    for (const k of Object.keys(r)) {
      if (byName.has(k)) {
        if (!names.includes(k)) names.push(k);
      } else dynamic.add(k);
    }
  }
  const out = names.map((name) => column(byName.get(name)!, rows.map((r) => r[name])));
  if (dynamic.size > 0) {
    const meta = rows.map((r) => Object.fromEntries(Object.entries(r).filter(([k]) => dynamic.has(k))));
    out.push({ type: "JSON", field_name: DYNAMIC_FIELD, is_dynamic: true, scalars: { json_data: { data: meta.map(jsonBytes) } } });
  }
  return { fields_data: out, output_fields: [...names, ...dynamic] };
}

/** count(*) and other computed outputs that are no schema field. */
export function int64Column(name: string, values: unknown[]): Obj {
  return { type: "Int64", field_name: name, scalars: { long_data: { data: values.map(String) } } };
}

function column(f: FieldSchema, values: unknown[]): Obj {
  const valid = values.map((v) => v !== null && v !== undefined);
  const base: Obj = { type: f.type, field_name: f.name, ...(f.nullable ? { valid_data: valid } : {}) };
  if (f.type === "FloatVector") {
    const flat: number[] = [];
    for (const v of values) for (const x of v as Iterable<number>) flat.push(x);
    return { ...base, vectors: { dim: String(f.dim), float_vector: { data: flat } } };
  }
  return { ...base, scalars: scalarField(f.type === "Array" ? "Array" : f.type, values, f.element_type) };
}

function scalarField(type: string, values: unknown[], elementType?: string): Obj {
  const present = (fallback: unknown) => values.map((v) => (v === null || v === undefined ? fallback : v));
  switch (type) {
    case "Bool":
      return { bool_data: { data: present(false) } };
    case "Int8":
    case "Int16":
    case "Int32":
      return { int_data: { data: present(0) } };
    case "Int64":
      return { long_data: { data: present(0).map(String) } };
    case "Float":
      return { float_data: { data: present(0) } };
    case "Double":
      return { double_data: { data: present(0) } };
    case "VarChar":
      return { string_data: { data: present("") } };
    case "JSON":
      return { json_data: { data: present(null).map(jsonBytes) } };
    case "Array":
      return { array_data: { element_type: elementType, data: present([]).map((a) => scalarField(elementType!, a as unknown[])) } };
    default:
      throw new VecbusError("INTERNAL", `no Milvus column for ${type}`);
  }
}

/** JSON bytes; an integer beyond 2^53 keeps its digits. */
function jsonBytes(v: unknown): Buffer {
  return Buffer.from(jsonText(v), "utf8");
}

/** Primary keys as Milvus's IDs message. */
export function idsOf(keys: PrimaryKey[], pkType: string): Obj {
  return pkType === "VarChar" ? { str_id: { data: keys.map(String) } } : { int_id: { data: keys.map(String) } };
}
