// The independent filter reference shared by the filter property test and
// the storage tests that need an oracle for filtered reads: random well-typed
// filter trees over FILTER_SCHEMA, rendered to filter text with random
// spelling (bases, quotes, keyword case, symbols, parentheses, templates), and
// `refBool`, an evaluator that walks the generated tree directly. Nothing here
// reaches the parser or engine/filter-eval.ts, so it can judge them.
import type { Row } from "../../protocol/rows.js";
import type { CollectionSchema } from "../../protocol/schema.js";

export const FILTER_SCHEMA: CollectionSchema = {
  enable_dynamic_field: true,
  fields: [
    { name: "id", type: "Int64", is_primary: true },
    { name: "age", type: "Int32" },
    { name: "score", type: "Double" },
    { name: "name", type: "VarChar", max_length: 32 },
    { name: "flag", type: "Bool" },
    { name: "meta", type: "JSON" },
    { name: "tags", type: "Array", element_type: "Int64", max_capacity: 4 },
    { name: "rank", type: "Int32", nullable: true },
    { name: "vec", type: "FloatVector", dim: 2 },
  ],
};

type Key = string | number;
type CmpOp = "==" | "!=" | "<" | "<=" | ">" | ">=";
type ArithOp = "+" | "-" | "*" | "/" | "%" | "**";

/**
 * A reference into JSON data: `meta[...]` or the dynamic field (`key[...]` or `$meta["key"][...]`);
 * or the typed Array<Int64> field, whole (`tags`) or one element (`tags[i]`).
 */
type Ref = { src: "meta"; path: Key[] } | { src: "dyn"; path: Key[]; viaMeta: boolean } | { src: "tags"; path: [] | [number] };

type Num =
  | { k: "lit"; v: number | bigint }
  | { k: "col"; name: "id" | "age" | "score" | "rank" }
  | { k: "ref"; ref: Ref }
  | { k: "arith"; op: ArithOp; l: Num; r: Num }
  | { k: "neg"; x: Num }
  | { k: "len"; ref: Ref };

type Str = { k: "lit"; v: string } | { k: "name" } | { k: "ref"; ref: Ref };

export type Bool =
  | { k: "lit"; v: boolean }
  | { k: "flag" }
  | { k: "dynBool" }
  | { k: "boolEq"; op: "==" | "!="; l: "flag" | "dynBool"; v: boolean }
  | { k: "ncmp"; op: CmpOp; l: Num; r: Num }
  | { k: "scmp"; op: CmpOp; l: Str; r: Str }
  | { k: "range"; lo: Num; lop: "<" | "<="; x: Num; hop: "<" | "<="; hi: Num; reversed: boolean }
  | { k: "in"; x: Num | Str; isStr: boolean; vals: (number | bigint | string)[]; neg: boolean }
  | { k: "like"; x: Str; pattern: string }
  | { k: "isNull"; ref: Ref | "meta" | "name" | "rank" | "tags"; neg: boolean }
  | { k: "exists"; ref: Ref }
  | { k: "contains"; fn: string; ref: Ref; arg: (number | string)[] | number | string }
  | { k: "not"; x: Bool }
  | { k: "and" | "or"; l: Bool; r: Bool };


const BIG = 2n ** 60n;
const NAMES = ["", "a", "ab", "abc", "b_c", "a%c", "Bob", "bob", "é", "😀x", 'q"t', "it's", "back\\slash"];
const STRINGS = ["a", "ab", "b", "Bob", "x", "é", "😀x", "", 'q"t', "it's"];
const FLOATS = [-1.5, 0, 0.5, 2.5, 10, 0.001];

// Binding levels of the grammar, loosest first.
const P = { or: 1, and: 2, cmp: 3, in: 4, add: 5, mul: 6, unary: 7, pow: 8, postfix: 9, atom: 10 };

export interface FilterGenerator {
  /** A row of FILTER_SCHEMA with dynamic keys in `$meta`, its `vec` a placeholder. */
  row(): Row;
  /** A boolean tree of at most `depth` nested logical operators. */
  filter(depth: number): Bool;
  /** The tree as filter text, with the values of any `{template}` it uses. */
  render(tree: Bool): { text: string; params: Record<string, unknown> };
}

