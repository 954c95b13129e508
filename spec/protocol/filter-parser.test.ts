import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { VecbusError } from "../../protocol/errors.js";
import { formatExpr, parseFilter, type Expr, type LiteralValue } from "../../protocol/filter/index.js";
import { and, arith, cmp, f, filterSyntaxError, lit, not, or } from "./filter-trees.js";


/** The literal on the right of `x == <text>`. */
const valueOf = (text: string, params?: Record<string, unknown>): LiteralValue => {
  const e = parseFilter(`x == ${text}`, params);
  assert.equal(e.kind, "compare");
  const right = (e as Expr & { kind: "compare" }).right;
  assert.equal(right.kind, "literal");
  return (right as Expr & { kind: "literal" }).value;
};

function syntaxError(text: string, position: number, ...fragments: string[]): void {
  assert.throws(
    () => parseFilter(text, { n: 1, s: "x" }),
    (err: unknown) => {
      assert.ok(err instanceof VecbusError, `expected VecbusError, got ${String(err)}`);
      assert.equal(err.code, "FILTER_SYNTAX");
      assert.ok(err.message.startsWith(`filter syntax error at position ${position}: `), err.message);
      for (const frag of fragments) assert.ok(err.message.includes(frag), `${JSON.stringify(err.message)} lacks ${JSON.stringify(frag)}`);
      return true;
    },
    text,
  );
}

describe("filter parser: literals", () => {
  it("reads integers in every base Milvus accepts", () => {
    assert.equal(valueOf("42"), 42);
    assert.equal(valueOf("0"), 0);
    assert.equal(valueOf("0x1F"), 31);
    assert.equal(valueOf("0XfF"), 255);
    assert.equal(valueOf("0o17"), 15);
    assert.equal(valueOf("0O17"), 15);
    assert.equal(valueOf("017"), 15);
    assert.equal(valueOf("00"), 0);
    assert.equal(valueOf("0b101"), 5);
    assert.equal(valueOf("0B11"), 3);
  });

  it("keeps integers beyond 2^53 exact as bigint", () => {
    assert.equal(valueOf("9007199254740991"), 9007199254740991);
    assert.equal(valueOf("9223372036854775807"), 9223372036854775807n);
    assert.equal(valueOf("-9223372036854775808"), -9223372036854775808n);
    assert.equal(valueOf("0x7FFFFFFFFFFFFFFF"), 9223372036854775807n);
  });

  it("reads floats", () => {
    assert.equal(valueOf("1.5"), 1.5);
    assert.equal(valueOf("1e3"), 1000);
    assert.equal(valueOf("1E-2"), 0.01);
    assert.equal(valueOf("2.5e+1"), 25);
    assert.equal(valueOf(".5"), 0.5);
    assert.equal(valueOf("2."), 2);
    assert.equal(valueOf("0.25"), 0.25);
    assert.equal(valueOf("-1.5"), -1.5);
  });

  it("reads strings in either quote with escapes", () => {
    assert.equal(valueOf(`"abc"`), "abc");
    assert.equal(valueOf(`'abc'`), "abc");
    assert.equal(valueOf(`"it's"`), "it's");
    assert.equal(valueOf(`'say "hi"'`), 'say "hi"');
    assert.equal(valueOf(String.raw`"a\"b"`), 'a"b');
    assert.equal(valueOf(String.raw`'a\'b'`), "a'b");
    assert.equal(valueOf(String.raw`"a\\b"`), "a\\b");
    assert.equal(valueOf(String.raw`"l1\nl2\tx\r"`), "l1\nl2\tx\r");
    assert.equal(valueOf(String.raw`"\u00e9\u4E2D"`), "é中");
    assert.equal(valueOf(`""`), "");
    // Unknown escapes keep their backslash so like patterns can use \% and \_.
    assert.equal(valueOf(String.raw`"50\%"`), "50\\%");
  });

  it("reads booleans in any case", () => {
    for (const t of ["true", "True", "TRUE"]) assert.equal(valueOf(t), true);
    for (const t of ["false", "False", "FALSE"]) assert.equal(valueOf(t), false);
  });

  it("reads array literals, nested, with negatives and a trailing comma", () => {
    assert.deepEqual(valueOf(`[1, 2, "a"]`), [1, 2, "a"]);
    assert.deepEqual(valueOf(`[]`), []);
    assert.deepEqual(valueOf(`[-1, 0x10, [true, 'b'], 1.5,]`), [-1, 16, [true, "b"], 1.5]);
  });
});

