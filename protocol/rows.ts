// Row validation against a schema. Every row that reaches a WAL has passed
// through `checkRows`, so storage code can trust field types and dimensions.
import { VecbusError } from "./errors.js";
import { describeFields, DYNAMIC_FIELD, int64Of, INTEGER_RANGES, primaryField, typeName, type CollectionSchema, type FieldSchema } from "./schema.js";
import { firstNonFinite, float32View } from "./binary.js";
import { limit, limitText } from "./limits.js";
import { PARTITION_FIELD } from "./partitions.js";

/** A VarChar key, or an Int64 key in its one form (int64Of): a number up to ±2^53, a bigint beyond. */
export type PrimaryKey = number | bigint | string;
export type Row = Record<string, unknown>;

/**
 * Normalizes client rows: vectors become Float32Array, int64s numbers, extra
 * keys move into `$meta` (or are rejected), absent values become the field's
 * default or null. With `autoIds`, the primary key must be absent and the
 * given ids are filled in.
 */
export function checkRows(schema: CollectionSchema, data: unknown, autoIds?: number[]): Row[] {
  if (!Array.isArray(data) || data.length === 0) {
    throw new VecbusError("INVALID_ARGUMENT", "data must be a non-empty list of row maps");
  }
  return data.map((raw, i) => {
    if (!raw || typeof raw !== "object" || Array.isArray(raw)) {
      throw new VecbusError("INVALID_ARGUMENT", `row ${i}: each row must be a map of field name to value`);
    }
    const row = raw as Record<string, unknown>;
    const out: Row = {};
    for (const f of schema.fields) {
      if (f.is_primary && autoIds) {
        if (row[f.name] !== undefined) {
          throw new VecbusError("INVALID_ARGUMENT", `row ${i}: "${f.name}" is an auto_id primary key; leave it out and vecbus assigns it`);
        }
        out[f.name] = autoIds[i];
        continue;
      }
      out[f.name] = fieldValue(f, row[f.name], i);
    }
    const extra = Object.keys(row).filter((k) => !schema.fields.some((f) => f.name === k));
    if (extra.length > 0) {
      if (!schema.enable_dynamic_field) {
        throw new VecbusError(
          "FIELD_NOT_FOUND",
          `row ${i}: field "${extra[0]}" is not in the schema (${describeFields(schema)}) and dynamic fields are off`,
        );
      }
      const meta: Record<string, unknown> = {};
      for (const k of extra) {
        if (k === DYNAMIC_FIELD) throw new VecbusError("INVALID_ARGUMENT", `row ${i}: "${DYNAMIC_FIELD}" is reserved; put dynamic keys at the top level of the row`);
        meta[k] = normalizeJson(row[k], `row ${i}: dynamic field "${k}"`, 1);
      }
      out[DYNAMIC_FIELD] = checkJsonSize(meta, `row ${i}: the dynamic fields`);
    }
    return out;
  });
}

/**
 * The owner's check of rows the proxy prepared (checkRows' output: every
 * field present, dynamic keys under `$meta`, the partition under
 * `$partition`): a shard stores only rows that fit its schema, whoever sent
 * them. Vectors come back as Float32Array. Throws naming `where` and the row.
 */
export function checkStoredRows(schema: CollectionSchema, rows: readonly Row[], where: string): Row[] {
  return rows.map((row, i) => {
    const at = `${where} ${i}`;
    if (!row || typeof row !== "object" || Array.isArray(row)) throw new VecbusError("INVALID_ARGUMENT", `${at} is not a map`);
    const out: Row = {};
    for (const f of schema.fields) out[f.name] = storedValue(f, row[f.name], at);
    for (const k of Object.keys(row)) {
      if (k in out) continue;
      if (k === DYNAMIC_FIELD && schema.enable_dynamic_field) {
        const meta = row[k];
        if (!meta || typeof meta !== "object" || Array.isArray(meta)) throw new VecbusError("INVALID_FIELD_VALUE", `${at}: "${DYNAMIC_FIELD}" must be a map`);
        out[k] = checkJsonSize(normalizeJson(meta, `${at}: the dynamic fields`, 0), `${at}: the dynamic fields`);
      } else if (k === PARTITION_FIELD) {
        if (typeof row[k] !== "string") throw new VecbusError("INVALID_FIELD_VALUE", `${at}: its partition must be a name`);
        out[k] = row[k];
      } else throw new VecbusError("FIELD_NOT_FOUND", `${at}: field "${k}" is not in the schema (${describeFields(schema)})`);
    }
    return out;
  });
}