/** Generators drawing from `rand`; `templates: false` for reads that take filter text without params. */
export function filterGenerator(rand: () => number, { templates = true } = {}): FilterGenerator {
  const chance = (p: number): boolean => rand() < p;
  const int = (lo: number, hi: number): number => lo + Math.floor(rand() * (hi - lo + 1));
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)];

  // ---------------------------------------------------------------- rows

  function genRow(): Row {
    const row: Row = {
      id: chance(0.2) ? BIG + BigInt(int(0, 3)) : int(0, 20),
      age: int(-5, 50),
      score: pick(FLOATS),
      name: pick(NAMES),
      flag: chance(0.5),
      tags: Array.from({ length: int(0, 4) }, () => int(0, 4)),
      rank: chance(0.3) ? null : int(-5, 50),
      vec: [0, 0],
    };
    if (!chance(0.1)) row.meta = chance(0.1) ? null : genMeta();
    if (!chance(0.15)) {
      const dyn: Record<string, unknown> = {};
      if (chance(0.8)) dyn.color = chance(0.85) ? pick(STRINGS) : int(0, 3);
      if (chance(0.8)) dyn.n = chance(0.8) ? int(-3, 10) : chance(0.5) ? "7" : 5n;
      if (chance(0.8)) dyn.ok = chance(0.85) ? chance(0.5) : 1;
      if (chance(0.5)) dyn.list = genTags();
      row.$meta = dyn;
    }
    return row;
  }

  function genMeta(): Record<string, unknown> {
    const m: Record<string, unknown> = {};
    if (chance(0.85)) m.a = chance(0.7) ? pick([int(-3, 30), pick(FLOATS)]) : chance(0.5) ? pick(STRINGS) : null;
    if (chance(0.8)) m.s = chance(0.8) ? pick(STRINGS) : int(0, 5);
    if (chance(0.8)) m.tags = chance(0.9) ? genTags() : "not an array";
    if (chance(0.6)) m.b = { c: int(0, 5) };
    return m;
  }

  function genTags(): unknown[] {
    return Array.from({ length: int(0, 4) }, () => (chance(0.6) ? (chance(0.1) ? 2n : int(0, 4)) : pick(["x", "y", "z"])));
  }

  // ---------------------------------------------------------------- expressions

  function genRef(kind: "num" | "str" | "list"): Ref {
    if (kind === "list") {
      const r = rand();
      return r < 0.4 ? { src: "meta", path: ["tags"] } : r < 0.7 ? { src: "tags", path: [] } : { src: "dyn", path: ["list"], viaMeta: chance(0.5) };
    }
    if (kind === "num" && chance(0.15)) return { src: "tags", path: [int(0, 4)] };
    if (chance(0.6)) {
      const path: Key[] = kind === "num" ? pick([["a"], ["b", "c"], ["tags", int(0, 2)], ["s"]]) : pick([["s"], ["a"], ["tags", 0]]);
      return { src: "meta", path };
    }
    return { src: "dyn", path: [kind === "num" ? pick(["n", "n", "color"]) : pick(["color", "color", "n"])], viaMeta: chance(0.3) };
  }

  function genNumLit(): number | bigint {
    const r = rand();
    if (r < 0.6) return int(-5, 40);
    if (r < 0.85) return pick(FLOATS);
    return BIG + BigInt(int(-1, 4));
  }

  function genNum(depth: number): Num {
    const r = rand();
    if (depth <= 0 || r < 0.5) {
      const leaf = rand();
      if (leaf < 0.3) return { k: "lit", v: genNumLit() };
      if (leaf < 0.7) return { k: "col", name: pick(["id", "age", "age", "score", "rank"] as const) };
      if (leaf < 0.93) return { k: "ref", ref: genRef("num") };
      return { k: "len", ref: genRef("list") };
    }
    if (r < 0.9) {
      const op = pick(["+", "-", "*", "/", "%", "+", "-", "*", "**"] as const);
      // Small literal exponents keep ** away from overflow; the divisor is sometimes 0 on purpose.
      const right: Num = op === "**" ? { k: "lit", v: int(0, 3) } : chance(0.15) ? { k: "lit", v: 0 } : genNum(depth - 1);
      return { k: "arith", op, l: genNum(depth - 1), r: right };
    }
    return { k: "neg", x: genNum(depth - 1) };
  }

  function genStr(): Str {
    const r = rand();
    if (r < 0.4) return { k: "name" };
    if (r < 0.7) return { k: "lit", v: pick(STRINGS) };
    return { k: "ref", ref: genRef("str") };
  }

  function genPattern(): string {
    let p = "";
    for (let i = int(0, 4); i > 0; i--) p += pick(["a", "b", "c", "%", "_", "\\%", "\\_", "é", "😀", "B", "'"]);
    return p;
  }

  const CMP_OPS: CmpOp[] = ["==", "!=", "<", "<=", ">", ">="];

  function genBool(depth: number): Bool {
    const r = rand();
    if (depth > 0 && r < 0.35) {
      const c = rand();
      if (c < 0.25) return { k: "not", x: genBool(depth - 1) };
      return { k: c < 0.65 ? "and" : "or", l: genBool(depth - 1), r: genBool(depth - 1) };
    }
    const leaf = rand();
    if (leaf < 0.25) return { k: "ncmp", op: pick(CMP_OPS), l: genNum(2), r: genNum(1) };
    if (leaf < 0.37) return { k: "scmp", op: pick(CMP_OPS), l: genStr(), r: genStr() };
    if (leaf < 0.45) {
      return { k: "range", lo: genNum(0), lop: pick(["<", "<="] as const), x: genNum(1), hop: pick(["<", "<="] as const), hi: genNum(0), reversed: chance(0.5) };
    }
    if (leaf < 0.55) {
      const isStr = chance(0.4);
      const x = isStr ? genStr() : genNum(1);
      // An integer field refuses a list written with floats (as Milvus): its lists hold whole numbers.
      const integerField = x.k === "col" && x.name !== "score";
      const whole = (v: number | bigint) => (typeof v === "number" && integerField ? Math.trunc(v) : v);
      const vals = Array.from({ length: int(0, 4) }, () => (isStr ? pick(STRINGS) : whole(genNumLit())));
      return { k: "in", x, isStr, vals, neg: chance(0.4) };
    }
    if (leaf < 0.65) return { k: "like", x: genStr(), pattern: genPattern() };
    if (leaf < 0.69) {
      const ref = pick(["meta", "name", "rank", "tags", "ref", "ref"] as const);
      return { k: "isNull", ref: ref === "ref" ? genRef(pick(["num", "str"] as const)) : ref, neg: chance(0.5) };
    }
    if (leaf < 0.72) {
      // A key of the JSON field or of the dynamic field (exists takes JSON only).
      let ref = genRef(pick(["num", "str", "list"] as const));
      while (ref.src === "tags") ref = genRef(pick(["num", "str"] as const));
      return { k: "exists", ref };
    }
    if (leaf < 0.82) {
      const ref = genRef("list");
      // Both spellings work on both kinds of field (as Milvus); the typed field takes Int64 elements only.
      const typed = ref.src === "tags";
      const fn = pick(["array_contains", "array_contains_all", "array_contains_any", "json_contains", "json_contains_all", "json_contains_any"]);
      const elem = (): number | string => (typed || chance(0.6) ? int(0, 4) : pick(["x", "y", "z"]));
      const arg = fn.endsWith("_all") || fn.endsWith("_any") ? Array.from({ length: int(0, 3) }, elem) : elem();
      return { k: "contains", fn, ref, arg };
    }
    if (leaf < 0.88) return { k: "boolEq", op: pick(["==", "!="] as const), l: pick(["flag", "dynBool"] as const), v: chance(0.5) };
    if (leaf < 0.94) return { k: pick(["flag", "dynBool"] as const) };
    return { k: "lit", v: chance(0.5) };
  }

  // ---------------------------------------------------------------- rendering

  class Renderer {
    readonly params: Record<string, unknown> = {};
    private named = 0;

    private kw(word: string): string {
      return pick([word, word.toUpperCase(), word[0].toUpperCase() + word.slice(1)]);
    }

    private wrap(text: string, prec: number, min: number): string {
      return prec < min || chance(0.05) ? `(${text})` : text;
    }

    private template(value: unknown): string | undefined {
      if (!templates || !chance(0.08)) return undefined;
      const name = `p${this.named++}`;
      this.params[name] = value;
      return `{${name}}`;
    }

    private number(v: number | bigint): [string, number] {
      const t = this.template(v);
      if (t) return [t, P.atom];
      const negative = v < 0;
      const abs = negative ? -v : v;
      let text: string;
      if (typeof abs === "bigint" || Number.isInteger(abs)) {
        const n = BigInt(abs);
        text = pick([n.toString(), n.toString(), `0x${n.toString(16)}`, `0o${n.toString(8)}`, `0b${n.toString(2)}`, n === 0n ? "0" : `0${n.toString(8)}`]);
      } else {
        text = String(abs);
      }
      return negative ? [`-${text}`, P.unary] : [text, P.atom];
    }

    string(v: string): string {
      const t = this.template(v);
      if (t) return t;
      const q = pick(['"', "'"]);
      let out = "";
      for (const c of v) {
        if (c === q || c === "\\") out += "\\" + c;
        else if (c === "é" && chance(0.5)) out += "\\u00e9";
        else out += c;
      }
      return q + out + q;
    }

    private pattern(p: string): string {
      // Either spelling of the wildcard escape reaches the pattern as backslash + wildcard.
      return this.string(p).replace(/\\\\([%_])/g, (m, w: string) => (chance(0.5) ? `\\${w}` : m));
    }

    private ref(ref: Ref): string {
      const path = (keys: Key[]): string => keys.map((k) => `[${typeof k === "string" ? JSON.stringify(k) : k}]`).join("");
      if (ref.src === "meta") return `meta${path(ref.path)}`;
      if (ref.src === "tags") return `tags${path(ref.path)}`;
      const [first, ...rest] = ref.path;
      return ref.viaMeta ? `$meta${path(ref.path)}` : `${first}${path(rest)}`;
    }

    num(e: Num, min: number): string {
      const [text, prec] = this.numRaw(e);
      return this.wrap(text, prec, min);
    }

    private numRaw(e: Num): [string, number] {
      switch (e.k) {
        case "lit":
          return this.number(e.v);
        case "col":
          return [e.name, P.atom];
        case "ref":
          return [this.ref(e.ref), P.atom];
        case "len":
          return [`${pick(["array_length", "ARRAY_LENGTH"])}(${this.ref(e.ref)})`, P.atom];
        case "neg":
          return [`-${this.num(e.x, P.unary)}`, P.unary];
        case "arith":
          if (e.op === "**") return [`${this.num(e.l, P.postfix)} ** ${this.num(e.r, P.unary)}`, P.pow];
          if (e.op === "+" || e.op === "-") return [`${this.num(e.l, P.add)} ${e.op} ${this.num(e.r, P.mul)}`, P.add];
          return [`${this.num(e.l, P.mul)} ${e.op} ${this.num(e.r, P.unary)}`, P.mul];
      }
    }

    private str(e: Str): string {
      if (e.k === "lit") return this.string(e.v);
      return e.k === "name" ? "name" : this.ref(e.ref);
    }

    private literalList(vals: (number | bigint | string)[]): string {
      const t = this.template(vals);
      if (t) return t;
      return `[${vals.map((v) => (typeof v === "string" ? this.string(v) : this.number(v)[0])).join(", ")}${vals.length && chance(0.2) ? "," : ""}]`;
    }

    bool(e: Bool, min: number): string {
      const [text, prec] = this.boolRaw(e);
      return this.wrap(text, prec, min);
    }

    private boolRaw(e: Bool): [string, number] {
      switch (e.k) {
        case "lit":
          return [this.kw(String(e.v)), P.atom];
        case "flag":
          return ["flag", P.atom];
        case "dynBool":
          return [chance(0.5) ? "ok" : `$meta["ok"]`, P.atom];
        case "boolEq":
          return [`${e.l === "flag" ? "flag" : "ok"} ${e.op} ${this.kw(String(e.v))}`, P.cmp];
        case "ncmp":
          return [`${this.num(e.l, P.in)} ${e.op} ${this.num(e.r, P.in)}`, P.cmp];
        case "scmp":
          return [`${this.str(e.l)} ${e.op} ${this.str(e.r)}`, P.cmp];
        case "range": {
          const flip = (op: string): string => (op === "<" ? ">" : ">=");
          const text = e.reversed
            ? `${this.num(e.hi, P.in)} ${flip(e.hop)} ${this.num(e.x, P.in)} ${flip(e.lop)} ${this.num(e.lo, P.in)}`
            : `${this.num(e.lo, P.in)} ${e.lop} ${this.num(e.x, P.in)} ${e.hop} ${this.num(e.hi, P.in)}`;
          return [text, P.cmp];
        }
        case "in": {
          const x = e.isStr ? this.str(e.x as Str) : this.num(e.x as Num, P.add);
          return [`${x} ${e.neg ? `${this.kw("not")} ${this.kw("in")}` : this.kw("in")} ${this.literalList(e.vals)}`, P.in];
        }
        case "like":
          return [`${this.str(e.x)} ${this.kw("like")} ${this.pattern(e.pattern)}`, P.postfix];
        case "isNull": {
          const target = typeof e.ref === "string" ? e.ref : this.ref(e.ref);
          return [`${target} ${this.kw("is")} ${e.neg ? this.kw("not") + " " : ""}${this.kw("null")}`, P.postfix];
        }
        case "exists":
          return [`${chance(0.3) ? "EXISTS" : "exists"} ${this.ref(e.ref)}`, P.unary];
        case "contains": {
          const arg = Array.isArray(e.arg) ? this.literalList(e.arg) : typeof e.arg === "string" ? this.string(e.arg) : this.number(e.arg)[0];
          return [`${chance(0.3) ? e.fn.toUpperCase() : e.fn}(${this.ref(e.ref)}, ${arg})`, P.atom];
        }
        case "not":
          return [`${chance(0.5) ? this.kw("not") + " " : "!"}${this.bool(e.x, P.unary)}`, P.unary];
        case "and":
          return [`${this.bool(e.l, P.and)} ${chance(0.7) ? this.kw("and") : "&&"} ${this.bool(e.r, P.cmp)}`, P.and];
        case "or":
          return [`${this.bool(e.l, P.or)} ${chance(0.7) ? this.kw("or") : "||"} ${this.bool(e.r, P.and)}`, P.or];
      }
    }
  }

  return {
    row: genRow,
    filter: genBool,
    render(tree) {
      const renderer = new Renderer();
      const text = renderer.bool(tree, 0);
      return { text, params: renderer.params };
    },
  };
}