describe("filter parser: fields and access", () => {
  it("reads identifiers and $meta", () => {
    assert.deepEqual(parseFilter("_x1 == 1"), cmp("==", f("_x1"), lit(1)));
    assert.deepEqual(parseFilter(`$meta["k"] == 1`), cmp("==", f("$meta", "k"), lit(1)));
  });

  it("chains JSON keys and array indexes", () => {
    assert.deepEqual(parseFilter(`meta["a"]["b"] == "x"`), cmp("==", f("meta", "a", "b"), lit("x")));
    assert.deepEqual(parseFilter(`arr[0] > 1`), cmp(">", f("arr", 0), lit(1)));
    assert.deepEqual(parseFilter(`product['tags'][2] == 'x'`), cmp("==", f("product", "tags", 2), lit("x")));
    assert.deepEqual(parseFilter(`$meta["a"][0]["b"] != 2`), cmp("!=", f("$meta", "a", 0, "b"), lit(2)));
  });
});

describe("filter parser: comparisons", () => {
  it("parses every comparison operator", () => {
    for (const op of ["==", "!=", "<", "<=", ">", ">="] as const) {
      assert.deepEqual(parseFilter(`age ${op} 10`), cmp(op, f("age"), lit(10)));
    }
  });

  it("parses ascending and descending ranges to the same shape", () => {
    const expected: Expr = { kind: "range", lower: lit(10), lowerOp: "<", operand: f("age"), upperOp: "<=", upper: lit(20) };
    assert.deepEqual(parseFilter("10 < age <= 20"), expected);
    assert.deepEqual(parseFilter("20 >= age > 10"), expected);
    assert.deepEqual(parseFilter(`1 <= meta["x"] < 2`), {
      kind: "range", lower: lit(1), lowerOp: "<=", operand: f("meta", "x"), upperOp: "<", upper: lit(2),
    });
  });

  it("rejects ranges that change direction or chain equality", () => {
    syntaxError("10 < age > 5", 10, '"<" or "<="', 'found ">"');
    syntaxError("10 >= age <= 5", 11, '">" or ">="', 'found "<="');
    syntaxError("a == b == c", 8, 'found "=="');
    syntaxError("1 < a < 2 < 3", 11, 'found "<"');
  });

  it("parses in / not in with any keyword case", () => {
    assert.deepEqual(parseFilter(`color in ["red", "green", "blue"]`), {
      kind: "in", operand: f("color"), values: ["red", "green", "blue"], negated: false,
    });
    assert.deepEqual(parseFilter(`id NOT IN [1, 2]`), { kind: "in", operand: f("id"), values: [1, 2], negated: true });
    assert.deepEqual(parseFilter(`a + 1 In []`), { kind: "in", operand: arith("+", f("a"), lit(1)), values: [], negated: false });
  });

  it("parses like and keeps the pattern as written", () => {
    assert.deepEqual(parseFilter(`name LIKE "Prod%"`), { kind: "like", operand: f("name"), pattern: "Prod%" });
    assert.deepEqual(parseFilter(String.raw`name like '100\%_x'`), { kind: "like", operand: f("name"), pattern: "100\\%_x" });
  });

  it("parses is null / is not null", () => {
    assert.deepEqual(parseFilter("desc IS NULL"), { kind: "isNull", operand: f("desc"), negated: false });
    assert.deepEqual(parseFilter(`metadata["color"] is not null`), { kind: "isNull", operand: f("metadata", "color"), negated: true });
  });
});

