// Compiles a parsed filter into a row predicate: names are resolved and types
// checked once against the schema, and the tree becomes nested closures, so
// evaluating a row never walks the AST or parses text.
//
// Runtime semantics (JSON and dynamic values are untyped, so they are checked here):
// - A comparison (==, !=, <, <=, >, >=, ranges) is true only when both sides are
//   present and of comparable types: numbers (number or bigint, compared exactly)
//   with numbers, strings with strings (by UTF-16 code units), booleans with
//   booleans (== and != only), arrays/objects with arrays/objects (deep equality).
//   Anything else, including null or a missing key, makes it false, even for !=.
// - `not` is plain boolean negation of that result, so `not (x == 1)` is true for
//   a missing x while `x != 1` is false.
// - `x in [...]` is `x == e` for some element; `x not in [...]` is "x is present
//   and not in the list".
// - Arithmetic works on doubles (bigint values are converted); a non-number
//   operand, division or remainder by zero, or a NaN result gives null, which
//   then fails every comparison.
// - `like` and the contains functions are false when the value has the wrong type.
// - A null value (a nullable field, or JSON null) is `is null` and fails every
//   comparison, like a missing key.
// - Schema Array fields are typed: their element type is checked at compile time
//   against the other operand of a comparison, `tags[i]`, and the contains
//   functions; an index past the end reads as missing.

import { VecbusError } from "../protocol/errors.js";
import {
  exprChildren,
  formatExpr,
  formatLiteral,
  NUMBER_ARITH,
  parseFilter,
  type CallExpr,
  type CompareOp,
  type Expr,
  type LiteralValue,
  type PathKey,
} from "../protocol/filter/index.js";
import { DYNAMIC_FIELD, isIntegerType, isNumericType, typeName, type CollectionSchema, type DataType, type FieldSchema } from "../protocol/schema.js";

import type { Row } from "../protocol/rows.js";
import { likeMatcher } from "./like-pattern.js";

export type RowPredicate = (row: Row) => boolean;

/**
 * How compiled code reads a field: by default from a row map; a sealed
 * segment reads its columns by slot instead, so a scan makes no row objects.
 */
export type FieldReader<R> = (name: string) => (at: R) => unknown;

/** What the schema says about an expression's value; "any" is JSON / dynamic data, checked per row. */
type StaticType = "number" | "string" | "bool" | "array" | "any";

/** A row map or a slot: what the compiled closures take, as the FieldReader they were compiled with reads it. */
type At = never;

interface Compiled {
  type: StaticType;
  /** For arrays: the type of every element, "any" when unknown or mixed. */
  element?: StaticType;
  /** Set when the expression is a schema field used as is, so type errors can name its declared type. */
  field?: FieldSchema;
  run: (at: At) => unknown;
}

const fromRow: FieldReader<Row> = (name) => (row) => row[name];

export function compileFilter(expr: Expr, schema: CollectionSchema): RowPredicate {
  return compileWith(expr, schema, fromRow);
}

export function compileWith<R>(expr: Expr, schema: CollectionSchema, read: FieldReader<R>): (at: R) => boolean {
  const root = new Compiler(schema, read as FieldReader<At>).compile(expr);
  requireType(root, expr, ["bool"], "a filter must be a boolean expression");
  const run = root.run as (at: R) => unknown;
  return (at) => run(at) === true;
}

export function compileFilterText(text: string, schema: CollectionSchema, params?: Record<string, unknown>): RowPredicate {
  return compileFilter(parseFilter(text, params), schema);
}

/** Identifiers the expression reads, as written: schema fields, dynamic keys, or "$meta". */
export function filterFields(expr: Expr): string[] {
  const names = new Set<string>();
  const visit = (e: Expr): void => {
    if (e.kind === "field") names.add(e.name);
    exprChildren(e).forEach(visit);
  };
  visit(expr);
  return [...names];
}

const TYPE_NAMES: Record<StaticType, string> = {
  number: "a number",
  string: "a string",
  bool: "a boolean",
  array: "an array",
  any: "a JSON value",
};

function describe(c: Compiled, e: Expr): string {
  return c.field ? `field "${c.field.name}" (${typeName(c.field)})` : `${formatExpr(e)} (${TYPE_NAMES[c.type]})`;
}

function typeError(message: string): VecbusError {
  return new VecbusError("FILTER_TYPE", `filter type error: ${message}`);
}

/** "any" always passes: its type is only known per row. */
function requireType(c: Compiled, e: Expr, allowed: StaticType[], what: string): void {
  if (c.type !== "any" && !allowed.includes(c.type)) throw typeError(`${what}, but ${describe(c, e)} is not`);
}

function literalType(v: LiteralValue): StaticType {
  if (Array.isArray(v)) return "array";
  if (typeof v === "string") return "string";
  if (typeof v === "boolean") return "bool";
  return "number";
}

