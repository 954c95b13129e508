// output_fields: which parts of a stored row a reply carries. The primary key
// is always included; "*" means every schema field plus every dynamic key;
// other names are schema fields or, with dynamic fields on, dynamic keys.
import { VecbusError } from "../protocol/errors.js";
import { describeFields } from "../protocol/collection.js";
import { DYNAMIC_FIELD, primaryField, type CollectionSchema } from "../protocol/schema.js";
import type { Row } from "../protocol/rows.js";

export type Projection = (row: Row) => Row;

export function compileProjection(schema: CollectionSchema, outputFields: string[]): Projection {
  const pk = primaryField(schema).name;
  const all = outputFields.includes("*");
  const fields = new Set<string>([pk]);
  const dynamic: string[] = [];
  for (const name of outputFields) {
    if (name === "*") continue;
    if (schema.fields.some((f) => f.name === name)) fields.add(name);
    else if (name === DYNAMIC_FIELD && schema.enable_dynamic_field) dynamic.push(DYNAMIC_FIELD);
    else if (schema.enable_dynamic_field) dynamic.push(name);
    else {
      throw new VecbusError("FIELD_NOT_FOUND", `output field "${name}" is not in the schema (${describeFields(schema)})`);
    }
  }
  if (all) for (const f of schema.fields) fields.add(f.name);
  const allDynamic = all || dynamic.includes(DYNAMIC_FIELD);
  return (row) => {
    const out: Row = {};
    for (const name of fields) out[name] = exportValue(row[name]);
    const meta = row[DYNAMIC_FIELD] as Record<string, unknown> | undefined;
    if (meta) {
      if (allDynamic) Object.assign(out, meta);
      else for (const k of dynamic) if (k in meta) out[k] = meta[k];
    }
    return out;
  };
}

// Replies carry vectors as lists of numbers, as pymilvus returns them.
function exportValue(v: unknown): unknown {
  return v instanceof Float32Array ? Array.from(v) : v;
}
