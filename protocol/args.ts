// Readers for request fields: each returns the checked value or throws
// INVALID_ARGUMENT naming the field, so handlers never see an unchecked value.
import { VecbusError } from "./errors.js";
import { formatExpr } from "./filter/ast.js";
import { checkFilterLength, parseFilter } from "./filter/index.js";

export type Args = Record<string, unknown>;

export function optInt(args: Args, name: string, dflt: number, min: number, max: number): number {
  const raw = args[name];
  if (raw === undefined || raw === null) return dflt;
  const v = typeof raw === "bigint" ? Number(raw) : raw;
  if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) {
    throw new VecbusError("INVALID_ARGUMENT", `${name} must be an integer from ${min} to ${max}; got ${JSON.stringify(String(raw))}`);
  }
  return v;
}

export function optString(args: Args, name: string): string | undefined {
  const v = args[name];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "string") throw new VecbusError("INVALID_ARGUMENT", `${name} must be a string`);
  return v;
}

export function optStringList(args: Args, name: string): string[] {
  const v = args[name];
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v) || !v.every((x) => typeof x === "string")) {
    throw new VecbusError("INVALID_ARGUMENT", `${name} must be a list of strings`);
  }
  return v;
}

export function optBool(args: Args, name: string, dflt: boolean): boolean {
  const v = args[name];
  if (v === undefined || v === null) return dflt;
  if (typeof v !== "boolean") throw new VecbusError("INVALID_ARGUMENT", `${name} must be true or false`);
  return v;
}

/**
 * A filter expression; blank means "no filter". Templates (`{name}`) are
 * filled from `filter_params` here and the expression is sent on as plain
 * text, so shards never see parameters. `expr`/`expr_params` are pymilvus's
 * names in hybrid search requests.
 */
/** Two filters that must both hold (either may be absent). */
export function bothFilters(a: string | undefined, b: string | undefined): string | undefined {
  return a === undefined ? b : b === undefined ? a : `(${a}) and (${b})`;
}

export function optFilter(args: Args): string | undefined {
  const f = optString(args, "filter") ?? optString(args, "expr");
  if (!f || f.trim() === "") return undefined;
  checkFilterLength(f);
  const params = args.filter_params ?? args.expr_params;
  if (params === undefined || params === null) return f;
  if (typeof params !== "object" || Array.isArray(params)) throw new VecbusError("INVALID_ARGUMENT", "filter_params must be a map of template name to value");
  return formatExpr(parseFilter(f, params as Record<string, unknown>));
}