describe("filter parser: logic and precedence", () => {
  it("accepts word and symbol forms of the logical operators", () => {
    const expected = or(and(f("a"), f("b")), not(f("c")));
    for (const t of ["a and b or not c", "a && b || !c", "a AND b Or NOT c"]) assert.deepEqual(parseFilter(t), expected, t);
  });

  it("binds and tighter than or", () => {
    assert.deepEqual(parseFilter("a or b and c"), or(f("a"), and(f("b"), f("c"))));
    assert.deepEqual(parseFilter("a and b or c and d"), or(and(f("a"), f("b")), and(f("c"), f("d"))));
    assert.deepEqual(parseFilter("(a or b) and c"), and(or(f("a"), f("b")), f("c")));
  });

  it("groups and/or chains from the left", () => {
    assert.deepEqual(parseFilter("a or b or c"), or(or(f("a"), f("b")), f("c")));
    assert.deepEqual(parseFilter("a and b and c"), and(and(f("a"), f("b")), f("c")));
  });

  it("binds not tighter than comparisons, as Milvus does", () => {
    assert.deepEqual(parseFilter("not a == 1 and b"), and(cmp("==", not(f("a")), lit(1)), f("b")));
    assert.deepEqual(parseFilter("not (a == 1) and b"), and(not(cmp("==", f("a"), lit(1))), f("b")));
    assert.deepEqual(parseFilter("!!a"), not(not(f("a"))));
  });

  it("binds comparisons tighter than and", () => {
    assert.deepEqual(parseFilter("a > 1 and b < 2"), and(cmp(">", f("a"), lit(1)), cmp("<", f("b"), lit(2))));
  });

  it("binds like and is null tighter than not", () => {
    assert.deepEqual(parseFilter(`not name like "a%"`), not({ kind: "like", operand: f("name"), pattern: "a%" }));
    assert.deepEqual(parseFilter("not x is null"), not({ kind: "isNull", operand: f("x"), negated: false }));
  });
});

describe("filter parser: arithmetic", () => {
  it("uses the usual precedence inside comparisons", () => {
    assert.deepEqual(parseFilter("age * 2 + 1 > 10"), cmp(">", arith("+", arith("*", f("age"), lit(2)), lit(1)), lit(10)));
    assert.deepEqual(parseFilter("a % 2 == 0"), cmp("==", arith("%", f("a"), lit(2)), lit(0)));
    assert.deepEqual(parseFilter("1 + a / 4 < b"), cmp("<", arith("+", lit(1), arith("/", f("a"), lit(4))), f("b")));
    assert.deepEqual(parseFilter("(1 + a) / 4 < b"), cmp("<", arith("/", arith("+", lit(1), f("a")), lit(4)), f("b")));
  });

  it("is left-associative except ** which is right-associative", () => {
    assert.deepEqual(parseFilter("a - b - c > 0"), cmp(">", arith("-", arith("-", f("a"), f("b")), f("c")), lit(0)));
    assert.deepEqual(parseFilter("2 ** 3 ** 2 > a"), cmp(">", arith("**", lit(2), arith("**", lit(3), lit(2))), f("a")));
  });

  it("handles unary minus: folded on literals, a node on fields, looser than **", () => {
    assert.deepEqual(parseFilter("-a > 1"), cmp(">", { kind: "neg", operand: f("a") }, lit(1)));
    assert.deepEqual(parseFilter("a * -1 < 0"), cmp("<", arith("*", f("a"), lit(-1)), lit(0)));
    assert.deepEqual(parseFilter("-2 ** 2 == a"), cmp("==", { kind: "neg", operand: arith("**", lit(2), lit(2)) }, f("a")));
    assert.deepEqual(parseFilter("a - -5 > 0"), cmp(">", arith("-", f("a"), lit(-5)), lit(0)));
  });
});