function literal(value: LiteralValue): Compiled {
  if (!Array.isArray(value)) return { type: literalType(value), run: () => value };
  const types = new Set(value.map(literalType));
  return { type: "array", element: types.size === 1 ? [...types][0] : "any", run: () => value };
}

/** JSON is checked per row. */
function scalarType(t: DataType): StaticType {
  if (isNumericType(t)) return "number";
  if (t === "VarChar") return "string";
  if (t === "Bool") return "bool";
  return "any";
}

class Compiler {
  private readonly fields: Map<string, FieldSchema>;

  constructor(
    private readonly schema: CollectionSchema,
    private readonly read: FieldReader<At>,
  ) {
    this.fields = new Map(schema.fields.map((f) => [f.name, f]));
  }

  compile(e: Expr): Compiled {
    switch (e.kind) {
      case "literal":
        return literal(e.value);
      case "field":
        return this.field(e.name, e.path);
      case "neg": {
        const x = this.compile(e.operand);
        requireType(x, e.operand, ["number"], "unary minus needs a number");
        const run = x.run;
        return {
          type: "number",
          run: (row) => {
            const v = toNumber(run(row));
            return v === null ? null : -v;
          },
        };
      }
      case "arith": {
        const l = this.compile(e.left);
        const r = this.compile(e.right);
        requireType(l, e.left, ["number"], `"${e.op}" needs numbers`);
        requireType(r, e.right, ["number"], `"${e.op}" needs numbers`);
        const f = NUMBER_ARITH[e.op];
        const lr = l.run;
        const rr = r.run;
        return {
          type: "number",
          run: (row) => {
            const a = toNumber(lr(row));
            const b = toNumber(rr(row));
            if (a === null || b === null) return null;
            const v = f(a, b);
            return Number.isNaN(v) ? null : v;
          },
        };
      }
      case "compare": {
        const l = this.compile(e.left);
        const r = this.compile(e.right);
        checkComparable(e.op, l, e.left, r, e.right);
        const test = COMPARE[e.op];
        const lr = l.run;
        const rr = r.run;
        return { type: "bool", run: (row) => test(lr(row), rr(row)) };
      }
      case "range": {
        const lo = this.compile(e.lower);
        const x = this.compile(e.operand);
        const hi = this.compile(e.upper);
        checkComparable(e.lowerOp, lo, e.lower, x, e.operand);
        checkComparable(e.upperOp, x, e.operand, hi, e.upper);
        const lowerTest = COMPARE[e.lowerOp];
        const upperTest = COMPARE[e.upperOp];
        const [lor, xr, hir] = [lo.run, x.run, hi.run];
        return {
          type: "bool",
          run: (row) => {
            const v = xr(row);
            return lowerTest(lor(row), v) && upperTest(v, hir(row));
          },
        };
      }
      case "in": {
        const x = this.compile(e.operand);
        if (e.float && x.field && isIntegerType(x.field.type)) {
          throw typeError(`${describe(x, e.operand)} holds integers, but the list ${formatLiteral(e.values)} was written with floating-point numbers`);
        }
        for (const v of e.values) {
          checkComparable("==", x, e.operand, literal(v), { kind: "literal", value: v });
        }
        const xr = x.run;
        const contains = membership(e.values);
        return e.negated
          ? { type: "bool", run: (row) => { const v = xr(row); return v != null && !contains(v); } }
          : { type: "bool", run: (row) => { const v = xr(row); return v != null && contains(v); } };
      }
      case "like": {
        const x = this.compile(e.operand);
        requireType(x, e.operand, ["string"], "like needs a string");
        const like = likeMatcher(e.pattern);
        const xr = x.run;
        return {
          type: "bool",
          run: (row) => {
            const v = xr(row);
            return typeof v === "string" && like(v);
          },
        };
      }
      case "exists": {
        const x = this.compile(e.operand);
        // As Milvus: only a JSON value (or the dynamic field) has keys that may or may not be there.
        if (x.type !== "any") throw typeError(`exists needs a JSON field or a key of one, but ${describe(x, e.operand)} is not`);
        const xr = x.run;
        return { type: "bool", run: (row) => xr(row) !== undefined };
      }
      case "isNull": {
        const xr = this.compile(e.operand).run;
        return e.negated ? { type: "bool", run: (row) => xr(row) != null } : { type: "bool", run: (row) => xr(row) == null };
      }
      case "not": {
        const x = this.compile(e.operand);
        if (x.type !== "any" && x.type !== "bool") {
          // `not` binds tighter than comparisons (as in Milvus), so this is the usual slip.
          throw typeError(`not needs a boolean, but ${describe(x, e.operand)} is not; to negate a comparison write not (...)`);
        }
        const xr = x.run;
        return { type: "bool", run: (row) => xr(row) !== true };
      }
      case "logical": {
        const l = this.compile(e.left);
        const r = this.compile(e.right);
        requireType(l, e.left, ["bool"], `${e.op} needs booleans`);
        requireType(r, e.right, ["bool"], `${e.op} needs booleans`);
        const lr = l.run;
        const rr = r.run;
        return e.op === "and"
          ? { type: "bool", run: (row) => lr(row) === true && rr(row) === true }
          : { type: "bool", run: (row) => lr(row) === true || rr(row) === true };
      }
      case "call":
        return this.call(e);
    }
  }

