// A filter evaluated column by column into a bitset over a sealed segment's
// slots: one tight loop per comparison instead of a chain of closures per
// row. It covers the forms filters are mostly made of — a scalar schema
// field compared with a literal, ranges, `in` lists, `is null`, and/or/not —
// with the row evaluator's semantics (engine/filter-eval.ts): numbers and
// strings compare inline, anything else (null, bigint, a value of another
// kind) goes through the same COMPARE as a row would. Any other form
// (arithmetic, JSON paths, dynamic fields, functions, like) gives undefined
// and the per-slot form runs instead. The filter was type-checked when it
// was compiled (compileFilterForms), so nothing here reports errors.
//
// A field with a scalar index (create_index on it, or the clustering key)
// is answered from the segment's index (engine/scalar-index.ts) where the
// index can, at the cost of the matching rows, and by the scan otherwise:
// the same bits either way.
import type { CompareOp, Expr, LiteralValue } from "../protocol/filter/index.js";
import type { CollectionSchema } from "../protocol/schema.js";
import { COMPARE, membership } from "./filter-eval.js";
import type { IndexTest, ScalarIndex } from "./scalar-index.js";

/** A segment's column by field name, slot-indexed; undefined when it has none. */
export type Columns = (name: string) => ArrayLike<unknown> | undefined;

/** A segment's scalar index of a field, built on first use; undefined when it cannot have one. */
export type ScalarIndexes = (name: string) => ScalarIndex | undefined;

/** 1 where the filter is true, over slots 0..n-1; undefined when a column is missing. */
export type BitsFn = (columns: Columns, n: number, indexes?: ScalarIndexes) => Uint8Array | undefined;

const FLIP: Record<CompareOp, CompareOp> = { "==": "==", "!=": "!=", "<": ">", "<=": ">=", ">": "<", ">=": "<=" };

/** A filter's matches listed by a scalar index, when at most `most` match; undefined when no index answers it or more match. */
export type SlotsFn = (indexes: ScalarIndexes, most: number) => Int32Array | undefined;

/** A comparison, range or `in` list on one scalar column with literals: what a scalar index can answer. */
type ColumnTest = IndexTest & { name: string };

/** The expression as a ColumnTest, when it is one (`lo < x` read as `x > lo`, `3 > x` as `x < 3`). */
function columnTestOf(column: (e: Expr) => string | undefined): (e: Expr) => ColumnTest | undefined {
  const constant = (e: Expr): LiteralValue | undefined => (e.kind === "literal" && !Array.isArray(e.value) ? e.value : undefined);
  return (e) => {
    switch (e.kind) {
      case "compare": {
        const [name, value, op] = column(e.left) !== undefined ? [column(e.left), constant(e.right), e.op] : [column(e.right), constant(e.left), FLIP[e.op]];
        return name === undefined || value === undefined ? undefined : { kind: "compare", name, op, value };
      }
      case "range": {
        const name = column(e.operand);
        const lo = constant(e.lower);
        const hi = constant(e.upper);
        return name === undefined || lo === undefined || hi === undefined ? undefined : { kind: "range", name, lowerOp: FLIP[e.lowerOp], lo, upperOp: e.upperOp, hi };
      }
      case "in": {
        const name = column(e.operand);
        return name === undefined ? undefined : { kind: "in", name, values: e.values, negated: e.negated };
      }
      default:
        return undefined;
    }
  };
}

/** The scalar schema field an expression names, if it names one (no JSON path). */
function columnOf(schema: CollectionSchema): (e: Expr) => string | undefined {
  const scalar = new Set(schema.fields.filter((f) => f.type !== "FloatVector" && f.type !== "Array" && f.type !== "JSON").map((f) => f.name));
  return (e) => (e.kind === "field" && e.path.length === 0 && scalar.has(e.name) ? e.name : undefined);
}

/**
 * The slot-list form of a filter that is one ColumnTest on a field with a
 * scalar index (`indexed`: declared, or the clustering key): a selective
 * filter then costs its matches, where the bitset form costs a byte a slot
 * and passes over them.
 */
export function compileIndexSlots(expr: Expr, schema: CollectionSchema, indexed: ReadonlySet<string> = new Set()): SlotsFn | undefined {
  const t = columnTestOf(columnOf(schema))(expr);
  if (!t || !indexed.has(t.name)) return undefined;
  return (indexes, most) => {
    const ix = indexes(t.name);
    return ix?.match(t)?.slots(most);
  };
}

