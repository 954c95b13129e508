// Turning create_collection requests into a checked schema. Pure: the
// coordinator calls it before anything is written.
import { VecbusError } from "./errors.js";
import { DataType, DYNAMIC_FIELD, MetricType, type CollectionSchema, type FieldSchema } from "./schema.js";

export const LIMITS = {
  nameLengthMax: 255,
  dimMax: 32768,
  varCharLengthMax: 65535,
  fieldsMax: 64,
  topKMax: 16384,
  nqMax: 16384,
} as const;

export interface CollectionMeta {
  id: number;
  name: string;
  schema: CollectionSchema;
  num_shards: number;
  metric_type: MetricType;
  created_at: number;
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
  if (!fields.some((f) => f.type === "FloatVector")) {
    throw new VecbusError("SCHEMA_INVALID", "the schema needs a FloatVector field (with `dim`)");
  }
  if (fields.filter((f) => f.type === "FloatVector").length > 1) {
    throw new VecbusError("SCHEMA_INVALID", "this version supports one FloatVector field per collection");
  }
  return { fields, enable_dynamic_field: s.enable_dynamic_field === true };
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
  if (type === "FloatVector") {
    if (!Number.isInteger(f.dim) || (f.dim as number) < 1 || (f.dim as number) > LIMITS.dimMax) {
      throw new VecbusError("SCHEMA_INVALID", `vector field "${name}" needs an integer dim between 1 and ${LIMITS.dimMax}; got ${JSON.stringify(f.dim)}`);
    }
    out.dim = f.dim as number;
  }
  if (type === "VarChar") {
    const ml = f.max_length ?? LIMITS.varCharLengthMax;
    if (!Number.isInteger(ml) || (ml as number) < 1 || (ml as number) > LIMITS.varCharLengthMax) {
      throw new VecbusError("SCHEMA_INVALID", `VarChar field "${name}" needs max_length between 1 and ${LIMITS.varCharLengthMax}`);
    }
    out.max_length = ml as number;
  }
  return out;
}

// pymilvus sends DataType names ("INT64", "FLOAT_VECTOR"); the wire docs use "Int64". Accept both.
function canonicalType(t: string): DataType | undefined {
  const key = t.replace(/_/g, "").toLowerCase();
  return Object.values(DataType).find((d) => d.toLowerCase() === key);
}

export function describeFields(schema: CollectionSchema): string {
  return schema.fields.map((f) => f.name).join(", ");
}