// ---------------------------------------------------------------- reference evaluator

const isNum = (v: unknown): v is number | bigint => typeof v === "number" || typeof v === "bigint";

/** Exact order of two numbers of either representation, without relying on mixed-type operators. */
function numOrder(a: number | bigint, b: number | bigint): number {
  if (typeof a === "number" && typeof b === "number") return a < b ? -1 : a > b ? 1 : a === b ? 0 : NaN;
  if (typeof a === "bigint" && typeof b === "bigint") return a < b ? -1 : a > b ? 1 : 0;
  if (typeof a === "bigint") return -numOrder(b, a);
  const n = a as number;
  const big = b as bigint;
  if (Number.isNaN(n)) return NaN;
  if (!Number.isFinite(n)) return n > 0 ? 1 : -1;
  const floor = BigInt(Math.floor(n));
  if (floor !== big) return floor < big ? -1 : 1;
  return n > Math.floor(n) ? 1 : 0;
}

function refEquals(a: unknown, b: unknown): boolean | undefined {
  if (a === null || a === undefined || b === null || b === undefined) return undefined;
  if (isNum(a) && isNum(b)) return numOrder(a, b) === 0;
  if (typeof a === "string" && typeof b === "string") return a === b;
  if (typeof a === "boolean" && typeof b === "boolean") return a === b;
  return undefined;
}