describe("filter parser: functions", () => {
  it("parses every function, case-insensitively", () => {
    assert.deepEqual(parseFilter("json_contains(x, 1)"), { kind: "call", fn: "json_contains", args: [f("x"), lit(1)] });
    assert.deepEqual(parseFilter(`JSON_CONTAINS_ALL(product["tags"], ["electronics", "sale"])`), {
      kind: "call", fn: "json_contains_all", args: [f("product", "tags"), lit(["electronics", "sale"])],
    });
    assert.deepEqual(parseFilter(`json_contains_any(tags, ["a", "b"])`), {
      kind: "call", fn: "json_contains_any", args: [f("tags"), lit(["a", "b"])],
    });
    assert.deepEqual(parseFilter("ARRAY_CONTAINS(history_temperatures, 23)"), {
      kind: "call", fn: "array_contains", args: [f("history_temperatures"), lit(23)],
    });
    assert.deepEqual(parseFilter("Array_Contains_All(a, [1, 2])"), { kind: "call", fn: "array_contains_all", args: [f("a"), lit([1, 2])] });
    assert.deepEqual(parseFilter("array_contains_any(a, [1])"), { kind: "call", fn: "array_contains_any", args: [f("a"), lit([1])] });
  });

  it("lets array_length stand in comparisons", () => {
    assert.deepEqual(parseFilter("array_length(tags) == 3"), cmp("==", { kind: "call", fn: "array_length", args: [f("tags")] }, lit(3)));
  });

  it("rejects unknown functions and wrong argument counts", () => {
    syntaxError("foo(1) == 2", 1, "expected a function name", 'found "foo"');
    syntaxError("json_contains(a)", 16, "expected 2 arguments for json_contains, found 1");
    syntaxError("array_length(a, b) == 1", 18, "expected 1 argument for array_length, found 2");
    syntaxError("array_contains(a 1)", 18, 'expected ")" or ","', 'found "1"');
  });
});

describe("filter parser: templates", () => {
  it("substitutes params anywhere a literal may stand", () => {
    const params = { min: 18, cities: ["NY", "LA"], pat: "a%", key: "k", flag: true, big: 2n ** 60n };
    assert.deepEqual(parseFilter("age > {min} and city in {cities}", params), and(
      cmp(">", f("age"), lit(18)),
      { kind: "in", operand: f("city"), values: ["NY", "LA"], negated: false },
    ));
    assert.deepEqual(parseFilter("name like {pat}", params), { kind: "like", operand: f("name"), pattern: "a%" });
    assert.deepEqual(parseFilter("m[{key}] == { flag }", params), cmp("==", f("m", "k"), lit(true)));
    assert.deepEqual(parseFilter("json_contains_any(t, {cities})", params), { kind: "call", fn: "json_contains_any", args: [f("t"), lit(["NY", "LA"])] });
    assert.deepEqual(parseFilter("x in [{min}, 2]", params), { kind: "in", operand: f("x"), values: [18, 2], negated: false });
    assert.equal(valueOf("{big}", params), 2n ** 60n);
    assert.equal(valueOf("{small}", { small: 7n }), 7);
  });

  it("reports a missing or unusable param by template name", () => {
    syntaxError("age > {min}", 7, "{min}", "found none");
    syntaxError("age > {n} and city in {s}", 23, "{s}", "expected an array");
    assert.throws(() => parseFilter("age > {o}", { o: { a: 1 } }), /position 7: .*template \{o\}, found a value of type object/);
    assert.throws(() => parseFilter("age > {x}", { x: null }), /template \{x\}, found null/);
    assert.throws(() => parseFilter("age > {x}", { x: Number.NaN }), /template \{x\}, found NaN/);
    assert.throws(() => parseFilter("age > {x}"), /template \{x\} in the params, found none/);
    syntaxError("age > {}", 8, "expected a template name");
  });
});