/**
 * A field's value as an owner stores it (the proxy already filled in
 * defaults): null only where the field is nullable. `at` names the row,
 * e.g. `WAL record 7 row 3`.
 */
export function storedValue(f: FieldSchema, v: unknown, at: string): unknown {
  if (isStoredAsIs(f, v)) return v;
  if (v !== null && v !== undefined) return checkValueAt(f, v, `${at}: field "${f.name}"`);
  if (!f.nullable) throw new VecbusError("MISSING_FIELD", `${at}: field "${f.name}" (${typeName(f)}) has no value`);
  return null;
}

// As in Milvus, a default also replaces an explicit null, nullable or not.
export function fieldValue(f: FieldSchema, v: unknown, i: number): unknown {
  if (isStoredAsIs(f, v)) return v;
  if (v !== undefined && v !== null) return checkValue(f, v, i);
  if (f.default_value !== undefined) return f.default_value;
  if (f.nullable) return null;
  const what = v === null ? "is null, and the field is not nullable" : "is missing";
  throw new VecbusError("MISSING_FIELD", `row ${i}: field "${f.name}" (${typeName(f)}) ${what}`);
}

export function checkValue(f: FieldSchema, v: unknown, i: number): unknown {
  return checkValueAt(f, v, `row ${i}: field "${f.name}"`);
}

/**
 * Whether checkValueAt would keep `v` as it is: the common case of a scalar
 * column, told without building the message a bad value needs.
 */
export function isStoredAsIs(f: FieldSchema, v: unknown): boolean {
  switch (f.type) {
    case "Bool":
      return typeof v === "boolean";
    case "Int8":
    case "Int16":
    case "Int32":
      return typeof v === "number" && Number.isInteger(v) && v >= INTEGER_RANGES[f.type][0] && v <= INTEGER_RANGES[f.type][1];
    case "Int64":
      // Not against the bigint bounds: a number compared with a bigint is many times slower, and this runs per key.
      return typeof v === "number" && int64Of(v) === v;
    case "Float":
      return typeof v === "number" && Number.isFinite(v) && Math.fround(v) === v;
    case "Double":
      return typeof v === "number" && Number.isFinite(v);
    case "VarChar":
      return typeof v === "string" && v.length <= (f.max_length ?? Infinity);
    default:
      return false;
  }
}

/** `where` starts every error message, e.g. `row 3: field "tags" element 2`. */
export function checkValueAt(f: FieldSchema, v: unknown, where: string): unknown {
  const bad = (want: string) => new VecbusError("INVALID_FIELD_VALUE", `${where} must be ${want}, got ${describeValue(v)}`);
  switch (f.type) {
    case "Bool":
      if (typeof v !== "boolean") throw bad("a boolean");
      return v;
    case "Int8":
    case "Int16":
    case "Int32":
    case "Int64": {
      const n = int64Of(v);
      const [lo, hi] = INTEGER_RANGES[f.type];
      if (n === undefined || (f.type !== "Int64" && (n < lo || n > hi))) throw bad(`an integer in [${lo}, ${hi}]`);
      return n;
    }
    case "Float":
    case "Double": {
      // An integer beyond 2^53 arrives as a bigint (msgpack int64, or the CLI's JSON): as a number it is the nearest double.
      const n = typeof v === "bigint" ? Number(v) : v;
      if (typeof n !== "number" || !Number.isFinite(n)) throw bad("a finite number");
      return f.type === "Float" ? Math.fround(n) : n;
    }
    case "VarChar":
      if (typeof v !== "string") throw bad("a string");
      if (v.length > (f.max_length ?? Infinity)) throw bad(`a string of at most ${f.max_length} characters`);
      return v;
    case "JSON":
      return checkJsonSize(normalizeJson(v, where, 0), where);
    case "Array":
      return checkArray(f, v, where);
    case "FloatVector":
      return checkVector(f, v, where);
  }
}

function checkArray(f: FieldSchema, v: unknown, where: string): unknown[] {
  if (!Array.isArray(v)) {
    throw new VecbusError("INVALID_FIELD_VALUE", `${where} must be a list of ${f.element_type}, got ${describeValue(v)}`);
  }
  if (v.length > f.max_capacity!) {
    throw new VecbusError("INVALID_FIELD_VALUE", `${where} holds ${v.length} elements; its max_capacity is ${f.max_capacity}`);
  }
  const element: FieldSchema = { name: f.name, type: f.element_type!, max_length: f.max_length };
  return v.map((x, j) => checkValueAt(element, x, `${where} element ${j}`));
}

