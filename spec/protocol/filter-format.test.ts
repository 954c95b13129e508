// formatExpr prints a filter tree back as text: the router sends a filter on
// in that form once its `{templates}` are filled (protocol/args.ts optFilter),
// and engine/filter-eval.ts names sub-expressions with it in type errors.
// The expected texts are written by hand; the round trip runs over the random
// filters of the independent reference generator (spec/reference/filter.ts).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { optFilter } from "../../protocol/args.js";
import { formatExpr, formatLiteral, parseFilter, type Expr, type LiteralValue } from "../../protocol/filter/index.js";
import { and, arith, cmp, f, lit, neg, not, or } from "./filter-trees.js";
import { filterGenerator } from "../reference/filter.js";
import { rng } from "../random.js";

const isNull = (operand: Expr, negated = false): Expr => ({ kind: "isNull", operand, negated });
const like = (operand: Expr, pattern: string): Expr => ({ kind: "like", operand, pattern });
const inList = (operand: Expr, values: LiteralValue[], negated = false): Expr => ({ kind: "in", operand, values, negated });
const [a, b, c] = [f("a"), f("b"), f("c")];
const BIG = 2n ** 60n;

/** The tree prints as `text`, and that text parses back to the same tree. */
function prints(tree: Expr, text: string): void {
  assert.equal(formatExpr(tree), text);
  assert.deepEqual(parseFilter(text), tree, `${text} parses back to the tree`);
}

