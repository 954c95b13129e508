import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { VecbusError, type ErrorCode } from "../../protocol/errors.js";
import { parseFilter, type Expr } from "../../protocol/filter/index.js";
import type { CollectionSchema } from "../../protocol/schema.js";
import { compileFilter, compileFilterText, filterFields } from "../../engine/filter-eval.js";
import { compileScope } from "../../engine/filter-scope.js";
import type { Row } from "../../protocol/rows.js";

const schema: CollectionSchema = {
  enable_dynamic_field: true,
  fields: [
    { name: "id", type: "Int64", is_primary: true },
    { name: "age", type: "Int32" },
    { name: "score", type: "Double" },
    { name: "name", type: "VarChar", max_length: 64 },
    { name: "flag", type: "Bool" },
    { name: "meta", type: "JSON" },
    { name: "vec", type: "FloatVector", dim: 2 },
  ],
};

const strict: CollectionSchema = { ...schema, enable_dynamic_field: false };

const rows: Row[] = [
  { id: 1, age: 10, score: 0.5, name: "alice", flag: true, meta: { a: 1, tags: ["x", "y"], nested: { b: [1, 2, { c: "deep" }] } }, $meta: { color: "red", n: 3 } },
  { id: 2, age: 25, score: 2.5, name: "Bob", flag: false, meta: { a: "one", tags: [1, 2, 3] }, $meta: { color: "blue" } },
  { id: 3, age: 31, score: -1, name: "carol_%", flag: true, meta: null, $meta: {} },
  { id: 9007199254740995n, age: 40, score: 10, name: "", flag: false, meta: { a: 2.5, tags: [] } },
];

/** Ids of the fixture rows that pass the filter. */
function ids(text: string, params?: Record<string, unknown>, s: CollectionSchema = schema): unknown[] {
  const pred = compileFilterText(text, s, params);
  return rows.filter(pred).map((r) => r.id);
}

const matches = (text: string, row: Row, s: CollectionSchema = schema): boolean => compileFilterText(text, s)(row);

function rejects(text: string, code: ErrorCode, ...fragments: string[]): void {
  assert.throws(
    () => compileFilterText(text, schema),
    (err: unknown) => {
      assert.ok(err instanceof VecbusError, String(err));
      assert.equal(err.code, code, err.message);
      for (const frag of fragments) assert.ok(err.message.includes(frag), `${JSON.stringify(err.message)} lacks ${JSON.stringify(frag)}`);
      return true;
    },
    text,
  );
}

describe("filter evaluator: typed fields", () => {
  it("compares numbers with every operator", () => {
    assert.deepEqual(ids("age == 25"), [2]);
    assert.deepEqual(ids("age != 25"), [1, 3, 9007199254740995n]);
    assert.deepEqual(ids("age < 25"), [1]);
    assert.deepEqual(ids("age <= 25"), [1, 2]);
    assert.deepEqual(ids("age > 25"), [3, 9007199254740995n]);
    assert.deepEqual(ids("age >= 31"), [3, 9007199254740995n]);
    assert.deepEqual(ids("score < 0"), [3]);
    assert.deepEqual(ids("score == 2.5"), [2]);
    assert.deepEqual(ids("10 <= age"), [1, 2, 3, 9007199254740995n]);
  });

  it("compares bigint row values exactly with numbers and big literals", () => {
    assert.deepEqual(ids("id > 9007199254740993"), [9007199254740995n]);
    assert.deepEqual(ids("id == 9007199254740995"), [9007199254740995n]);
    assert.deepEqual(ids("id == 9007199254740996"), []);
    assert.deepEqual(ids("id in [2, 9007199254740995]"), [2, 9007199254740995n]);
    assert.equal(matches("id == 5", { id: 5n }), true);
    assert.equal(matches("id in [5]", { id: 5n }), true);
    assert.equal(matches("id < 5.5", { id: 5n }), true);
  });

  it("evaluates ranges with their inclusivity", () => {
    assert.deepEqual(ids("10 < age <= 31"), [2, 3]);
    assert.deepEqual(ids("10 <= age < 31"), [1, 2]);
    assert.deepEqual(ids("31 >= age > 10"), [2, 3]);
    assert.deepEqual(ids("0 <= score <= 2.5"), [1, 2]);
  });

  it("compares strings by code units", () => {
    assert.deepEqual(ids(`name == "alice"`), [1]);
    assert.deepEqual(ids(`name < "a"`), [2, 9007199254740995n]); // "Bob" < "a": uppercase sorts first
    assert.deepEqual(ids(`name >= "b"`), [3]);
    assert.deepEqual(ids(`"b" < name <= "carol_%"`), [3]);
    assert.equal(matches(`name > "\uD83D\uDE00"`, { name: "\uFFFF" }), true); // U+1F600 is stored as surrogates, below U+FFFF
  });

  it("compares booleans and accepts a bare Bool field", () => {
    assert.deepEqual(ids("flag == true"), [1, 3]);
    assert.deepEqual(ids("flag != true"), [2, 9007199254740995n]);
    assert.deepEqual(ids("flag"), [1, 3]);
    assert.deepEqual(ids("not flag"), [2, 9007199254740995n]);
    assert.deepEqual(ids("!flag and age > 30"), [9007199254740995n]);
  });

  it("evaluates in and not in", () => {
    assert.deepEqual(ids("age in [10, 31, 99]"), [1, 3]);
    assert.deepEqual(ids("age not in [10, 31]"), [2, 9007199254740995n]);
    assert.deepEqual(ids(`name in ["Bob", "carol_%"]`), [2, 3]);
    assert.deepEqual(ids("age in []"), []);
    assert.deepEqual(ids("age not in []"), [1, 2, 3, 9007199254740995n]);
    assert.deepEqual(ids("score in [0.5, -1]"), [1, 3]);
    assert.deepEqual(ids(`meta["tags"] in [[1, 2, 3], ["x"]]`), [2]);
    assert.equal(matches("id in [9007199254740992]", { id: 2 ** 53 }), true);
    assert.equal(matches("id in [9007199254740993]", { id: 2 ** 53 }), false);
  });

  it("matches like patterns with wildcards and escapes", () => {
    assert.deepEqual(ids(`name like "al%"`), [1]);
    assert.deepEqual(ids(`name like "%o%"`), [2, 3]);
    assert.deepEqual(ids(`name like "_ob"`), [2]);
    assert.deepEqual(ids(`name like "%"`), [1, 2, 3, 9007199254740995n]);
    assert.deepEqual(ids(`name like ""`), [9007199254740995n]);
    assert.deepEqual(ids(String.raw`name like "carol\_\%"`), [3]);
    assert.deepEqual(ids(String.raw`name like "%\%"`), [3]);
    assert.equal(matches(String.raw`name like "carol\_\%"`, { name: "carolx%" }), false);
    assert.equal(matches(`name like "a.c"`, { name: "abc" }), false);
    assert.equal(matches(`name like "a.c(+)"`, { name: "a.c(+)" }), true);
    assert.equal(matches(`name like "a_c"`, { name: "a\uD83D\uDE00c" }), true); // _ is one character, not one code unit
    assert.equal(matches(`name like "a%c"`, { name: "a\nb\nc" }), true);
    assert.equal(matches(String.raw`name like "a\\\\b"`, { name: "a\\b" }), true);
    assert.equal(matches(`not name like "a%"`, { name: "bob" }), true);
    // Thousands of `%` made the RegExp translation backtrack for minutes (engine/like-pattern.ts).
    assert.equal(matches(`name like "${"%".repeat(3000)}x"`, { name: "a".repeat(3000) }), false);
  });

  it("does arithmetic with the usual precedence", () => {
    assert.deepEqual(ids("age * 2 + 1 > 50"), [2, 3, 9007199254740995n]);
    assert.deepEqual(ids("age % 2 == 0"), [1, 9007199254740995n]);
    assert.deepEqual(ids("age / 4 == 2.5"), [1]);
    assert.deepEqual(ids("age - score * 2 == 9"), [1]);
    assert.deepEqual(ids("-age < -30"), [3, 9007199254740995n]);
    assert.deepEqual(ids("2 ** age > 1e9"), [3, 9007199254740995n]);
    assert.deepEqual(ids("id + 1 == 3"), [2]);
  });

  it("makes division and remainder by zero fail every comparison", () => {
    assert.deepEqual(ids("age / 0 > 0"), []);
    assert.deepEqual(ids("age / 0 <= 0"), []);
    assert.deepEqual(ids("age % 0 == 0"), []);
    assert.deepEqual(ids("age % 0 != 0"), []);
    assert.deepEqual(ids("not (age / (score - score) > 1)"), [1, 2, 3, 9007199254740995n]);
  });

  it("combines with and / or / not", () => {
    assert.deepEqual(ids("age > 20 and flag or name == 'alice'"), [1, 3]);
    assert.deepEqual(ids("age > 20 and (flag or name == 'alice')"), [3]);
    assert.deepEqual(ids("not (age > 20 and flag)"), [1, 2, 9007199254740995n]);
    assert.deepEqual(ids("true"), [1, 2, 3, 9007199254740995n]);
    assert.deepEqual(ids("false || age == 10"), [1]);
  });

  it("tests is null on every kind of field", () => {
    assert.deepEqual(ids("meta is null"), [3]);
    assert.deepEqual(ids("meta is not null"), [1, 2, 9007199254740995n]);
    assert.deepEqual(ids("color is null"), [3, 9007199254740995n]);
    assert.deepEqual(ids(`meta["a"] is not null`), [1, 2, 9007199254740995n]);
  });
});

