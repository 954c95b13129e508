// Recursive-descent parser for the Milvus filter language. Levels, loosest first:
//   or (`or`, `||`) < and (`and`, `&&`) < comparison (`==` ... and ranges `a < x <= b`)
//   < `in` / `not in` < `+ -` < `* / %` < unary (`not`, `!`, `-`) < `**` (right-associative)
//   < postfix (`like`, `is [not] null`) < primary.
// As in Milvus's grammar, `not` is unary and binds tighter than comparisons:
// `not a == 1` is `(not a) == 1`; write `not (a == 1)` for the other reading.

import {
  FUNCTION_ARITY,
  exprChildren,
  formatExpr,
  formatLiteral,
  NUMBER_ARITH,
  type CompareOp,
  type Expr,
  type FunctionName,
  type LiteralValue,
  type PathKey,
  type RangeOp,
} from "./ast.js";
import { describeToken, syntaxError, tokenize, type Keyword, type Punct, type Token } from "./lexer.js";
import { limit, limitText } from "../limits.js";
import { int64Of } from "../schema.js";

const COMPARE_OPS: ReadonlySet<string> = new Set<CompareOp>(["==", "!=", "<", "<=", ">", ">="]);
const FUNCTION_NAMES = Object.keys(FUNCTION_ARITY) as FunctionName[];

export function parse(text: string, params?: Record<string, unknown>): Expr {
  return new Parser(tokenize(text), params).parseFilter();
}

/**
 * The length bound of a filter as a client wrote it. Not part of `parse`: the
 * proxy fills `{templates}` in and sends the printed filter on, which may be
 * far longer (an `in` list of 65536 values) and is bounded by its parts.
 */
export function checkFilterLength(text: string): void {
  if (text.length > limit("filterLength")) {
    throw syntaxError(limit("filterLength") + 1, `expected ${limitText("filterLength")}, found ${text.length}`);
  }
}

/**
 * Recursive descent with two depth checks, so that neither the parser nor
 * anything walking the tree later (evaluator, printer) can run out of stack:
 * `nesting` counts the parser's own recursion (parentheses, unary operators,
 * `**`, nested arrays, call arguments), and every node built records its
 * depth, which catches the long and/or and arithmetic chains the loops build
 * without recursing.
 */
class Parser {
  private i = 0;
  private nesting = 0;
  /** Number literals written as floating point so far (an `in` list notes whether it holds one). */
  private floats = 0;
  private readonly depths = new Map<Expr, number>();

  constructor(
    private readonly tokens: Token[],
    private readonly params: Record<string, unknown> | undefined,
  ) {}

  parseFilter(): Expr {
    if (this.peek().type === "eof") {
      throw syntaxError(this.peek().pos, "expected a filter expression, found end of input");
    }
    const expr = this.parseOr();
    const t = this.peek();
    if (t.type !== "eof") throw syntaxError(t.pos, `expected an operator or end of input, found ${describeToken(t)}`);
    return expr;
  }

  private peek(ahead = 0): Token {
    return this.tokens[Math.min(this.i + ahead, this.tokens.length - 1)];
  }

  private next(): Token {
    const t = this.peek();
    if (t.type !== "eof") this.i++;
    return t;
  }

  private isKeyword(kw: Keyword, ahead = 0): boolean {
    const t = this.peek(ahead);
    return t.type === "keyword" && t.value === kw;
  }

  private isPunct(p: Punct): boolean {
    const t = this.peek();
    return t.type === "punct" && t.value === p;
  }

  private expectPunct(p: Punct, context: string): Token {
    const t = this.peek();
    if (t.type === "punct" && t.value === p) return this.next();
    throw syntaxError(t.pos, `expected "${p}" ${context}, found ${describeToken(t)}`);
  }

  private tooDeep(pos: number): never {
    throw syntaxError(pos, `expected ${limitText("filterDepth")}, found more; use \`in [...]\` for long lists of alternatives`);
  }

  /** Records the depth of a node built at `pos` and returns it. */
  private node<E extends Expr>(e: E, pos: number): E {
    let depth = 0;
    for (const c of exprChildren(e)) depth = Math.max(depth, this.depths.get(c) ?? 1);
    if (depth + 1 > limit("filterDepth")) this.tooDeep(pos);
    this.depths.set(e, depth + 1);
    return e;
  }

  /** Runs one level of the parser's recursion. */
  private nested<T>(pos: number, parse: () => T): T {
    if (++this.nesting > limit("filterDepth")) this.tooDeep(pos);
    try {
      return parse();
    } finally {
      this.nesting--;
    }
  }