describe("filter format", () => {
  it("filter format - literals print as the parser reads them: strings quoted and escaped, numbers and booleans bare", () => {
    prints(cmp("==", f("name"), lit("Bob")), 'name == "Bob"');
    prints(cmp("==", f("name"), lit('it\'s "q"\\')), 'name == "it\'s \\"q\\"\\\\"');
    prints(cmp("==", f("name"), lit("")), 'name == ""');
    prints(cmp("==", f("name"), lit("5")), 'name == "5"');
    prints(cmp("==", f("flag"), lit(true)), "flag == true");
    prints(cmp("<", f("score"), lit(0.5)), "score < 0.5");
    prints(cmp(">", f("id"), lit(BIG)), "id > 1152921504606846976");
    prints(cmp(">", f("id"), lit(-BIG)), "id > -1152921504606846976");
    assert.equal(formatLiteral([1, "a", false, [2, []], -BIG]), '[1, "a", false, [2, []], -1152921504606846976]');
    assert.equal(formatLiteral([]), "[]");
    assert.equal(formatLiteral("x"), '"x"');
    assert.equal(formatLiteral(BIG), "1152921504606846976");
  });

  it("filter format - a negative number is parenthesised only where a unary minus would bind looser", () => {
    prints(arith("**", lit(-2), a), "(-2) ** a");
    prints(arith("**", lit(-BIG), lit(2)), "(-1152921504606846976) ** 2");
    prints(arith("**", lit(2), a), "2 ** a");
    prints(arith("**", lit(BIG), a), "1152921504606846976 ** a");
    prints(arith("**", a, lit(-2)), "a ** -2");
    prints(isNull(lit(-1)), "(-1) is null");
    prints(isNull(lit(1)), "1 is null");
    prints(arith("*", lit(-3), a), "-3 * a");
    prints(arith("-", a, lit(-3)), "a - -3");
    // A string that starts with a minus is still a quoted atom.
    prints(like(lit("-x"), "-%"), '"-x" like "-%"');
  });

  it("filter format - element access prints string keys quoted and indexes bare, one bracket each", () => {
    prints(cmp("==", f("meta", "a", 0, "b c"), lit(1)), 'meta["a"][0]["b c"] == 1');
    prints(cmp("==", f("meta", "0"), f("meta", 0)), 'meta["0"] == meta[0]');
    prints(cmp("==", f("$meta", 'q"t'), lit(1)), '$meta["q\\"t"] == 1');
    prints(isNull(f("tags", 3)), "tags[3] is null");
    prints(cmp("==", f("plain"), lit(1)), "plain == 1");
  });

  it("filter format - is null, is not null, like and in print their keywords", () => {
    prints(isNull(f("rank")), "rank is null");
    prints(isNull(f("rank"), true), "rank is not null");
    prints(not(isNull(f("rank"), true)), "not rank is not null");
    prints(isNull(arith("+", a, b)), "(a + b) is null");
    prints(like(f("name"), "a\\%b_"), 'name like "a\\\\%b_"');
    prints(inList(f("age"), [1, 2]), "age in [1, 2]");
    prints(inList(f("age"), [], true), "age not in []");
    prints(inList(arith("+", a, lit(1)), ["x"]), 'a + 1 in ["x"]');
    prints(cmp("==", inList(a, [1]), lit(true)), "a in [1] == true");
    prints(inList(cmp("==", a, b), [true]), "(a == b) in [true]");
  });

  it("filter format - arithmetic keeps its grouping with the fewest parentheses", () => {
    prints(arith("-", a, arith("-", b, c)), "a - (b - c)");
    prints(arith("-", arith("-", a, b), c), "a - b - c");
    prints(arith("+", a, arith("+", b, c)), "a + (b + c)");
    prints(arith("+", a, arith("*", b, c)), "a + b * c");
    prints(arith("*", arith("+", a, b), c), "(a + b) * c");
    prints(arith("*", a, arith("+", b, c)), "a * (b + c)");
    prints(arith("-", arith("*", a, b), arith("/", b, c)), "a * b - b / c");
    prints(arith("/", a, arith("/", b, c)), "a / (b / c)");
    prints(arith("%", arith("%", a, b), c), "a % b % c");
    prints(arith("**", a, arith("**", b, c)), "a ** b ** c");
    prints(arith("**", arith("**", a, b), c), "(a ** b) ** c");
    prints(neg(arith("**", a, lit(2))), "-a ** 2");
    prints(arith("**", neg(a), lit(2)), "(-a) ** 2");
    prints(arith("-", a, neg(b)), "a - -b");
    prints(neg(neg(a)), "--a");
    prints(neg(arith("-", a, b)), "-(a - b)");
    prints(arith("*", neg(a), b), "-a * b");
    prints(arith("*", a, neg(b)), "a * -b");
  });

  it("filter format - comparisons, ranges, not, and, or and calls keep their grouping", () => {
    prints(or(a, and(b, c)), "a or b and c");
    prints(and(or(a, b), c), "(a or b) and c");
    prints(and(a, and(b, c)), "a and (b and c)");
    prints(or(a, or(b, c)), "a or (b or c)");
    prints(or(or(a, b), c), "a or b or c");
    prints(not(and(a, b)), "not (a and b)");
    prints(not(cmp("==", a, lit(1))), "not (a == 1)");
    prints(cmp("==", not(a), lit(1)), "not a == 1");
    prints(cmp("==", cmp("==", a, b), lit(true)), "(a == b) == true");
    prints({ kind: "range", lower: lit(-1), lowerOp: "<", operand: arith("+", a, b), upperOp: "<=", upper: lit(2) }, "-1 < a + b <= 2");
    prints({ kind: "call", fn: "json_contains_any", args: [f("meta", "tags"), lit(["x", 1])] }, 'json_contains_any(meta["tags"], ["x", 1])');
    prints({ kind: "call", fn: "array_contains", args: [f("tags"), or(a, b)] }, "array_contains(tags, a or b)");
    prints(cmp(">", { kind: "call", fn: "array_length", args: [f("tags")] }, lit(1)), "array_length(tags) > 1");
  });

  it("filter format - a filter with templates is sent on as plain text with the values in place", () => {
    assert.equal(
      optFilter({ filter: "age > {min} AND name IN {names} && tag like {p}", filter_params: { min: -3, names: ["a", 'b"c'], p: "x%" } }),
      'age > -3 and name in ["a", "b\\"c"] and tag like "x%"',
    );
    assert.equal(optFilter({ expr: "id == {big}", expr_params: { big: BIG } }), "id == 1152921504606846976");
  });

  it("filter format - 3000 random reference filters print to text that parses back to the same tree, and printing is stable", () => {
    const gen = filterGenerator(rng(0xf0a7), { templates: false });
    for (let n = 0; n < 3000; n++) {
      const { text } = gen.render(gen.filter(4));
      const tree = parseFilter(text);
      const printed = formatExpr(tree);
      assert.deepEqual(parseFilter(printed), tree, `case ${n}: ${text}\nprinted ${printed}`);
      assert.equal(formatExpr(parseFilter(printed)), printed, `case ${n}: printing is stable`);
    }
  });

  // String(-0) is "0": a literal -0 (from `-0` in a filter or a -0 template value) printed so would be sent
  // on as 0, which shows where the sign of zero matters: (-0) ** -1 is -Infinity, 0 ** -1 is Infinity.
  it("filter format - a literal negative zero keeps its sign", () => {
    const tree = arith("**", lit(-0), lit(-1));
    assert.equal(formatExpr(tree), "(-0) ** -1");
    assert.deepEqual(parseFilter(formatExpr(tree)), tree);
  });
});