describe("filter evaluator: JSON and dynamic fields", () => {
  it("follows JSON paths through objects and arrays", () => {
    assert.deepEqual(ids(`meta["a"] == 1`), [1]);
    assert.deepEqual(ids(`meta["a"] == "one"`), [2]);
    assert.deepEqual(ids(`meta["tags"][0] == "x"`), [1]);
    assert.deepEqual(ids(`meta["tags"][2] >= 3`), [2]);
    assert.deepEqual(ids(`meta["nested"]["b"][2]["c"] like "de%"`), [1]);
    assert.deepEqual(ids(`meta["tags"]["0"] == "x"`), []); // string keys do not index arrays
    assert.deepEqual(ids(`meta["a"][0] == 1`), []);
  });

  it("treats missing values and mismatched types as false for every comparison", () => {
    assert.deepEqual(ids(`meta["a"] > 0`), [1, 9007199254740995n]); // "one" and null are not numbers
    assert.deepEqual(ids(`meta["a"] != 1`), [9007199254740995n]);
    assert.deepEqual(ids(`meta["missing"] != 1`), []);
    assert.deepEqual(ids(`not (meta["missing"] == 1)`), [1, 2, 3, 9007199254740995n]);
    assert.deepEqual(ids(`meta["a"] in [1, "one"]`), [1, 2]);
    assert.deepEqual(ids(`meta["a"] not in [1]`), [2, 9007199254740995n]);
    assert.deepEqual(ids(`meta["a"] like "o%"`), [2]);
    assert.deepEqual(ids(`meta["a"] * 2 == 5`), [9007199254740995n]);
    assert.deepEqual(ids(`meta["a"] == true`), []);
  });

  it("compares JSON arrays and objects by deep equality", () => {
    assert.deepEqual(ids(`meta["tags"] == [1, 2, 3]`), [2]);
    assert.deepEqual(ids(`meta["tags"] != ["x"]`), [1, 2, 9007199254740995n]);
    assert.equal(matches(`meta["o"] == meta["p"]`, { meta: { o: { x: [1, { y: 2 }] }, p: { x: [1, { y: 2 }] } } }), true);
    assert.equal(matches(`meta["o"] == meta["p"]`, { meta: { o: { x: 1 }, p: { x: 1, y: 2 } } }), false);
  });

  it("resolves unknown names to the dynamic field", () => {
    assert.deepEqual(ids(`color == "red"`), [1]);
    assert.deepEqual(ids(`$meta["color"] in ["red", "blue"]`), [1, 2]);
    assert.deepEqual(ids(`n + 1 == 4`), [1]);
    assert.deepEqual(ids(`color != "red"`), [2]);
    assert.equal(matches(`obj["k"][1] == 2`, { $meta: { obj: { k: [1, 2] } } }), true);
    assert.equal(matches(`ok`, { $meta: { ok: true } }), true);
    assert.equal(matches(`ok`, { $meta: { ok: 1 } }), false);
    assert.equal(matches(`not ok`, { $meta: {} }), true);
  });

  it("prefers a schema field over a dynamic key of the same name", () => {
    assert.equal(matches("age == 1", { age: 1, $meta: { age: 2 } }), true);
    assert.equal(matches("age == 2", { age: 1, $meta: { age: 2 } }), false);
    assert.equal(matches(`$meta["age"] == 2`, { age: 1, $meta: { age: 2 } }), true);
  });

  it("evaluates the contains functions and array_length", () => {
    assert.deepEqual(ids(`json_contains(meta["tags"], "x")`), [1]);
    assert.deepEqual(ids(`array_contains(meta["tags"], 2)`), [2]);
    assert.deepEqual(ids(`json_contains_all(meta["tags"], [1, 3])`), [2]);
    assert.deepEqual(ids(`array_contains_all(meta["tags"], [])`), [1, 2, 9007199254740995n]);
    assert.deepEqual(ids(`json_contains_any(meta["tags"], ["y", 3])`), [1, 2]);
    assert.deepEqual(ids(`array_contains_any(meta["tags"], [])`), []);
    assert.deepEqual(ids(`array_length(meta["tags"]) == 3`), [2]);
    assert.deepEqual(ids(`array_length(meta["tags"]) >= 0`), [1, 2, 9007199254740995n]);
    assert.deepEqual(ids(`array_length(meta["a"]) >= 0`), []);
    assert.deepEqual(ids(`json_contains(meta["a"], 1)`), []);
    assert.equal(matches(`json_contains(m, [1, 2])`, { $meta: { m: [[1, 2], [3]] } }), true);
    assert.equal(matches(`json_contains(m, 1)`, { $meta: { m: [1n] } }), true);
    assert.equal(matches("json_contains(meta, [1])", { meta: [{ a: 1 }] }), false);
  });

  it("lets $meta paths compile without a dynamic field, matching nothing", () => {
    assert.equal(matches(`$meta["x"] == 1`, { $meta: { x: 1 } }, strict), true);
    assert.equal(matches(`$meta["x"] == 1`, { id: 1 }, strict), false);
  });
});