describe("filter parser: Milvus documentation examples", () => {
  const examples = [
    `color in ["red", "green", "blue"]`,
    `product["model"] == "JSN-087"`,
    `price >= 500 && price <= 1000`,
    `(price > 1000 or stock < 10) and not (color == "red")`,
    `history_temperatures[0] > 30`,
    `ARRAY_LENGTH(history_temperatures) < 10`,
    `json_contains(product["tags"], "sale")`,
    `JSON_CONTAINS_ANY(product["tags"], ["electronics", "new", "clearance"])`,
    `name LIKE "Prod%" and price * 0.9 < 100`,
    `500 <= price <= 1000 and stock % 2 == 0`,
    `metadata["color"] IS NOT NULL`,
    `$meta["dynamic_key"] != "x" or id not in [1, 2, 3]`,
  ];
  for (const text of examples) {
    it(`parses ${text} and prints it back to the same tree`, () => {
      const tree = parseFilter(text);
      assert.deepEqual(parseFilter(formatExpr(tree)), tree);
    });
  }

  it("prints the fewest parentheses that keep the tree", () => {
    assert.equal(formatExpr(parseFilter("((a or b)) and (c == 1)")), "(a or b) and c == 1");
    assert.equal(formatExpr(parseFilter("(-2) ** (a - 1) > -x")), "(-2) ** (a - 1) > -x");
    assert.equal(formatExpr(parseFilter("not (a == 1) && (b)")), "not (a == 1) and b");
  });
});

describe("filter parser: syntax errors", () => {
  it("reports the position, what was expected and what was found", () => {
    syntaxError("score ==", 9, 'expected a value after "=="', "found end of input");
    syntaxError("age > 5 6", 9, "expected an operator or end of input", 'found "6"');
    syntaxError("(age > 5", 9, 'expected ")" to close the "(" at position 1', "found end of input");
    syntaxError("age = 5", 5, 'expected "=="', 'found "="');
    syntaxError("a & b", 3, 'expected "&&"');
    syntaxError("a | b", 3, 'expected "||"');
    syntaxError("a in b", 6, "expected a list", 'found "b"');
    syntaxError("a like 5", 8, "expected a string pattern", 'found "5"');
    syntaxError("a is 5", 6, 'expected "null"', 'found "5"');
    syntaxError("a is not", 9, 'expected "null" after "is not"', "found end of input");
    syntaxError("x # 1", 3, 'found "#"');
    syntaxError(`name == "abc`, 9, 'expected a closing "', "found end of input");
    syntaxError(`a == "\\u12"`, 7, "expected 4 hex digits");
    syntaxError("a == 08", 7, "octal digit", 'found "8"');
    syntaxError("a == 0x", 8, "hex digits", "found end of input");
    syntaxError("a == 0b102", 6, 'found "0b102"');
    syntaxError("a == 12abc", 6, 'found "12abc"');
    syntaxError("a == 1e", 8, "exponent digits");
    syntaxError("a[1.5] == 1", 3, "non-negative integer index", 'found "1.5"');
    syntaxError("a[-1] == 1", 3, 'found "-"');
    syntaxError("a in [b]", 7, "expected a constant", "found b");
    syntaxError("a in [1 2]", 9, 'expected "]" or ","', 'found "2"');
    syntaxError("$foo == 1", 1, 'found "$foo"');
    syntaxError("a == null", 6, "expected a value", 'found "null"');
    syntaxError("and a", 1, "expected a value", 'found "and"');
    syntaxError("a > 1 and", 10, 'expected a value after "and"', "found end of input");
  });

  it("treats an empty or blank filter as a syntax error", () => {
    syntaxError("", 1, "expected a filter expression", "found end of input");
    syntaxError("   ", 4, "expected a filter expression");
  });
});

/** Asserts that parsing `text` fails with exactly this message (position included). */
const exactError = (text: string, position: number, message: string, params?: Record<string, unknown>): void =>
  filterSyntaxError(() => parseFilter(text, params), text, position, message);