function refCompare(op: CmpOp, a: unknown, b: unknown): boolean {
  if (op === "==") return refEquals(a, b) === true;
  if (op === "!=") return refEquals(a, b) === false;
  let o: number;
  if (isNum(a) && isNum(b)) o = numOrder(a, b);
  else if (typeof a === "string" && typeof b === "string") o = a === b ? 0 : a < b ? -1 : 1;
  else return false;
  if (Number.isNaN(o)) return false;
  return op === "<" ? o < 0 : op === "<=" ? o <= 0 : op === ">" ? o > 0 : o >= 0;
}

function refLookup(row: Row, ref: Ref): unknown {
  let v: unknown = ref.src === "meta" ? row.meta : ref.src === "tags" ? row.tags : row.$meta;
  for (const key of ref.path) {
    if (typeof key === "number") v = Array.isArray(v) ? v[key] : undefined;
    else v = v !== null && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>)[key] : undefined;
  }
  return v;
}

function refNum(e: Num, row: Row): unknown {
  switch (e.k) {
    case "lit":
      return e.v;
    case "col":
      return row[e.name];
    case "ref":
      return refLookup(row, e.ref);
    case "len": {
      const v = refLookup(row, e.ref);
      return Array.isArray(v) ? v.length : null;
    }
    case "neg": {
      const folded = negatedLiteral(e);
      if (folded !== undefined) return folded;
      const v = refNum(e.x, row);
      return isNum(v) ? -Number(v) : null;
    }
    case "arith": {
      const a = refNum(e.l, row);
      const b = refNum(e.r, row);
      if (!isNum(a) || !isNum(b)) return null;
      const x = Number(a);
      const y = Number(b);
      if ((e.op === "/" || e.op === "%") && y === 0) return null;
      const v = e.op === "+" ? x + y : e.op === "-" ? x - y : e.op === "*" ? x * y : e.op === "/" ? x / y : e.op === "%" ? x % y : x ** y;
      return Number.isNaN(v) ? null : v;
    }
  }
}

