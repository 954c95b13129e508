// The parsed form of a Milvus boolean filter expression. Nodes carry no source
// positions so that trees built by hand (tests, query planners) compare equal to
// parsed ones; syntax errors are reported by the parser, which still has them.

/** Integers outside the exactly representable double range stay bigint so Int64 comparisons are exact. */
export type Scalar = number | bigint | string | boolean;
export type LiteralValue = Scalar | LiteralValue[];

/** A JSON object key or an array index. */
export type PathKey = string | number;

export type CompareOp = "==" | "!=" | "<" | "<=" | ">" | ">=";
export type RangeOp = "<" | "<=";
export type ArithOp = "+" | "-" | "*" | "/" | "%" | "**";

/** Arithmetic on numbers, one definition for the evaluator and the parser's constant folding; x / 0 is NaN (no value). */
export const NUMBER_ARITH: Record<ArithOp, (a: number, b: number) => number> = {
  "+": (a, b) => a + b,
  "-": (a, b) => a - b,
  "*": (a, b) => a * b,
  "/": (a, b) => (b === 0 ? NaN : a / b),
  "%": (a, b) => a % b,
  "**": (a, b) => a ** b,
};

export const FUNCTION_ARITY = {
  json_contains: 2,
  json_contains_all: 2,
  json_contains_any: 2,
  array_contains: 2,
  array_contains_all: 2,
  array_contains_any: 2,
  array_length: 1,
} as const;
export type FunctionName = keyof typeof FUNCTION_ARITY;

export interface LiteralExpr {
  kind: "literal";
  value: LiteralValue;
}

/**
 * `name` is the identifier as written; whether it is a schema field or a key of
 * the dynamic field is decided against a schema later. `$meta["k"]` has name "$meta".
 */
export interface FieldExpr {
  kind: "field";
  name: string;
  path: PathKey[];
}

export interface NegExpr {
  kind: "neg";
  operand: Expr;
}

export interface ArithExpr {
  kind: "arith";
  op: ArithOp;
  left: Expr;
  right: Expr;
}

export interface CallExpr {
  kind: "call";
  fn: FunctionName;
  args: Expr[];
}

export interface CompareExpr {
  kind: "compare";
  op: CompareOp;
  left: Expr;
  right: Expr;
}

/** `lower lowerOp operand upperOp upper`; `20 >= x > 10` is normalised to `10 < x <= 20`. */
export interface RangeExpr {
  kind: "range";
  lower: Expr;
  lowerOp: RangeOp;
  operand: Expr;
  upperOp: RangeOp;
  upper: Expr;
}

export interface InExpr {
  kind: "in";
  operand: Expr;
  values: LiteralValue[];
  negated: boolean;
  /** Some value was written as a floating-point number (`2.0`, `1e3`): an integer field refuses the list, as in Milvus. */
  float?: true;
}

/** `pattern` is the string as written: `%`, `_` are wildcards and `\%`, `\_`, `\\` escapes. */
export interface LikeExpr {
  kind: "like";
  operand: Expr;
  pattern: string;
}

export interface IsNullExpr {
  kind: "isNull";
  operand: Expr;
  negated: boolean;
}

export interface NotExpr {
  kind: "not";
  operand: Expr;
}

/** `exists json["k"]` (as Milvus): whether the JSON value (or dynamic field) has that key or index. */
export interface ExistsExpr {
  kind: "exists";
  operand: FieldExpr;
}

export interface LogicalExpr {
  kind: "logical";
  op: "and" | "or";
  left: Expr;
  right: Expr;
}

export type Expr =
  | LiteralExpr
  | FieldExpr
  | NegExpr
  | ArithExpr
  | CallExpr
  | CompareExpr
  | RangeExpr
  | InExpr
  | LikeExpr
  | IsNullExpr
  | NotExpr
  | ExistsExpr
  | LogicalExpr;

// Binding strength of each construct, mirroring the parser's levels; used to
// print the fewest parentheses that still parse back to the same tree.
const PREC = {
  or: 1,
  and: 2,
  compare: 3,
  in: 4,
  additive: 5,
  multiplicative: 6,
  unary: 7,
  power: 8,
  postfix: 9,
  primary: 10,
} as const;

