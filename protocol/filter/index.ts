import type { Expr } from "./ast.js";
import { parse } from "./parser.js";

export { checkFilterLength } from "./parser.js";

export * from "./ast.js";

/**
 * Parses a Milvus boolean filter expression. `{name}` templates are replaced by
 * `params[name]` (numbers, strings, booleans and arrays of them). Every problem,
 * including an empty filter, throws VecbusError("FILTER_SYNTAX") with a 1-based position.
 */
export function parseFilter(text: string, params?: Record<string, unknown>): Expr {
  return parse(text, params);
}