/** `-<literal>` is itself a literal (also when nested), so a big one keeps its exact value. */
function negatedLiteral(e: Num): number | bigint | undefined {
  if (e.k === "lit") return e.v;
  if (e.k !== "neg") return undefined;
  const inner = negatedLiteral(e.x);
  return inner === undefined ? undefined : -inner;
}

function refStr(e: Str, row: Row): unknown {
  return e.k === "lit" ? e.v : e.k === "name" ? row.name : refLookup(row, e.ref);
}

/** Memoised LIKE over code points, independent of engine/like-pattern.ts. */
export function refLike(value: string, pattern: string): boolean {
  type Item = { any: true } | { one: true } | { ch: string };
  const items: Item[] = [];
  const p = Array.from(pattern);
  for (let i = 0; i < p.length; i++) {
    if (p[i] === "\\" && i + 1 < p.length) items.push({ ch: p[++i] });
    else if (p[i] === "%") items.push({ any: true });
    else if (p[i] === "_") items.push({ one: true });
    else items.push({ ch: p[i] });
  }
  const s = Array.from(value);
  const memo = new Map<string, boolean>();
  const go = (i: number, j: number): boolean => {
    const key = `${i},${j}`;
    const hit = memo.get(key);
    if (hit !== undefined) return hit;
    let r: boolean;
    if (j === items.length) r = i === s.length;
    else {
      const it = items[j];
      if ("any" in it) r = go(i, j + 1) || (i < s.length && go(i + 1, j));
      else if ("one" in it) r = i < s.length && go(i + 1, j + 1);
      else r = i < s.length && s[i] === it.ch && go(i + 1, j + 1);
    }
    memo.set(key, r);
    return r;
  };
  return go(0, 0);
}