  private field(name: string, path: PathKey[]): Compiled {
    const f = this.fields.get(name);
    if (f) {
      if (f.type === "FloatVector") throw typeError(`vector field "${name}" cannot be used in a filter`);
      const value = this.read(name);
      if (f.type === "Array") return arrayField(f, path, value);
      const type = scalarType(f.type);
      if (path.length === 0) return { type, field: f, run: value };
      if (type !== "any") throw typeError(`field "${name}" (${f.type}) has no elements to access with [${JSON.stringify(path[0])}]`);
      return { type: "any", run: (row) => walk(value(row), path) };
    }
    const meta = this.read(DYNAMIC_FIELD);
    if (name === DYNAMIC_FIELD) return { type: "any", run: (row) => walk(meta(row), path) };
    if (!this.schema.enable_dynamic_field) {
      const known = this.schema.fields.map((x) => x.name).join(", ");
      throw new VecbusError("FIELD_NOT_FOUND", `filter refers to unknown field "${name}"; the collection has fields ${known}`);
    }
    const full = [name, ...path];
    return { type: "any", run: (row) => walk(meta(row), full) };
  }

  private call(e: CallExpr): Compiled {
    // As Milvus: what is looked for is a value or a list written out, not read from a row.
    if (e.args.length > 1 && e.args[1].kind !== "literal") {
      throw typeError(`${e.fn} needs a constant (a value, or a list of values) as its second argument, not ${formatExpr(e.args[1])}`);
    }
    const args = e.args.map((a) => this.compile(a));
    // The json_ and array_ spellings are one function each, on Array and JSON fields alike (as Milvus).
    requireType(args[0], e.args[0], ["array"], `${e.fn} needs an array or JSON field`);
    const target = args[0].run;
    if (e.fn === "array_length") {
      return {
        type: "number",
        run: (row) => {
          const v = target(row);
          return Array.isArray(v) ? v.length : null;
        },
      };
    }
    const needle = args[1].run;
    if (e.fn === "json_contains" || e.fn === "array_contains") {
      checkElement(e.fn, args[0], e.args[0], args[1], e.args[1]);
      return {
        type: "bool",
        run: (row) => {
          const arr = target(row);
          const v = needle(row);
          return Array.isArray(arr) && arr.some((x) => deepEqual(x, v));
        },
      };
    }
    requireType(args[1], e.args[1], ["array"], `${e.fn} needs an array as its second argument`);
    checkElements(e.fn, args[0], e.args[0], args[1], e.args[1]);
    const every = e.fn.endsWith("_all");
    return {
      type: "bool",
      run: (row) => {
        const arr = target(row);
        const wanted = needle(row);
        if (!Array.isArray(arr) || !Array.isArray(wanted)) return false;
        const found = (w: unknown): boolean => arr.some((x) => deepEqual(x, w));
        return every ? wanted.every(found) : wanted.some(found);
      },
    };
  }
}

/** A schema Array field; `tags[i]` reads one element, which has the declared element type. */
function arrayField(f: FieldSchema, path: PathKey[], value: (at: At) => unknown): Compiled {
  const name = f.name;
  const element = scalarType(f.element_type!);
  if (path.length === 0) return { type: "array", element, field: f, run: value };
  const [index] = path;
  if (path.length > 1 || typeof index !== "number") {
    const written = path.map((k) => `[${JSON.stringify(k)}]`).join("");
    throw typeError(`field "${name}" (${typeName(f)}) takes one integer index, as ${name}[0]; ${name}${written} is not one`);
  }
  return { type: element, run: (row) => walk(value(row), path) };
}

const plural = (t: StaticType): string => TYPE_NAMES[t].replace(/^an? /, "") + "s";

/** Two types that are both known and differ; undefined (not an array) and "any" clash with nothing. */
const clash = (a: StaticType | undefined, b: StaticType | undefined): boolean => !!a && !!b && a !== "any" && b !== "any" && a !== b;

/** The element type of `target` against the value looked for, when both are known. */
function checkElement(fn: string, target: Compiled, te: Expr, needle: Compiled, ne: Expr): void {
  if (clash(target.element, needle.type)) {
    throw typeError(`${fn}: the elements of ${describe(target, te)} are ${plural(target.element!)}, but ${describe(needle, ne)} is not`);
  }
}