  private parseOr(): Expr {
    let left = this.parseAnd();
    while (this.isKeyword("or") || this.isPunct("||")) {
      const op = this.next();
      left = this.node({ kind: "logical", op: "or", left, right: this.parseAnd() }, op.pos);
    }
    return left;
  }

  private parseAnd(): Expr {
    let left = this.parseComparison();
    while (this.isKeyword("and") || this.isPunct("&&")) {
      const op = this.next();
      left = this.node({ kind: "logical", op: "and", left, right: this.parseComparison() }, op.pos);
    }
    return left;
  }

  private compareOp(): (Token & { type: "punct" }) | undefined {
    const t = this.peek();
    return t.type === "punct" && COMPARE_OPS.has(t.value) ? t : undefined;
  }

  private parseComparison(): Expr {
    const first = this.parseIn();
    const op1 = this.compareOp();
    if (!op1) return first;
    this.next();
    const second = this.parseIn();
    const op2 = this.compareOp();
    if (!op2) return this.node({ kind: "compare", op: op1.value as CompareOp, left: first, right: second }, op1.pos);

    const ascending = (op: string): op is RangeOp => op === "<" || op === "<=";
    const descending = (op: string): boolean => op === ">" || op === ">=";
    let range: Expr;
    if (ascending(op1.value) && ascending(op2.value)) {
      this.next();
      range = { kind: "range", lower: first, lowerOp: op1.value, operand: second, upperOp: op2.value, upper: this.parseIn() };
    } else if (descending(op1.value) && descending(op2.value)) {
      this.next();
      const flip = (op: string): RangeOp => (op === ">" ? "<" : "<=");
      range = { kind: "range", lower: this.parseIn(), lowerOp: flip(op2.value), operand: second, upperOp: flip(op1.value), upper: first };
    } else if (ascending(op1.value) || descending(op1.value)) {
      const want = ascending(op1.value) ? '"<" or "<="' : '">" or ">="';
      throw syntaxError(op2.pos, `expected ${want} to continue the range started by "${op1.value}", found "${op2.value}"`);
    } else {
      throw syntaxError(op2.pos, `expected "and" or "or" after a comparison (only ranges like 1 < x <= 2 chain), found "${op2.value}"`);
    }
    const extra = this.compareOp();
    if (extra) throw syntaxError(extra.pos, `expected "and" or "or" after a range, found "${extra.value}"`);
    return this.node(range, op2.pos);
  }

  private parseIn(): Expr {
    const operand = this.parseAdditive();
    const negated = this.isKeyword("not") && this.isKeyword("in", 1);
    if (!negated && !this.isKeyword("in")) return operand;
    if (negated) this.next();
    const inToken = this.next();
    const t = this.peek();
    let values: LiteralValue;
    if (t.type === "template") {
      this.next();
      values = this.templateValue(t);
      if (!Array.isArray(values)) {
        throw syntaxError(t.pos, `expected an array for template {${t.value}} after "${inToken.text}", found ${formatLiteral(values)}`);
      }
    } else if (t.type === "punct" && t.value === "[") {
      const before = this.floats;
      values = this.parseArrayLiteral();
      if (this.floats > before) {
        if (values.length > limit("filterInList")) throw syntaxError(t.pos, `expected ${limitText("filterInList")}, found ${values.length}`);
        return this.node({ kind: "in", operand, values, negated, float: true }, inToken.pos);
      }
    } else {
      throw syntaxError(t.pos, `expected a list like [1, 2] after "${inToken.text}", found ${describeToken(t)}`);
    }
    if (values.length > limit("filterInList")) throw syntaxError(t.pos, `expected ${limitText("filterInList")}, found ${values.length}`);
    return this.node({ kind: "in", operand, values, negated }, inToken.pos);
  }

  private parseAdditive(): Expr {
    let left = this.parseMultiplicative();
    for (let t = this.peek(); t.type === "punct" && (t.value === "+" || t.value === "-"); t = this.peek()) {
      this.next();
      left = this.node({ kind: "arith", op: t.value, left, right: this.parseMultiplicative() }, t.pos);
    }
    return left;
  }

  private parseMultiplicative(): Expr {
    let left = this.parseUnary();
    for (let t = this.peek(); t.type === "punct" && (t.value === "*" || t.value === "/" || t.value === "%"); t = this.peek()) {
      this.next();
      left = this.node({ kind: "arith", op: t.value, left, right: this.parseUnary() }, t.pos);
    }
    return left;
  }