describe("filter evaluator: compile-time errors", () => {
  it("rejects unknown fields when there is no dynamic field", () => {
    assert.throws(
      () => compileFilterText("colour == 1", strict),
      (err: unknown) =>
        err instanceof VecbusError &&
        err.code === "FIELD_NOT_FOUND" &&
        err.message === 'filter refers to unknown field "colour"; the collection has fields id, age, score, name, flag, meta, vec',
    );
  });

  it("names the field in every type error", () => {
    rejects("name > 5", "FILTER_TYPE", 'field "name" (VarChar)', "5 (a number)");
    rejects(`age == "x"`, "FILTER_TYPE", 'field "age" (Int32)', '"x" (a string)');
    rejects(`score < "1"`, "FILTER_TYPE", 'field "score" (Double)');
    rejects(`flag == 1`, "FILTER_TYPE", 'field "flag" (Bool)');
    rejects(`flag < true`, "FILTER_TYPE", '"<" cannot order field "flag" (Bool)');
    rejects(`age like "1%"`, "FILTER_TYPE", "like needs a string", 'field "age" (Int32)');
    rejects(`name + 1 > 2`, "FILTER_TYPE", '"+" needs numbers', 'field "name" (VarChar)');
    rejects(`-flag == 1`, "FILTER_TYPE", "unary minus needs a number", 'field "flag" (Bool)');
    rejects(`age * flag > 1`, "FILTER_TYPE", 'field "flag" (Bool)');
    rejects(`array_contains(age, 1)`, "FILTER_TYPE", "array_contains needs an array or JSON field", 'field "age" (Int32)');
    rejects(`array_length(name) == 1`, "FILTER_TYPE", 'field "name" (VarChar)');
    rejects(`json_contains(name, "a")`, "FILTER_TYPE", "json_contains needs an array or JSON field", 'field "name" (VarChar)');
    rejects(`json_contains_all(meta, 1)`, "FILTER_TYPE", "needs an array as its second argument", "1 (a number)");
    rejects(`age in [1, "2"]`, "FILTER_TYPE", 'field "age" (Int32)', '"2" (a string)');
    rejects(`name not in [1]`, "FILTER_TYPE", 'field "name" (VarChar)');
    rejects(`vec == 1`, "FILTER_TYPE", 'vector field "vec"');
    rejects(`age["x"] == 1`, "FILTER_TYPE", 'field "age" (Int32) has no elements');
    rejects(`age`, "FILTER_TYPE", "a filter must be a boolean expression", 'field "age" (Int32)');
    rejects(`age + 1`, "FILTER_TYPE", "a filter must be a boolean expression", "age + 1 (a number)");
    rejects(`age and flag`, "FILTER_TYPE", "and needs booleans", 'field "age" (Int32)');
    rejects(`not age == 1`, "FILTER_TYPE", "not needs a boolean", 'field "age" (Int32)', "not (...)");
    rejects(`age * 2 > "x"`, "FILTER_TYPE", "age * 2 (a number)");
    rejects(`10 < name <= 20`, "FILTER_TYPE", 'field "name" (VarChar)');
  });

  it("leaves JSON and dynamic values to be checked per row", () => {
    for (const text of [`meta > 5`, `meta like "a"`, `meta["x"] + 1 > 2`, `color < true`, `not color`, `json_contains(color, 1)`]) {
      assert.doesNotThrow(() => compileFilterText(text, schema), text);
    }
  });

  it("passes syntax errors through from the parser", () => {
    rejects("age >", "FILTER_SYNTAX", "position 6");
  });
});

const typed: CollectionSchema = {
  enable_dynamic_field: false,
  fields: [
    { name: "id", type: "Int64", is_primary: true },
    { name: "tags", type: "Array", element_type: "Int64", max_capacity: 8 },
    { name: "labels", type: "Array", element_type: "VarChar", max_capacity: 8, max_length: 16, nullable: true },
    { name: "bits", type: "Array", element_type: "Bool", max_capacity: 2 },
    { name: "nick", type: "VarChar", max_length: 16, nullable: true },
    { name: "rank", type: "Int32", nullable: true },
    { name: "meta", type: "JSON" },
    { name: "vec", type: "FloatVector", dim: 2 },
    { name: "vec2", type: "FloatVector", dim: 3 },
  ],
};