describe("filter parser: token types", () => {
  it("strings - a string whose text is an operator or keyword stays a string value", () => {
    assert.deepEqual(parseFilter(`name == "not"`), cmp("==", f("name"), lit("not")));
    assert.deepEqual(parseFilter(`s == "!"`), cmp("==", f("s"), lit("!")));
    assert.deepEqual(parseFilter(`s == "-"`), cmp("==", f("s"), lit("-")));
    assert.deepEqual(parseFilter(`s == "("`), cmp("==", f("s"), lit("(")));
    assert.deepEqual(parseFilter(`array_length(")") == 1`), cmp("==", { kind: "call", fn: "array_length", args: [lit(")")] }, lit(1)));
    assert.deepEqual(parseFilter(`s in ["]", "-", "[", ")"]`), { kind: "in", operand: f("s"), values: ["]", "-", "[", ")"], negated: false });
  });

  it("strings - a string in operator position is not an operator", () => {
    exactError(`a "==" b`, 3, String.raw`expected an operator or end of input, found "\"==\""`);
    exactError(`a "+" b`, 3, String.raw`expected an operator or end of input, found "\"+\""`);
    exactError(`a "*" b`, 3, String.raw`expected an operator or end of input, found "\"*\""`);
    exactError(`a "or" b`, 3, String.raw`expected an operator or end of input, found "\"or\""`);
    exactError(`(s ")"`, 4, String.raw`expected ")" to close the "(" at position 1, found "\")\""`);
    exactError(`(s ]`, 4, 'expected ")" to close the "(" at position 1, found "]"');
    exactError(`a in "["`, 6, String.raw`expected a list like [1, 2] after "in", found "\"[\""`);
    exactError(`a NOT IN 5`, 10, 'expected a list like [1, 2] after "IN", found "5"');
  });
});