  private parseUnary(): Expr {
    if (this.isKeyword("exists")) {
      const op = this.next();
      const operand = this.nested(op.pos, () => this.parsePrimary());
      if (operand.kind !== "field") throw syntaxError(op.pos, `expected a JSON field or key after "${op.text}", found ${formatExpr(operand)}`);
      return this.node({ kind: "exists", operand }, op.pos);
    }
    if (this.isKeyword("not") || this.isPunct("!")) {
      const op = this.next();
      return this.node({ kind: "not", operand: this.nested(op.pos, () => this.parseUnary()) }, op.pos);
    }
    if (this.isPunct("+")) {
      const op = this.next();
      const operand = this.nested(op.pos, () => this.parseUnary());
      if (operand.kind === "literal" && typeof operand.value !== "number" && typeof operand.value !== "bigint") {
        throw syntaxError(op.pos, `expected a number after "+", found ${formatLiteral(operand.value)}`);
      }
      return operand;
    }
    if (this.isPunct("-")) {
      const op = this.next();
      const operand = this.nested(op.pos, () => this.parseUnary());
      // Folding keeps `-5` a literal, so it is allowed wherever constants are required.
      if (operand.kind === "literal" && (typeof operand.value === "number" || typeof operand.value === "bigint")) {
        return { kind: "literal", value: -operand.value };
      }
      return this.node({ kind: "neg", operand }, op.pos);
    }
    return this.parsePower();
  }

  private parsePower(): Expr {
    const base = this.parsePostfix();
    if (!this.isPunct("**")) return base;
    const op = this.next();
    return this.node({ kind: "arith", op: "**", left: base, right: this.nested(op.pos, () => this.parseUnary()) }, op.pos);
  }

  private parsePostfix(): Expr {
    const operand = this.parsePrimary();
    if (this.isKeyword("like")) {
      const likeToken = this.next();
      const t = this.next();
      const pattern = t.type === "string" ? t.value : t.type === "template" ? this.templateValue(t) : undefined;
      if (typeof pattern !== "string") {
        throw syntaxError(t.pos, `expected a string pattern after "${likeToken.text}", found ${describeToken(t)}`);
      }
      return this.node({ kind: "like", operand, pattern }, likeToken.pos);
    }
    if (this.isKeyword("is")) {
      this.next();
      const negated = this.isKeyword("not");
      if (negated) this.next();
      const t = this.next();
      if (t.type !== "keyword" || t.value !== "null") {
        throw syntaxError(t.pos, `expected "null" after "is${negated ? " not" : ""}", found ${describeToken(t)}`);
      }
      return this.node({ kind: "isNull", operand, negated }, t.pos);
    }
    return operand;
  }

  private parsePrimary(): Expr {
    const t = this.peek();
    switch (t.type) {
      case "number":
        this.next();
        if (/^[0-9.]*[.eE]/.test(t.text) && !/^0[xXoObB]/.test(t.text)) this.floats++;
        return { kind: "literal", value: t.value };
      case "string":
        this.next();
        return { kind: "literal", value: t.value };
      case "template":
        this.next();
        return { kind: "literal", value: this.templateValue(t) };
      case "keyword":
        if (t.value === "true" || t.value === "false") {
          this.next();
          return { kind: "literal", value: t.value === "true" };
        }
        break;
      case "punct":
        if (t.value === "[") return { kind: "literal", value: this.parseArrayLiteral() };
        if (t.value === "(") {
          this.next();
          const inner = this.nested(t.pos, () => this.parseOr());
          this.expectPunct(")", `to close the "(" at position ${t.pos}`);
          return inner;
        }
        break;
      case "ident":
        this.next();
        if (this.isPunct("(") && t.value !== "$meta") return this.parseCall(t);
        return { kind: "field", name: t.value, path: this.parsePath() };
    }
    const prev = this.tokens[this.i - 1];
    const after = prev ? ` after "${prev.text}"` : "";
    throw syntaxError(t.pos, `expected a value${after}, found ${describeToken(t)}`);
  }

  private parseCall(nameToken: Token & { type: "ident" }): Expr {
    const fn = nameToken.value.toLowerCase();
    if (!Object.hasOwn(FUNCTION_ARITY, fn)) {
      throw syntaxError(nameToken.pos, `expected a function name (${FUNCTION_NAMES.join(", ")}), found ${describeToken(nameToken)}`);
    }
    const name = fn as FunctionName;
    this.next();
    const args: Expr[] = [];
    if (!this.isPunct(")")) {
      for (;;) {
        args.push(this.nested(nameToken.pos, () => this.parseOr()));
        if (!this.isPunct(",")) break;
        this.next();
      }
    }
    const close = this.expectPunct(")", `or "," in the arguments of ${name}`);
    const arity = FUNCTION_ARITY[name];
    if (args.length !== arity) {
      throw syntaxError(close.pos, `expected ${arity} argument${arity === 1 ? "" : "s"} for ${name}, found ${args.length}`);
    }
    return this.node({ kind: "call", fn: name, args }, nameToken.pos);
  }