const typedRows: Row[] = [
  { id: 1, tags: [1, 2, 3], labels: ["x", "y"], bits: [true], nick: "ann", rank: 5, meta: { t: [1] } },
  { id: 2, tags: [4], labels: null, bits: [false, true], nick: null, rank: null, meta: null },
  { id: 3, tags: [], labels: [], bits: [], nick: "", rank: 0, meta: {} },
];

const typedIds = (text: string): unknown[] => typedRows.filter(compileFilterText(text, typed)).map((r) => r.id);

function rejectsTyped(text: string, ...fragments: string[]): void {
  assert.throws(
    () => compileFilterText(text, typed),
    (err: unknown) => {
      assert.ok(err instanceof VecbusError, String(err));
      assert.equal(err.code, "FILTER_TYPE", err.message);
      for (const frag of fragments) assert.ok(err.message.includes(frag), `${JSON.stringify(err.message)} lacks ${JSON.stringify(frag)}`);
      return true;
    },
    text,
  );
}

describe("filter evaluator: Array fields", () => {
  it("evaluates the array functions on typed arrays", () => {
    assert.deepEqual(typedIds("array_contains(tags, 2)"), [1]);
    assert.deepEqual(typedIds(`array_contains(labels, "y")`), [1]);
    assert.deepEqual(typedIds("array_contains_all(tags, [3, 1])"), [1]);
    assert.deepEqual(typedIds("array_contains_all(tags, [])"), [1, 2, 3]);
    assert.deepEqual(typedIds("array_contains_any(tags, [4, 9])"), [2]);
    assert.deepEqual(typedIds("array_length(tags) == 0"), [3]);
    assert.deepEqual(typedIds("array_length(labels) >= 0"), [1, 3]); // null has no length
    assert.deepEqual(typedIds("array_contains(bits, true)"), [1, 2]);
  });

  it("indexes elements with their element type", () => {
    assert.deepEqual(typedIds("tags[0] > 3"), [2]);
    assert.deepEqual(typedIds("tags[2] == 3"), [1]);
    assert.deepEqual(typedIds("tags[1] >= 0"), [1]); // past the end reads as missing
    assert.deepEqual(typedIds("tags[0] + 1 in [2, 5]"), [1, 2]);
    assert.deepEqual(typedIds(`labels[0] like "x%"`), [1]);
    assert.deepEqual(typedIds("bits[1]"), [2]);
    assert.deepEqual(typedIds("not bits[0]"), [2, 3]);
  });

  it("compares whole arrays by deep equality", () => {
    assert.deepEqual(typedIds("tags == [1, 2, 3]"), [1]);
    assert.deepEqual(typedIds("tags != [4]"), [1, 3]);
    assert.deepEqual(typedIds("tags in [[4], []]"), [2, 3]);
    assert.deepEqual(typedIds(`labels == ["x", "y"]`), [1]);
  });

  it("takes the json_ and array_ spellings on JSON and Array fields alike, as Milvus", () => {
    assert.deepEqual(typedIds(`json_contains(meta["t"], 1)`), [1]);
    assert.deepEqual(typedIds("json_contains(tags, 1)"), typedIds("array_contains(tags, 1)"));
    assert.deepEqual(typedIds("json_contains_any(tags, [1000, 2, 4])"), typedIds("array_contains_any(tags, [1000, 2, 4])"));
    assert.deepEqual(typedIds("json_contains_all(tags, [1, 2])"), typedIds("array_contains_all(tags, [1, 2])"));
  });

  it("rejects type errors, naming the field and its element type", () => {
    rejectsTyped("tags == 3", 'cannot compare field "tags" (Array<Int64>) with 3 (a number)');
    rejectsTyped(`tags == ["a"]`, 'field "tags" (Array<Int64>)', "elements differ");
    rejectsTyped(`tags in [["a"]]`, 'field "tags" (Array<Int64>)', "elements differ");
    rejectsTyped("tags < [1]", '"<" cannot order field "tags" (Array<Int64>)');
    rejectsTyped(`tags[0] == "x"`, 'cannot compare tags[0] (a number) with "x" (a string)');
    rejectsTyped(`labels[0] > 1`, "labels[0] (a string)");
    rejectsTyped(`array_contains(tags, "x")`, 'array_contains: the elements of field "tags" (Array<Int64>) are numbers', '"x" (a string)');
    rejectsTyped(`array_contains(tags, [1])`, "are numbers", "[1] (an array)");
    rejectsTyped(`array_contains_any(tags, [1, "x"])`, 'field "tags" (Array<Int64>)', '"x" (a string)');
    rejectsTyped(`array_contains_all(tags, ["a"])`, '"a" (a string)');
    rejectsTyped(`tags["a"] == 1`, 'field "tags" (Array<Int64>) takes one integer index', 'tags["a"]');
    rejectsTyped(`tags[0][1] == 1`, "takes one integer index", "tags[0][1]");
    rejectsTyped(`tags + 1 > 2`, '"+" needs numbers', 'field "tags" (Array<Int64>)');
    rejectsTyped(`tags`, "a filter must be a boolean expression", 'field "tags" (Array<Int64>)');
    rejectsTyped(`array_length(rank) == 1`, 'field "rank" (Int32)');
  });
});

describe("filter evaluator: nullable fields", () => {
  it("tests is null and is not null", () => {
    assert.deepEqual(typedIds("nick is null"), [2]);
    assert.deepEqual(typedIds("nick is not null"), [1, 3]);
    assert.deepEqual(typedIds("labels is null"), [2]);
    assert.deepEqual(typedIds("rank is not null and rank >= 0"), [1, 3]);
  });

  it("makes every comparison with a null value false", () => {
    assert.deepEqual(typedIds(`nick != "ann"`), [3]);
    assert.deepEqual(typedIds("rank != 5"), [3]);
    assert.deepEqual(typedIds("rank < 100"), [1, 3]);
    assert.deepEqual(typedIds("rank not in [5]"), [3]);
    assert.deepEqual(typedIds("rank * 0 == 0"), [1, 3]);
    assert.deepEqual(typedIds(`nick like "%"`), [1, 3]);
    assert.deepEqual(typedIds("not (rank == 5)"), [2, 3]);
  });
});