/** As checkElement, for each of the values looked for. */
function checkElements(fn: string, target: Compiled, te: Expr, needles: Compiled, ne: Expr): void {
  if (ne.kind === "literal" && Array.isArray(ne.value)) {
    for (const v of ne.value) checkElement(fn, target, te, literal(v), { kind: "literal", value: v });
    return;
  }
  if (clash(target.element, needles.element)) {
    throw typeError(
      `${fn}: the elements of ${describe(target, te)} are ${plural(target.element!)}, but those of ${describe(needles, ne)} are ${plural(needles.element!)}`,
    );
  }
}

function checkComparable(op: CompareOp, l: Compiled, le: Expr, r: Compiled, re: Expr): void {
  if (l.type === "any" || r.type === "any") return;
  if (l.type !== r.type) throw typeError(`cannot compare ${describe(l, le)} with ${describe(r, re)}`);
  if (clash(l.element, r.element)) {
    throw typeError(`cannot compare ${describe(l, le)} with ${describe(r, re)}: their elements differ in type`);
  }
  if (op !== "==" && op !== "!=" && (l.type === "bool" || l.type === "array")) {
    throw typeError(`"${op}" cannot order ${describe(l, le)}; only == and != apply to ${plural(l.type)}`);
  }
}

function walk(value: unknown, path: readonly PathKey[]): unknown {
  let v = value;
  for (const key of path) {
    if (typeof key === "number") {
      if (!Array.isArray(v) || key >= v.length) return undefined;
      v = v[key];
    } else {
      if (v === null || typeof v !== "object" || Array.isArray(v) || !Object.hasOwn(v, key)) return undefined;
      v = (v as Record<string, unknown>)[key];
    }
  }
  return v;
}

function toNumber(v: unknown): number | null {
  if (typeof v === "number") return v;
  if (typeof v === "bigint") return Number(v);
  return null;
}


const isNumeric = (v: unknown): v is number | bigint => typeof v === "number" || typeof v === "bigint";

/** -1, 0 or 1 for two numbers or two strings; NaN when they cannot be ordered. */
function order(a: unknown, b: unknown): number {
  if ((isNumeric(a) && isNumeric(b)) || (typeof a === "string" && typeof b === "string")) {
    // Relational operators compare number and bigint exactly across the two types.
    const x = a as number;
    const y = b as number;
    return x < y ? -1 : x > y ? 1 : x == y ? 0 : NaN;
  }
  return NaN;
}

/** undefined when the two values are not comparable (missing, null, or different kinds). */
function equals(a: unknown, b: unknown): boolean | undefined {
  if (a == null || b == null) return undefined;
  if (isNumeric(a) && isNumeric(b)) return order(a, b) === 0;
  if (typeof a !== typeof b || Array.isArray(a) !== Array.isArray(b)) return undefined;
  if (typeof a === "object") return deepEqual(a, b);
  return typeof a === "string" || typeof a === "boolean" ? a === b : undefined;
}

function deepEqual(a: unknown, b: unknown): boolean {
  if (isNumeric(a) && isNumeric(b)) return order(a, b) === 0;
  if (a === null || b === null || typeof a !== "object" || typeof b !== "object") return a === b;
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((x, i) => deepEqual(x, b[i]));
  }
  const ka = Object.keys(a);
  const ob = b as Record<string, unknown>;
  return ka.length === Object.keys(ob).length && ka.every((k) => Object.hasOwn(ob, k) && deepEqual((a as Record<string, unknown>)[k], ob[k]));
}

export const COMPARE: Record<CompareOp, (a: unknown, b: unknown) => boolean> = {
  "==": (a, b) => equals(a, b) === true,
  "!=": (a, b) => equals(a, b) === false,
  // NaN (not comparable) fails every ordering test.
  "<": (a, b) => order(a, b) < 0,
  "<=": (a, b) => order(a, b) <= 0,
  ">": (a, b) => order(a, b) > 0,
  ">=": (a, b) => order(a, b) >= 0,
};

/** A membership test equivalent to `equals(v, e) === true` for some e, with a hash lookup for plain scalars. */
export function membership(values: LiteralValue[]): (v: unknown) => boolean {
  const scalars = new Set<unknown>(values.filter((v) => typeof v === "string" || typeof v === "number" || typeof v === "boolean"));
  // Numbers and bigints are equal across representations, which a Set cannot see.
  const bigints = values.filter((v) => typeof v === "bigint");
  const arrays = values.filter((v) => Array.isArray(v));
  return (v) => {
    if (scalars.has(v)) return true;
    if (typeof v === "number") return bigints.some((e) => order(v, e) === 0);
    if (typeof v === "bigint") return values.some((e) => isNumeric(e) && order(v, e) === 0);
    return Array.isArray(v) && arrays.some((e) => deepEqual(v, e));
  };
}