describe("filter parser: exact messages", () => {
  it("ranges - a chain must keep one direction and stop after two comparisons", () => {
    assert.deepEqual(parseFilter("3 > a >= 2"), { kind: "range", lower: lit(2), lowerOp: "<=", operand: f("a"), upperOp: "<", upper: lit(3) });
    exactError("10 < age > 5", 10, 'expected "<" or "<=" to continue the range started by "<", found ">"');
    exactError("10 >= age <= 5", 11, 'expected ">" or ">=" to continue the range started by ">=", found "<="');
    exactError("a == b == c", 8, 'expected "and" or "or" after a comparison (only ranges like 1 < x <= 2 chain), found "=="');
    exactError("1 != a < 2", 8, 'expected "and" or "or" after a comparison (only ranges like 1 < x <= 2 chain), found "<"');
    exactError("1 < a < 2 < 3", 11, 'expected "and" or "or" after a range, found "<"');
    exactError("3 > a >= 2 != 1", 12, 'expected "and" or "or" after a range, found "!="');
  });

  it("unary minus - only number literals fold, other literals keep a neg node", () => {
    assert.deepEqual(parseFilter(`-"a" == x`), cmp("==", { kind: "neg", operand: lit("a") }, f("x")));
    assert.deepEqual(parseFilter(`-true == x`), cmp("==", { kind: "neg", operand: lit(true) }, f("x")));
    assert.deepEqual(parseFilter(`-[1] == x`), cmp("==", { kind: "neg", operand: lit([1]) }, f("x")));
  });

  it("is - only the keyword null may follow is / is not", () => {
    exactError("a is 5", 6, 'expected "null" after "is", found "5"');
    exactError("a is true", 6, 'expected "null" after "is", found "true"');
    exactError(`a is "null"`, 6, String.raw`expected "null" after "is", found "\"null\""`);
    exactError("a is not 5", 10, 'expected "null" after "is not", found "5"');
  });

  it("values - a missing value names the token before it when there is one", () => {
    exactError("a == * 2", 6, 'expected a value after "==", found "*"');
    exactError(") == 1", 1, 'expected a value, found ")"');
    exactError("and a", 1, 'expected a value, found "and"');
  });

  it("calls - $meta is never a function and unknown names list the known ones", () => {
    exactError("$meta(1)", 6, 'expected an operator or end of input, found "("');
    exactError(
      "foo(1) == 2",
      1,
      'expected a function name (json_contains, json_contains_all, json_contains_any, array_contains, array_contains_all, array_contains_any, array_length), found "foo"',
    );
    exactError("array_length() == 0", 14, "expected 1 argument for array_length, found 0");
  });

  it("element access - keys are strings or non-negative integers, closed by ]", () => {
    assert.deepEqual(parseFilter("a[{k}] == 1", { k: 2 }), cmp("==", f("a", 2), lit(1)));
    exactError("a[{k}] == 1", 3, 'expected a string key or a non-negative integer index inside [ ], found "{k}"', { k: -1 });
    exactError("a[1 == 1", 5, 'expected "]" to close the element access, found "=="');
  });

  it("an in list notes whether it was written with floats, and prints so", () => {
    assert.deepEqual(parseFilter("a in [1, 2.0]"), { kind: "in", operand: f("a"), values: [1, 2], negated: false, float: true });
    assert.deepEqual(parseFilter("a in [1, 0x2]"), { kind: "in", operand: f("a"), values: [1, 2], negated: false });
    assert.equal(formatExpr(parseFilter("a in [1, 2.5]")), "a in [1.0, 2.5]");
    assert.deepEqual(parseFilter(formatExpr(parseFilter("a in [1, 2.0]"))), parseFilter("a in [1, 2.0]"));
  });

  it("exists takes a field or key, and binds as a unary operator", () => {
    assert.deepEqual(parseFilter(`exists j["a"]`), { kind: "exists", operand: f("j", "a") });
    assert.deepEqual(parseFilter(`EXISTS j["a"] and x == 1`), {
      kind: "logical",
      op: "and",
      left: { kind: "exists", operand: f("j", "a") },
      right: { kind: "compare", op: "==", left: f("x"), right: lit(1) },
    });
    exactError("exists 1", 1, 'expected a JSON field or key after "exists", found 1');
  });

  it("array literals - constants only: folded arithmetic, booleans, no fields, keywords or stray commas", () => {
    // From Milvus's own tests: arithmetic on constants folds to its value.
    assert.deepEqual(parseFilter("int64 in [300/2, 900%40, -10*30+800]"), { kind: "in", operand: f("int64"), values: [150, 20, 500], negated: false });
    assert.deepEqual(parseFilter("double in [+3**6, 2**10/2]"), { kind: "in", operand: f("double"), values: [729, 512], negated: false });
    assert.deepEqual(parseFilter("a in [9007199254740993 + 2, (1 + 2) * 3]"), { kind: "in", operand: f("a"), values: [9007199254740995n, 9], negated: false });
    assert.deepEqual(parseFilter("a in [false, true, FALSE]"), { kind: "in", operand: f("a"), values: [false, true, false], negated: false });
    exactError(`a in [-"x"]`, 7, 'expected a constant (number, string, boolean, array, or arithmetic on numbers) in the array, found -"x"');
    exactError("a in [-x]", 7, "expected a constant (number, string, boolean, array, or arithmetic on numbers) in the array, found -x");
    exactError("a in [1, b * 2]", 10, "expected a constant (number, string, boolean, array, or arithmetic on numbers) in the array, found b * 2");
    exactError("a in [1 % 0]", 7, "expected a non-zero divisor, found 1 % 0");
    exactError("a in [,]", 7, 'expected a constant (number, string, boolean, array, or arithmetic on numbers) in the array, found ","');
    exactError("a in [null]", 7, 'expected a constant (number, string, boolean, array, or arithmetic on numbers) in the array, found "null"');
  });
});