function dynOk(row: Row): unknown {
  return (row.$meta as Record<string, unknown> | undefined)?.ok;
}

/** Whether `row` passes the filter `e`, by the semantics engine/filter-eval.ts documents, written out independently. */
export function refBool(e: Bool, row: Row): boolean {
  switch (e.k) {
    case "lit":
      return e.v;
    case "flag":
      return row.flag === true;
    case "dynBool":
      return dynOk(row) === true;
    case "boolEq":
      return refCompare(e.op, e.l === "flag" ? row.flag : dynOk(row), e.v);
    case "ncmp":
      return refCompare(e.op, refNum(e.l, row), refNum(e.r, row));
    case "scmp":
      return refCompare(e.op, refStr(e.l, row), refStr(e.r, row));
    case "range": {
      const x = refNum(e.x, row);
      return refCompare(e.lop, refNum(e.lo, row), x) && refCompare(e.hop, x, refNum(e.hi, row));
    }
    case "in": {
      const x = e.isStr ? refStr(e.x as Str, row) : refNum(e.x as Num, row);
      if (x === null || x === undefined) return false;
      const found = e.vals.some((v) => refEquals(x, v) === true);
      return e.neg ? !found : found;
    }
    case "like": {
      const x = refStr(e.x, row);
      return typeof x === "string" && refLike(x, e.pattern);
    }
    case "isNull": {
      const v = typeof e.ref === "string" ? row[e.ref] : refLookup(row, e.ref);
      return (v === null || v === undefined) !== e.neg;
    }
    case "exists":
      return refLookup(row, e.ref) !== undefined;
    case "contains": {
      const arr = refLookup(row, e.ref);
      if (!Array.isArray(arr)) return false;
      const has = (w: unknown): boolean => arr.some((x) => refEquals(x, w) === true);
      if (!Array.isArray(e.arg)) return has(e.arg);
      return e.fn.endsWith("_all") ? e.arg.every(has) : e.arg.some(has);
    }
    case "not":
      return !refBool(e.x, row);
    case "and":
      return refBool(e.l, row) && refBool(e.r, row);
    case "or":
      return refBool(e.l, row) || refBool(e.r, row);
  }
}

/** Values for failure messages: bigints marked, so a row can be rebuilt from the message. */
export const show = (v: unknown): string => JSON.stringify(v, (_k, x) => (typeof x === "bigint" ? `${x}n` : x));