/** The expressions directly below a node, in source order. */
export function exprChildren(e: Expr): Expr[] {
  switch (e.kind) {
    case "logical":
    case "arith":
    case "compare":
      return [e.left, e.right];
    case "range":
      return [e.lower, e.operand, e.upper];
    case "not":
    case "exists":
    case "neg":
    case "in":
    case "like":
    case "isNull":
      return [e.operand];
    case "call":
      return e.args;
    case "literal":
    case "field":
      return [];
  }
}

/** Renders an expression as filter text that parses back to the same tree. */
export function formatExpr(expr: Expr): string {
  return format(expr, 0);
}

function format(expr: Expr, minPrec: number): string {
  const [text, prec] = render(expr);
  return prec < minPrec ? `(${text})` : text;
}

function render(e: Expr): [string, number] {
  switch (e.kind) {
    case "literal": {
      const text = formatLiteral(e.value);
      const negative = (typeof e.value === "number" || typeof e.value === "bigint") && text.startsWith("-");
      return [text, negative ? PREC.unary : PREC.primary];
    }
    case "field":
      return [e.name + e.path.map((k) => `[${typeof k === "string" ? JSON.stringify(k) : k}]`).join(""), PREC.primary];
    case "call":
      return [`${e.fn}(${e.args.map((a) => format(a, 0)).join(", ")})`, PREC.primary];
    case "like":
      return [`${format(e.operand, PREC.primary)} like ${JSON.stringify(e.pattern)}`, PREC.postfix];
    case "isNull":
      return [`${format(e.operand, PREC.primary)} is ${e.negated ? "not " : ""}null`, PREC.postfix];
    case "neg":
      return [`-${format(e.operand, PREC.unary)}`, PREC.unary];
    case "not":
      return [`not ${format(e.operand, PREC.unary)}`, PREC.unary];
    case "exists":
      return [`exists ${format(e.operand, PREC.primary)}`, PREC.unary];
    case "arith":
      if (e.op === "**") return [`${format(e.left, PREC.postfix)} ** ${format(e.right, PREC.unary)}`, PREC.power];
      if (e.op === "+" || e.op === "-") {
        return [`${format(e.left, PREC.additive)} ${e.op} ${format(e.right, PREC.multiplicative)}`, PREC.additive];
      }
      return [`${format(e.left, PREC.multiplicative)} ${e.op} ${format(e.right, PREC.unary)}`, PREC.multiplicative];
    case "in": {
      // A list written with floats prints its whole numbers as floats, so it parses back the same.
      const values = e.float ? `[${e.values.map((v) => (typeof v === "number" && Number.isInteger(v) && Math.abs(v) < 1e21 ? `${formatLiteral(v)}.0` : formatLiteral(v))).join(", ")}]` : formatLiteral(e.values);
      return [`${format(e.operand, PREC.additive)} ${e.negated ? "not in" : "in"} ${values}`, PREC.in];
    }
    case "compare":
      return [`${format(e.left, PREC.in)} ${e.op} ${format(e.right, PREC.in)}`, PREC.compare];
    case "range":
      return [
        `${format(e.lower, PREC.in)} ${e.lowerOp} ${format(e.operand, PREC.in)} ${e.upperOp} ${format(e.upper, PREC.in)}`,
        PREC.compare,
      ];
    case "logical":
      return e.op === "or"
        ? [`${format(e.left, PREC.or)} or ${format(e.right, PREC.and)}`, PREC.or]
        : [`${format(e.left, PREC.and)} and ${format(e.right, PREC.compare)}`, PREC.and];
  }
}

export function formatLiteral(v: LiteralValue): string {
  if (Array.isArray(v)) return `[${v.map(formatLiteral).join(", ")}]`;
  if (typeof v === "string") return JSON.stringify(v);
  // String(-0) is "0": the sign shows where it matters, (-0) ** -1 being -Infinity.
  return Object.is(v, -0) ? "-0" : String(v);
}