/** A vector given as numbers or as `bin` of little-endian float32. */
export function checkVector(f: FieldSchema, v: unknown, where: string): Float32Array {
  let vec: Float32Array;
  if (v instanceof Float32Array) vec = v;
  else if (v instanceof Uint8Array) {
    if (v.byteLength % 4 !== 0) {
      throw new VecbusError("INVALID_FIELD_VALUE", `${where}: a binary vector must be little-endian float32 (${v.byteLength} bytes is not a multiple of 4)`);
    }
    vec = float32View(v);
  } else if (Array.isArray(v)) {
    vec = new Float32Array(v.length);
    for (let j = 0; j < v.length; j++) {
      const x = v[j];
      if (typeof x !== "number" || !Number.isFinite(x)) {
        throw new VecbusError("INVALID_FIELD_VALUE", `${where}: element ${j} is ${describeValue(x)}; a vector holds finite numbers`);
      }
      vec[j] = x;
    }
  } else {
    throw new VecbusError("INVALID_FIELD_VALUE", `${where} must be a list of numbers or bin of float32, got ${describeValue(v)}`);
  }
  if (vec.length !== f.dim) {
    throw new VecbusError("DIMENSION_MISMATCH", `${where} has ${vec.length} dimensions but field "${f.name}"'s dimension is ${f.dim}`);
  }
  const j = firstNonFinite(vec);
  if (j >= 0) throw new VecbusError("INVALID_FIELD_VALUE", `${where}: element ${j} is not a finite number`);
  return vec;
}

/**
 * JSON values: bigints that fit become numbers; binary (JSON has no bytes)
 * and non-finite numbers (JSON has none) are refused; nesting is bounded
 * before it is walked deeper, so no value can overflow a recursive encoder
 * later (a reply, a segment file). `depth` counts the maps and lists around v.
 */
export function normalizeJson(v: unknown, where: string, depth: number): unknown {
  if (typeof v === "bigint") return int64Of(v) ?? v.toString();
  if (typeof v === "number" && !Number.isFinite(v)) throw new VecbusError("INVALID_FIELD_VALUE", `${where} holds ${v}; JSON numbers are finite`);
  if (v instanceof Uint8Array) throw new VecbusError("INVALID_FIELD_VALUE", `${where}: JSON and dynamic fields cannot hold binary data`);
  if (v === null || typeof v !== "object") return v;
  if (depth >= limit("jsonDepth")) throw new VecbusError("INVALID_FIELD_VALUE", `${where} is nested too deeply: ${limitText("jsonDepth")}`);
  if (Array.isArray(v)) return v.map((x) => normalizeJson(x, where, depth + 1));
  const o: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) o[k] = normalizeJson(x, where, depth + 1);
  return o;
}

const utf8 = new TextEncoder();

export function checkJsonSize<T>(v: T, where: string): T {
  const bytes = utf8.encode(JSON.stringify(v, (_k, x) => (typeof x === "bigint" ? x.toString() : x)) ?? "").length;
  if (bytes > limit("jsonBytes")) throw new VecbusError("INVALID_FIELD_VALUE", `${where} is ${bytes} bytes as JSON: ${limitText("jsonBytes")}`);
  return v;
}

export function describeValue(v: unknown): string {
  if (v === null || v === undefined) return "nothing";
  if (Array.isArray(v)) return `a list of ${v.length}`;
  if (v instanceof Uint8Array) return `${v.byteLength} bytes of binary`;
  if (typeof v === "string") return `the string ${JSON.stringify(v.length > 40 ? v.slice(0, 40) + "…" : v)}`;
  return `${typeof v} ${String(v)}`;
}

/** Primary keys as given by clients (`ids`), checked against the primary field's type. */
export function checkIds(schema: CollectionSchema, ids: unknown): PrimaryKey[] {
  const pk = primaryField(schema);
  const list = Array.isArray(ids) ? ids : ids === undefined || ids === null ? undefined : [ids];
  if (!list || list.length === 0) throw new VecbusError("INVALID_ARGUMENT", "ids must be a non-empty list of primary keys");
  return list.map((id, i) => {
    if (pk.type === "VarChar") {
      if (typeof id !== "string") throw new VecbusError("INVALID_ARGUMENT", `ids[${i}] must be a string: primary field "${pk.name}" is VarChar`);
      return id;
    }
    const n = int64Of(id);
    if (n === undefined) throw new VecbusError("INVALID_ARGUMENT", `ids[${i}] must be a 64-bit integer: primary field "${pk.name}" is Int64`);
    return n;
  });
}