  private parsePath(): PathKey[] {
    const path: PathKey[] = [];
    while (this.isPunct("[")) {
      this.next();
      const t = this.next();
      const key = t.type === "string" || t.type === "number" ? t.value : t.type === "template" ? this.templateValue(t) : undefined;
      if (typeof key === "string" || (typeof key === "number" && Number.isInteger(key) && key >= 0)) {
        path.push(key);
      } else {
        throw syntaxError(t.pos, `expected a string key or a non-negative integer index inside [ ], found ${describeToken(t)}`);
      }
      this.expectPunct("]", "to close the element access");
    }
    return path;
  }

  /** Parses `[c, c, ...]` where every element is a constant; a trailing comma is allowed. */
  private parseArrayLiteral(): LiteralValue[] {
    const open = this.next();
    const items: LiteralValue[] = [];
    while (!this.isPunct("]")) {
      items.push(this.parseConstant());
      if (!this.isPunct(",")) break;
      this.next();
    }
    this.expectPunct("]", `or "," in the array starting at position ${open.pos}`);
    return items;
  }

  /** An array element: a constant, or arithmetic on constants, folded as Milvus does (`[300/2, -10*30+800]`). */
  private parseConstant(): LiteralValue {
    const t = this.peek();
    const wanted = "a constant (number, string, boolean, array, or arithmetic on numbers) in the array";
    if (t.type === "punct" && t.value === "[") return this.nested(t.pos, () => this.parseArrayLiteral());
    const starts = t.type === "number" || t.type === "string" || t.type === "template" || t.type === "ident";
    const startsPunct = t.type === "punct" && (t.value === "-" || t.value === "+" || t.value === "(");
    if (!starts && !startsPunct && !this.isKeyword("true") && !this.isKeyword("false")) throw syntaxError(t.pos, `expected ${wanted}, found ${describeToken(t)}`);
    const expr = this.nested(t.pos, () => this.parseAdditive());
    const value = fold(expr, t.pos);
    if (value === undefined) throw syntaxError(t.pos, `expected ${wanted}, found ${formatExpr(expr)}`);
    return value;
  }

  private templateValue(t: Token & { type: "template" }): LiteralValue {
    if (!this.params || !Object.hasOwn(this.params, t.value)) {
      throw syntaxError(t.pos, `expected a value for template {${t.value}} in the params, found none`);
    }
    const convert = (v: unknown, depth: number): LiteralValue => {
      if (typeof v === "string" || typeof v === "boolean") return v;
      if (typeof v === "number" && Number.isFinite(v)) return v;
      if (typeof v === "bigint") return int64Of(v) ?? v;
      if (Array.isArray(v)) {
        if (depth > limit("filterDepth")) this.tooDeep(t.pos);
        return v.map((x) => convert(x, depth + 1));
      }
      const found = v === null ? "null" : typeof v === "number" ? String(v) : `a value of type ${typeof v}`;
      throw syntaxError(t.pos, `expected a number, string, boolean or array for template {${t.value}}, found ${found}`);
    };
    return convert(this.params[t.value], this.nesting + 1);
  }
}

/**
 * The value of an expression made of constants only, or undefined. Numbers
 * fold as the evaluator computes them; integers beyond 2^53 (bigint) fold
 * exactly with + - * and integer / and %. Division by zero is refused.
 */
function fold(e: Expr, pos: number): LiteralValue | undefined {
  if (e.kind === "literal") return e.value;
  if (e.kind === "neg") {
    const v = fold(e.operand, pos);
    return typeof v === "number" || typeof v === "bigint" ? -v : undefined;
  }
  if (e.kind !== "arith") return undefined;
  const a = fold(e.left, pos);
  const b = fold(e.right, pos);
  if ((typeof a !== "number" && typeof a !== "bigint") || (typeof b !== "number" && typeof b !== "bigint")) return undefined;
  if ((e.op === "/" || e.op === "%") && Number(b) === 0) throw syntaxError(pos, `expected a non-zero divisor, found ${formatExpr(e)}`);
  if (typeof a === "bigint" || typeof b === "bigint") {
    if (e.op !== "**" && (typeof a === "bigint" || Number.isInteger(a)) && (typeof b === "bigint" || Number.isInteger(b))) {
      const [x, y] = [BigInt(a), BigInt(b)];
      const v = e.op === "+" ? x + y : e.op === "-" ? x - y : e.op === "*" ? x * y : e.op === "/" ? x / y : x % y;
      return int64Of(v) ?? v;
    }
    return undefined;
  }
  const v = NUMBER_ARITH[e.op](a, b);
  return Number.isFinite(v) ? v : undefined;
}