/** `indexed`: the fields with a scalar index (declared, or the clustering key), whose segment indexes the bits may come from. */
export function compileBits(expr: Expr, schema: CollectionSchema, indexed: ReadonlySet<string> = new Set()): BitsFn | undefined {
  const index = (indexes: ScalarIndexes | undefined, name: string) => (indexed.has(name) ? indexes?.(name) : undefined);
  const column = columnOf(schema);
  const testOf = columnTestOf(column);

  const build = (e: Expr): BitsFn | undefined => {
    if (e.kind === "literal") return typeof e.value === "boolean" ? (_, n) => new Uint8Array(n).fill(e.value ? 1 : 0) : undefined;
    const t = testOf(e);
    if (t) {
      const scan = scanOf(t);
      return (columns, n, indexes) => {
        const ix = index(indexes, t.name);
        const viaIndex = ix?.match(t)?.bits(n);
        if (viaIndex) return viaIndex;
        const values = columns(t.name);
        return values && scan(values, n);
      };
    }
    switch (e.kind) {
      case "isNull": {
        const name = column(e.operand);
        if (name === undefined) return undefined;
        return (columns, n) => {
          const values = columns(name);
          if (!values) return undefined;
          const out = new Uint8Array(n);
          for (let s = 0; s < n; s++) out[s] = (values[s] == null) !== e.negated ? 1 : 0;
          return out;
        };
      }
      case "not": {
        const x = build(e.operand);
        if (!x) return undefined;
        return (columns, n, indexes) => {
          const bits = x(columns, n, indexes);
          if (bits) for (let s = 0; s < n; s++) bits[s] ^= 1;
          return bits;
        };
      }
      case "logical": {
        const l = build(e.left);
        const r = build(e.right);
        if (!l || !r) return undefined;
        return (columns, n, indexes) => {
          const a = l(columns, n, indexes);
          const b = a && r(columns, n, indexes);
          if (!a || !b) return undefined;
          if (e.op === "and") for (let s = 0; s < n; s++) a[s] &= b[s];
          else for (let s = 0; s < n; s++) a[s] |= b[s];
          return a;
        };
      }
      default:
        return undefined;
    }
  };
  return build(expr);
}

/** The test by a pass over the column's values. */
function scanOf(t: ColumnTest): (values: ArrayLike<unknown>, n: number) => Uint8Array {
  switch (t.kind) {
    case "compare":
      return (values, n) => comparison(values, n, t.op, t.value);
    case "range":
      return (values, n) => {
        const a = comparison(values, n, t.lowerOp, t.lo);
        const b = comparison(values, n, t.upperOp, t.hi);
        for (let s = 0; s < n; s++) a[s] &= b[s];
        return a;
      };
    case "in": {
      const contains = membership(t.values);
      const want = !t.negated;
      return (values, n) => {
        const out = new Uint8Array(n);
        for (let s = 0; s < n; s++) {
          const v = values[s];
          out[s] = v != null && contains(v) === want ? 1 : 0;
        }
        return out;
      };
    }
  }
}

/** `value op c` for every slot: inline for two numbers or two strings, COMPARE otherwise (null, bigint, mixed kinds). */
function comparison(values: ArrayLike<unknown>, n: number, op: CompareOp, c: LiteralValue): Uint8Array {
  const out = new Uint8Array(n);
  const slow = COMPARE[op];
  if (typeof c === "number") {
    // One loop per operator: the comparison inlines (a call per slot through the table cost a third of a 10%-filtered search).
    const other = (v: unknown) => (slow(v, c) ? 1 : 0);
    const num = values as ArrayLike<number>;
    switch (op) {
      case "==":
        for (let s = 0; s < n; s++) out[s] = typeof num[s] === "number" ? (num[s] === c ? 1 : 0) : other(num[s]);
        break;
      case "!=":
        for (let s = 0; s < n; s++) out[s] = typeof num[s] === "number" ? (num[s] !== c ? 1 : 0) : other(num[s]);
        break;
      case "<":
        for (let s = 0; s < n; s++) out[s] = typeof num[s] === "number" ? (num[s] < c ? 1 : 0) : other(num[s]);
        break;
      case "<=":
        for (let s = 0; s < n; s++) out[s] = typeof num[s] === "number" ? (num[s] <= c ? 1 : 0) : other(num[s]);
        break;
      case ">":
        for (let s = 0; s < n; s++) out[s] = typeof num[s] === "number" ? (num[s] > c ? 1 : 0) : other(num[s]);
        break;
      case ">=":
        for (let s = 0; s < n; s++) out[s] = typeof num[s] === "number" ? (num[s] >= c ? 1 : 0) : other(num[s]);
        break;
    }
    return out;
  }
  const inline = typeof c === "string" ? INLINE[op] : undefined;
  for (let s = 0; s < n; s++) {
    const v = values[s];
    out[s] = (inline && typeof v === "string" ? inline(v as unknown as number, c as unknown as number) : slow(v, c)) ? 1 : 0;
  }
  return out;
}

/** Two numbers or two strings (NaN cannot be stored, so == is ===). */
const INLINE: Record<CompareOp, (a: number, b: number) => boolean> = {
  "==": (a, b) => a === b,
  "!=": (a, b) => a !== b,
  "<": (a, b) => a < b,
  "<=": (a, b) => a <= b,
  ">": (a, b) => a > b,
  ">=": (a, b) => a >= b,
};