describe("filter evaluator: API", () => {
  it("compiles a hand-built tree", () => {
    const tree: Expr = { kind: "compare", op: ">", left: { kind: "field", name: "age", path: [] }, right: { kind: "literal", value: 20 } };
    assert.deepEqual(rows.filter(compileFilter(tree, schema)).map((r) => r.id), [2, 3, 9007199254740995n]);
  });

  it("uses params for templates", () => {
    assert.deepEqual(ids("age > {min} and name in {names}", { min: 20, names: ["Bob", "alice"] }), [2]);
  });

  it("lists the names an expression reads", () => {
    const e = parseFilter(`age > 1 and (json_contains(meta["t"], 1) or not color like "r%") and 0 < $meta["k"] < n * 2`);
    assert.deepEqual(filterFields(e).sort(), ["$meta", "age", "color", "meta", "n"]);
  });

  it("agrees with a hand-written predicate over many rows", () => {
    const pred = compileFilterText(`age * 2 + 1 > 40 and name like "%b%" and meta["a"] != 7`, schema);
    const many = Array.from({ length: 20_000 }, (_, i) => ({ age: i % 50, name: i % 3 ? "abc" : "xyz", meta: { a: i } }));
    const passing = (keep: (r: (typeof many)[number]) => boolean) => many.flatMap((r, i) => (keep(r) ? [i] : []));
    const want = passing((r) => r.age * 2 + 1 > 40 && r.name.includes("b") && r.meta.a !== 7);
    assert.ok(want.length > 1000 && want.length < many.length - 1000, "the filter splits the rows");
    assert.deepEqual(passing(pred), want);
  });
});

