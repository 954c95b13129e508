// Milvus's loosely typed request parameters (key/value pairs whose values
// are strings, JSON inside strings, filter template values) as the values
// the NATS API takes. A value that does not parse is the caller's mistake
// (INVALID_ARGUMENT), never an internal error.
import { VecbusError } from "../../protocol/errors.js";
import { int64Of } from "../../protocol/schema.js";
import { parseJson } from "../../runtime/json.js";

type Obj = Record<string, unknown>;
type Kv = { key: string; value: string };

export function kvMap(list: unknown): Record<string, string> {
  const out: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const p of (list as Kv[] | undefined) ?? []) out[p.key] = p.value;
  return out;
}

/** A JSON object carried in a string parameter (`params`, `rank_params.params`). */
export function jsonParam(text: string | undefined, what: string): Obj {
  if (text === undefined || text === "") return {};
  let v: unknown;
  try {
    v = parseJson(text);
  } catch (e) {
    throw new VecbusError("INVALID_ARGUMENT", `${what} must be a JSON object; ${(e as Error).message}`);
  }
  if (v === null || typeof v !== "object" || Array.isArray(v)) throw new VecbusError("INVALID_ARGUMENT", `${what} must be a JSON object; got ${text.slice(0, 80)}`);
  return v as Obj;
}

/** Keys of a CreateIndex's extra_params that are no build parameter. */
const INDEX_KEYS = new Set(["index_type", "metric_type", "params"]);

/**
 * A CreateIndex's build parameters: the `params` JSON, plus any other key
 * sent on its own (pymilvus flattens `{"M": 16}` into `M: "16"`), numbers
 * taken as numbers.
 */
export function indexBuildParams(p: Record<string, string>): Obj | undefined {
  const params = jsonParam(p.params, "the index's params");
  for (const [k, v] of Object.entries(p)) {
    if (INDEX_KEYS.has(k)) continue;
    params[k] = v.trim() !== "" && Number.isFinite(Number(v)) ? Number(v) : v;
  }
  return Object.keys(params).length > 0 ? params : undefined;
}

/** A request's `expr_template_values` (map of schema.TemplateValue) as the NATS API's filter_params. */
export function templateValues(map: unknown): Obj | undefined {
  const entries = Object.entries((map as Record<string, Obj> | undefined) ?? {});
  if (entries.length === 0) return undefined;
  return Object.fromEntries(entries.map(([k, v]) => [k, templateValue(v, k)]));
}

function templateValue(v: Obj, name: string): unknown {
  switch (v.val) {
    case "bool_val":
      return Boolean(v.bool_val);
    case "int64_val":
      return int64Of(BigInt(String(v.int64_val)));
    case "float_val":
      return Number(v.float_val);
    case "string_val":
      return String(v.string_val);
    case "array_val":
      return templateArray(v.array_val as Obj, name);
    default:
      throw new VecbusError("INVALID_ARGUMENT", `the template value "${name}" has no value`);
  }
}

function templateArray(a: Obj, name: string): unknown[] {
  const kind = String(a.data);
  const data = ((a[kind] as { data?: unknown[] } | undefined)?.data ?? []) as unknown[];
  switch (kind) {
    case "bool_data":
    case "double_data":
    case "string_data":
      return data;
    case "long_data":
      return data.map((x) => int64Of(BigInt(String(x))));
    case "array_data":
      return data.map((inner) => templateArray(inner as Obj, name));
    case "json_data":
      return data.map((b) => jsonParamValue(Buffer.from(b as Uint8Array).toString("utf8"), name));
    default:
      throw new VecbusError("INVALID_ARGUMENT", `the template value "${name}" is an array of no known kind`);
  }
}

function jsonParamValue(text: string, name: string): unknown {
  try {
    return parseJson(text);
  } catch (e) {
    throw new VecbusError("INVALID_ARGUMENT", `the template value "${name}" holds JSON that does not parse (${(e as Error).message})`);
  }
}