// Cases aimed at mutants of engine/filter-eval.ts that the tests above let
// survive; every expectation follows from the semantics in the module's header.
describe("filter evaluator: edge cases", () => {
  const dyn = (text: string, $meta: Record<string, unknown>): boolean => matches(text, { $meta });

  it("filter errors - a type error's message is the full, prefixed sentence", () => {
    assert.throws(
      () => compileFilterText("name > 5", schema),
      (err: unknown) =>
        err instanceof VecbusError &&
        err.message === 'filter type error: cannot compare field "name" (VarChar) with 5 (a number)',
    );
    assert.throws(
      () => compileFilterText("flag < true", schema),
      (err: unknown) =>
        err instanceof VecbusError &&
        err.message === 'filter type error: "<" cannot order field "flag" (Bool); only == and != apply to booleans',
    );
    assert.throws(
      () => compileFilterText("vec == 1", schema),
      (err: unknown) => err instanceof VecbusError && err.message === 'filter type error: vector field "vec" cannot be used in a filter',
    );
  });

  it("filter errors - expressions without a field are described by their static type", () => {
    rejects("(age > 1) + 1 > 0", "FILTER_TYPE", '"+" needs numbers', "(a boolean)");
    rejects("[1, 2] < [3]", "FILTER_TYPE", '"<" cannot order [1, 2] (an array); only == and != apply to arrays');
    rejects(`array_contains(meta, 1) + 1 > 0`, "FILTER_TYPE", "(a boolean)");
    rejects(`1 == "a"`, "FILTER_TYPE", "cannot compare 1 (a number) with \"a\" (a string)");
  });

  it("filter errors - element clashes name the element types in the plural", () => {
    assert.throws(
      () => compileFilterText(`array_contains_all(tags, ["a", "b"])`, typed),
      (err: unknown) =>
        err instanceof VecbusError &&
        err.message === 'filter type error: array_contains_all: the elements of field "tags" (Array<Int64>) are numbers, but "a" (a string) is not',
    );
    rejectsTyped(`array_contains(labels, 1)`, 'the elements of field "labels" (Array<VarChar>) are strings, but 1 (a number) is not');
    rejectsTyped(`array_contains(bits, 1)`, "are booleans");
  });

  it("filter errors - a mixed literal array clashes with no element type", () => {
    // [1, "a"] has elements of no single type, so it may be compared with any array.
    assert.doesNotThrow(() => compileFilterText(`tags == [1, "a"]`, typed));
    // As Milvus: what a contains function looks for is a constant, never a value read from the row.
    assert.throws(() => compileFilterText(`array_contains_all(tags, meta["t"])`, typed), /needs a constant .* not meta\["t"\]/);
    assert.throws(() => compileFilterText(`json_contains_any(meta["list"], str)`, typed), /needs a constant .* not str/);
    assert.deepEqual(typedIds(`tags == [1, "a"]`), []);
  });

  it("filter errors - a contains function on a scalar field names the field", () => {
    assert.throws(
      () => compileFilterText(`json_contains(nick, "a")`, typed),
      (err: unknown) =>
        err instanceof VecbusError && err.message === 'filter type error: json_contains needs an array or JSON field, but field "nick" (VarChar) is not',
    );
  });

  it("filter errors - indexing a scalar field or a second Array index is refused with the path written out", () => {
    assert.throws(
      () => compileFilterText(`age["x"] == 1`, schema),
      (err: unknown) => err instanceof VecbusError && err.message === 'filter type error: field "age" (Int32) has no elements to access with ["x"]',
    );
    assert.throws(
      () => compileFilterText(`tags[0]["k"] == 1`, typed),
      (err: unknown) =>
        err instanceof VecbusError &&
        err.message === 'filter type error: field "tags" (Array<Int64>) takes one integer index, as tags[0]; tags[0]["k"] is not one',
    );
  });

  it("filter errors - a Bool or Array comparison with == and != compiles", () => {
    for (const text of ["bits == [true]", "bits != []", "bits[0] == true", "bits[0] != false"]) {
      assert.doesNotThrow(() => compileFilterText(text, typed), text);
    }
    assert.deepEqual(typedIds("bits[0] != false"), [1]);
    assert.deepEqual(typedIds("bits == [false, true]"), [2]);
  });

  it("JSON values - a value's prototype properties are not keys", () => {
    assert.equal(dyn(`o["toString"] is null`, { o: {} }), true);
    assert.equal(dyn(`o["constructor"] is null`, { o: { a: 1 } }), true);
    assert.equal(dyn(`$meta["hasOwnProperty"] is null`, {}), true);
    assert.equal(dyn(`o["length"] is null`, { o: [1, 2] }), true);
    assert.equal(dyn(`o["k"] == 1`, { o: { k: 1 } }), true);
  });

  it("JSON values - a string key does not read through a null or a string", () => {
    assert.equal(dyn(`o["k"] is null`, { o: null }), true);
    assert.equal(dyn(`o["length"] is null`, { o: "abc" }), true);
    assert.equal(dyn(`o[0] is null`, { o: "abc" }), true);
    assert.equal(dyn(`o[0] is null`, { o: { "0": 1 } }), true);
  });

  it("JSON values - an index reads within the array only", () => {
    assert.equal(dyn(`a[1] == 2`, { a: [1, 2] }), true);
    assert.equal(dyn(`a[2] is null`, { a: [1, 2] }), true);
    assert.equal(dyn(`a[0] is null`, { a: [] }), true);
  });

  it("comparisons - a numeric string is not a number", () => {
    assert.equal(dyn(`s > 3`, { s: "5" }), false);
    assert.equal(dyn(`s < 9`, { s: "5" }), false);
    assert.equal(dyn(`s == 5`, { s: "5" }), false);
    assert.equal(dyn(`s != 5`, { s: "5" }), false);
    assert.equal(dyn(`s >= 5`, { s: "5" }), false);
    assert.equal(dyn(`n <= "7"`, { n: 7 }), false);
    assert.equal(dyn(`s in [5]`, { s: "5" }), false);
    assert.equal(dyn(`s not in [5]`, { s: "5" }), true);
  });

  it("comparisons - != between values of different kinds is false", () => {
    assert.equal(dyn(`s != true`, { s: "x" }), false);
    assert.equal(dyn(`b != "true"`, { b: true }), false);
    assert.equal(dyn(`a != o`, { a: [1], o: { "0": 1 } }), false);
    assert.equal(dyn(`a == o`, { a: [1], o: { "0": 1 } }), false);
    assert.equal(dyn(`o != a`, { a: [1], o: { "0": 1 } }), false);
    assert.equal(dyn(`a != 1`, { a: [1] }), false);
    assert.equal(dyn(`o != "x"`, { o: {} }), false);
    // Same kinds: != is true when they differ.
    assert.equal(dyn(`b != false`, { b: true }), true);
    assert.equal(dyn(`o != p`, { o: { x: 1 }, p: { x: 2 } }), true);
    assert.equal(dyn(`s != "y"`, { s: "x" }), true);
  });

  it("comparisons - ordering works on exactly equal, smaller and larger values", () => {
    assert.equal(dyn(`x <= 3`, { x: 3 }), true);
    assert.equal(dyn(`x >= 3`, { x: 3 }), true);
    assert.equal(dyn(`x < 3`, { x: 3 }), false);
    assert.equal(dyn(`x > 3`, { x: 3 }), false);
    assert.equal(dyn(`x >= 3`, { x: 2 }), false);
    assert.equal(dyn(`x <= 3`, { x: 4 }), false);
    assert.equal(dyn(`s <= "b"`, { s: "b" }), true);
    assert.equal(dyn(`s >= "b"`, { s: "a" }), false);
    assert.equal(dyn(`s > "b"`, { s: "c" }), true);
    assert.equal(dyn(`x < 3`, { x: 2n }), true);
    assert.equal(dyn(`x > 3`, { x: 4n }), true);
  });

  it("comparisons - NaN in the data equals nothing and orders against nothing", () => {
    assert.equal(dyn(`x == x`, { x: NaN }), false);
    assert.equal(dyn(`x <= 1`, { x: NaN }), false);
    assert.equal(dyn(`x >= 1`, { x: NaN }), false);
  });

  it("comparisons - a range needs both bounds to hold and a present operand", () => {
    assert.equal(dyn(`1 < x < 3`, { x: 2 }), true);
    assert.equal(dyn(`1 < x < 3`, { x: 3 }), false);
    assert.equal(dyn(`1 < x < 3`, { x: 1 }), false);
    assert.equal(dyn(`1 <= x <= 3`, {}), false);
    assert.equal(dyn(`lo <= x <= hi`, { lo: 1, x: 2 }), false);
    assert.equal(dyn(`"a" <= s < "c"`, { s: "b" }), true);
  });

  it("deep equality - arrays must match in length, order and element", () => {
    assert.equal(dyn(`a == [1, 2]`, { a: [1, 2] }), true);
    assert.equal(dyn(`a == [1, 2]`, { a: [1, 2, 3] }), false);
    assert.equal(dyn(`a == [1, 2, 3]`, { a: [1, 2] }), false);
    assert.equal(dyn(`a == [2, 1]`, { a: [1, 2] }), false);
    assert.equal(dyn(`a == [[1], [2]]`, { a: [[1], [2]] }), true);
    assert.equal(dyn(`a == [[1], [2]]`, { a: [[1], [3]] }), false);
    assert.equal(dyn(`a == [[1]]`, { a: [{ "0": 1 }] }), false);
    assert.equal(dyn(`a == [1]`, { a: [1n] }), true);
    assert.equal(dyn(`a == [1]`, { a: [null] }), false);
    assert.equal(dyn(`a == ["1"]`, { a: [1] }), false);
  });

  it("deep equality - objects must have the same keys with equal values", () => {
    assert.equal(dyn(`o == p`, { o: { x: 1, y: [2] }, p: { y: [2], x: 1 } }), true);
    assert.equal(dyn(`o == p`, { o: { x: 1, y: 2 }, p: { x: 1 } }), false);
    assert.equal(dyn(`o == p`, { o: { x: 1 }, p: { y: 1 } }), false);
    assert.equal(dyn(`o == p`, { o: { x: 1 }, p: { x: 2 } }), false);
    assert.equal(dyn(`o == p`, { o: { x: null }, p: { x: null } }), true);
    assert.equal(dyn(`o == p`, { o: { x: null }, p: { x: 0 } }), false);
    assert.equal(dyn(`o == p`, { o: {}, p: {} }), true);
    assert.equal(dyn(`o == p`, { o: { x: 1n }, p: { x: 1 } }), true);
  });

  it("in - booleans, strings and numbers are found by value, arrays by deep equality", () => {
    assert.deepEqual(ids("flag in [true]"), [1, 3]);
    assert.deepEqual(ids("flag not in [true]"), [2, 9007199254740995n]);
    assert.equal(dyn(`x in [1, 2]`, { x: 2 }), true);
    assert.equal(dyn(`x in ["2"]`, { x: 2 }), false);
    assert.equal(dyn(`x in [2]`, { x: "2" }), false);
    assert.equal(dyn(`x in [true]`, { x: 1 }), false);
    assert.equal(dyn(`x in [[1, 2]]`, { x: [1, 2] }), true);
    assert.equal(dyn(`x in [[1, 2]]`, { x: [2, 1] }), false);
    assert.equal(dyn(`x in [1]`, { x: [1] }), false);
    assert.equal(dyn(`x in [1]`, { x: { a: 1 } }), false);
    assert.equal(dyn(`x in [[1]]`, { x: { "0": 1 } }), false);
    assert.equal(dyn(`x not in [1]`, { x: null }), false);
    assert.equal(dyn(`x not in [1]`, {}), false);
    assert.equal(dyn(`x in [1]`, { x: null }), false);
  });

  it("in - bigints and numbers are found across representations, exactly", () => {
    const big = 9007199254740993n; // 2^53 + 1, not a double
    assert.equal(matches(`id in [9007199254740993]`, { id: big }), true);
    assert.equal(matches(`id in [9007199254740993]`, { id: big + 1n }), false);
    assert.equal(matches(`id in [7]`, { id: 7n }), true);
    assert.equal(matches(`id in [8]`, { id: 7n }), false);
    assert.equal(matches(`id in [9007199254740993]`, { id: 2 ** 53 }), false);
    assert.equal(matches(`id not in [7]`, { id: 7n }), false);
    assert.equal(matches(`id not in [9007199254740993]`, { id: big }), false);
    assert.equal(dyn(`x in [9007199254740993, 1]`, { x: 1 }), true);
    assert.equal(dyn(`x in [9007199254740993]`, { x: "9007199254740993" }), false);
  });

  it("arithmetic - a non-number operand gives null, which fails every comparison", () => {
    assert.equal(dyn(`s + 1 == 1`, { s: "x" }), false);
    assert.equal(dyn(`1 + s == 1`, { s: "x" }), false);
    assert.equal(dyn(`s * 1 == 0`, { s: null }), false);
    assert.equal(dyn(`-s == 0`, { s: "x" }), false);
    assert.equal(dyn(`-s != 1`, { s: "x" }), false);
    assert.equal(dyn(`(-s) is null`, { s: true }), true);
    assert.equal(dyn(`(s + 1) is null`, {}), true);
    assert.equal(dyn(`-x == -3`, { x: 3n }), true);
    assert.equal(dyn(`x * 2 == 6`, { x: 3n }), true);
  });

  it("arithmetic - a NaN result gives null, so even != fails", () => {
    assert.equal(dyn(`x ** 0.5 != 1`, { x: -8 }), false);
    assert.equal(dyn(`(x ** 0.5) is null`, { x: -8 }), true);
    assert.equal(dyn(`x / 0 != 1`, { x: 1 }), false);
    assert.equal(dyn(`(x / 0) is null`, { x: 0 }), true);
    assert.equal(dyn(`(x % 0) is null`, { x: 5 }), true);
    assert.equal(dyn(`x ** 0.5 == 3`, { x: 9 }), true);
  });

  it("arithmetic - each operator computes its own result", () => {
    assert.equal(dyn(`x + 2 == 9`, { x: 7 }), true);
    assert.equal(dyn(`x - 2 == 5`, { x: 7 }), true);
    assert.equal(dyn(`x * 2 == 14`, { x: 7 }), true);
    assert.equal(dyn(`x / 2 == 3.5`, { x: 7 }), true);
    assert.equal(dyn(`x % 4 == 3`, { x: 7 }), true);
    assert.equal(dyn(`x ** 2 == 49`, { x: 7 }), true);
    assert.equal(dyn(`0 / x == 0`, { x: 7 }), true);
  });

  it("logical - and / or / not treat a non-boolean JSON value as not true", () => {
    assert.equal(dyn(`a and b`, { a: true, b: true }), true);
    assert.equal(dyn(`a and b`, { a: true, b: 1 }), false);
    assert.equal(dyn(`a and b`, { a: 1, b: true }), false);
    assert.equal(dyn(`a or b`, { a: 1, b: "x" }), false);
    assert.equal(dyn(`a or b`, { a: 1, b: true }), true);
    assert.equal(dyn(`a or b`, { a: true, b: 0 }), true);
    assert.equal(dyn(`not a`, { a: "true" }), true);
    assert.equal(dyn(`not a`, { a: true }), false);
  });

  it("is null - a missing key is null, a present falsy value is not", () => {
    assert.equal(dyn(`x is null`, {}), true);
    assert.equal(dyn(`x is not null`, {}), false);
    assert.equal(dyn(`x is null`, { x: 0 }), false);
    assert.equal(dyn(`x is not null`, { x: false }), true);
    assert.equal(dyn(`x is not null`, { x: "" }), true);
    assert.equal(dyn(`x is null`, { x: null }), true);
  });

  it("like - every regular-expression character in a pattern is literal", () => {
    const special = "^$.*+?()[]{}|/";
    const row = { name: `a${special}b` };
    assert.equal(matches(`name like "a^$.*+?()[]{}|/b"`, row), true);
    for (let i = 0; i < special.length; i++) {
      // The pattern with one special character replaced by "x" must not match, and the
      // string with one special character replaced must not match the full pattern.
      const c = special[i];
      const other = `a${special.slice(0, i)}x${special.slice(i + 1)}b`;
      assert.equal(matches(`name like "a^$.*+?()[]{}|/b"`, { name: other }), false, `${c} in the pattern`);
    }
    assert.equal(matches(`name like "a.b"`, { name: "a.b" }), true);
    assert.equal(matches(`name like "a*"`, { name: "aaa" }), false);
    assert.equal(matches(`name like "a+"`, { name: "aa" }), false);
    assert.equal(matches(`name like "a?"`, { name: "" }), false);
    assert.equal(matches(`name like "(a|b)"`, { name: "a" }), false);
    assert.equal(matches(`name like "[ab]"`, { name: "a" }), false);
    assert.equal(matches(`name like "a{2}"`, { name: "aa" }), false);
    assert.equal(matches(`name like "^a$"`, { name: "a" }), false);
  });

  it("like - the pattern is anchored at both ends and wildcards match any characters", () => {
    assert.equal(matches(`name like "b"`, { name: "abc" }), false);
    assert.equal(matches(`name like "ab"`, { name: "abc" }), false);
    assert.equal(matches(`name like "bc"`, { name: "abc" }), false);
    assert.equal(matches(`name like "%b%"`, { name: "abc" }), true);
    assert.equal(matches(`name like "a__"`, { name: "a\n\n" }), true);
    assert.equal(matches(`name like "a_"`, { name: "abc" }), false);
    assert.equal(matches(`name like "_"`, { name: "" }), false);
  });

  it("like - a backslash escapes the next character and a trailing one is literal", () => {
    const like = (pattern: string, name: string): boolean =>
      compileFilter({ kind: "like", operand: { kind: "field", name: "name", path: [] }, pattern }, schema)({ name });
    assert.equal(like("a\\", "a\\"), true);
    assert.equal(like("a\\", "a"), false);
    assert.equal(like("a\\b", "ab"), true);
    assert.equal(like("a\\\\", "a\\"), true);
    assert.equal(like("\\%", "%"), true);
    assert.equal(like("\\%", "x"), false);
    assert.equal(like("\\_", "x"), false);
    assert.equal(like("\\.", "x"), false);
    assert.equal(like("\\.", "."), true);
  });

  it("an integer field refuses an in list written with floats, as Milvus; other numbers take it", () => {
    rejects("age in [1.0, 2.0]", "FILTER_TYPE", 'field "age" (Int32) holds integers', "floating-point");
    rejects("age not in [1, 2.0]", "FILTER_TYPE", "floating-point");
    rejects("age in [1e1]", "FILTER_TYPE", "floating-point");
    assert.doesNotThrow(() => compileFilterText("age in [1, 2, 0x10]", schema));
    assert.doesNotThrow(() => compileFilterText("score in [1.0, 2]", schema));
    assert.doesNotThrow(() => compileFilterText(`meta["a"] in [1.0, 2]`, schema));
  });

  it("exists - a key that is there exists, also with a null value; a missing one does not; only JSON has keys", () => {
    assert.equal(dyn("exists a", { a: null }), true);
    assert.equal(dyn("exists a", { b: 1 }), false);
    assert.equal(dyn(`EXISTS a["x"][0]`, { a: { x: [5] } }), true);
    assert.equal(dyn(`exists a["x"][1]`, { a: { x: [5] } }), false);
    assert.equal(dyn("not exists a", { b: 1 }), true);
    rejectsTyped("exists tags", "exists needs a JSON field or a key of one", 'field "tags" (Array<Int64>)');
  });

  it("contains functions - a non-array target gives false", () => {
    assert.equal(dyn(`json_contains_any(a, [1])`, { a: { x: 1 } }), false);
    assert.equal(dyn(`json_contains_all(a, [])`, { a: "x" }), false);
    assert.equal(dyn(`json_contains_all(a, [2, 1])`, { a: [1, 2] }), true);
    assert.equal(dyn(`json_contains_all(a, [2, 3])`, { a: [1, 2] }), false);
    assert.equal(dyn(`json_contains_any(a, [3, 2])`, { a: [1, 2] }), true);
    assert.equal(dyn(`json_contains(a, 1)`, { a: { x: 1 } }), false);
    assert.equal(dyn(`array_length(a) == 0`, { a: "" }), false);
    assert.equal(dyn(`array_length(a) == 2`, { a: [0, 0] }), true);
  });

  it("filterFields - lists every identifier once, in every kind of expression", () => {
    assert.deepEqual(filterFields(parseFilter(`-a > 1`)), ["a"]);
    assert.deepEqual(filterFields(parseFilter(`b in [1, 2]`)), ["b"]);
    assert.deepEqual(filterFields(parseFilter(`c is null`)), ["c"]);
    assert.deepEqual(filterFields(parseFilter(`d like "x%"`)), ["d"]);
    assert.deepEqual(filterFields(parseFilter(`not e`)), ["e"]);
    assert.deepEqual(filterFields(parseFilter(`f + g * f > h`)), ["f", "g", "h"]);
    assert.deepEqual(filterFields(parseFilter(`lo < x <= hi`)), ["lo", "x", "hi"]);
    assert.deepEqual(filterFields(parseFilter(`array_contains(t, v)`)), ["t", "v"]);
    assert.deepEqual(filterFields(parseFilter(`1 < 2`)), []);
    assert.deepEqual(filterFields(parseFilter(`true`)), []);
  });

  it("compileScope - compiles the filter and collects the partitions", () => {
    const none = compileScope(schema, {});
    assert.equal(none.filter, undefined);
    assert.equal(none.partitions, undefined);
    assert.equal(compileScope(schema, { filter: "" }).filter, undefined);
    const s = compileScope(schema, { filter: "age > 20", partition_names: ["p1", "p2"] });
    assert.deepEqual(rows.filter(s.filter!.row).map((r) => r.id), [2, 3, 9007199254740995n]);
    // The slot form reads fields through the reader it is given (a sealed segment's columns): same rows.
    const bySlot = s.filter!.slots((name) => (slot) => rows[slot][name]);
    assert.deepEqual(rows.filter((_, slot) => bySlot(slot)).map((r) => r.id), [2, 3, 9007199254740995n]);
    assert.deepEqual([...s.partitions!].sort(), ["p1", "p2"]);
    assert.deepEqual([...compileScope(schema, { partition_names: [] }).partitions!], []);
  });

  it("schema fields - each scalar type has its static type, JSON is checked per row", () => {
    const wide: CollectionSchema = {
      enable_dynamic_field: false,
      fields: [
        { name: "id", type: "Int64", is_primary: true },
        { name: "f", type: "Float" },
        { name: "i8", type: "Int8" },
        { name: "s", type: "VarChar", max_length: 8 },
        { name: "b", type: "Bool" },
        { name: "j", type: "JSON" },
      ],
    };
    const ok = (t: string): void => assert.doesNotThrow(() => compileFilterText(t, wide), t);
    const bad = (t: string): void => assert.throws(() => compileFilterText(t, wide), VecbusError, t);
    ok("f < 1.5");
    ok("i8 + f > 0");
    bad(`f == "x"`);
    bad(`i8 == true`);
    ok(`s == "x"`);
    bad("s == 1");
    bad(`s == true`);
    ok("b == false");
    ok("b");
    bad(`b == "x"`);
    bad("b == 1");
    ok(`j == "x"`);
    ok(`j == 1`);
    ok(`j`);
    ok(`j["k"] < 1`);
    bad("s");
    bad("f");
    bad(`s["k"] == 1`);
    bad(`b[0] == 1`);
    bad(`id in ["1"]`);
  });
});
