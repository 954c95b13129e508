// The filter bounds of protocol/limits.ts at their defaults: text length,
// nesting depth (parentheses, unary chains, and/or and arithmetic chains,
// nested arrays, template arrays) and `in` list length. Each attack of issue 9
// ran the parser or evaluator out of stack (INTERNAL) or held the event loop;
// now each is FILTER_SYNTAX naming its limit, and filters just inside the
// bounds still parse, evaluate right (checked against the row the test
// wrote) and print back to the same tree.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { formatExpr, parseFilter } from "../../protocol/filter/index.js";
import type { CollectionSchema } from "../../protocol/schema.js";
import { compileFilterText } from "../../engine/filter-eval.js";
import { VecbusError } from "../../protocol/errors.js";
import { optFilter } from "../../protocol/args.js";

const schema: CollectionSchema = {
  enable_dynamic_field: true,
  fields: [
    { name: "id", type: "Int64", is_primary: true },
    { name: "age", type: "Int32" },
    { name: "vec", type: "FloatVector", dim: 2 },
  ],
};

function refused(text: string, limitEnv: string, params?: Record<string, unknown>): void {
  assert.throws(
    () => parseFilter(text, params),
    (e: unknown) => e instanceof VecbusError && e.code === "FILTER_SYNTAX" && e.message.includes(`(${limitEnv})`),
    `${text.slice(0, 40)}… (${text.length} characters)`,
  );
}

describe("filter limits", () => {
  it("filter limits - deep nesting of every kind is FILTER_SYNTAX naming VECBUS_FILTER_MAX_DEPTH, not a stack overflow", () => {
    refused("(".repeat(5000) + "age == 1" + ")".repeat(5000), "VECBUS_FILTER_MAX_DEPTH");
    refused("!".repeat(60_000) + "true", "VECBUS_FILTER_MAX_DEPTH");
    refused("!".repeat(100_000) + "true", "VECBUS_FILTER_MAX_DEPTH");
    refused("-".repeat(5000) + "age > 0", "VECBUS_FILTER_MAX_DEPTH");
    refused(Array.from({ length: 2000 }, (_, i) => `age == ${i}`).join(" and "), "VECBUS_FILTER_MAX_DEPTH");
    refused("age == " + Array.from({ length: 3000 }, () => "1").join(" + "), "VECBUS_FILTER_MAX_DEPTH");
    refused("age ** ".repeat(2000) + "1 > 0", "VECBUS_FILTER_MAX_DEPTH");
    refused(`json_contains(meta, ${"[".repeat(3000)}${"]".repeat(3000)})`, "VECBUS_FILTER_MAX_DEPTH");
    let deep: unknown = [];
    for (let i = 0; i < 100_000; i++) deep = [deep];
    refused("json_contains(meta, {v})", "VECBUS_FILTER_MAX_DEPTH", { v: deep });
  });

  it("filter limits - an or chain of 250 terms parses, evaluates against the row and prints back to the same text", () => {
    const text = Array.from({ length: 250 }, (_, i) => `age == ${i * 2}`).join(" or ");
    const pred = compileFilterText(text, schema);
    assert.equal(pred({ id: 1, age: 498, vec: [0, 0] }), true);
    assert.equal(pred({ id: 1, age: 497, vec: [0, 0] }), false);
    assert.equal(pred({ id: 1, age: 500, vec: [0, 0] }), false);
    assert.equal(formatExpr(parseFilter(text)), text);
    const parens = "(".repeat(250) + "age == 3" + ")".repeat(250);
    assert.equal(compileFilterText(parens, schema)({ id: 1, age: 3, vec: [0, 0] }), true);
  });

  it("filter limits - a request's filter over 65536 characters is FILTER_SYNTAX naming VECBUS_FILTER_MAX_LENGTH", () => {
    const pad = (n: number) => `age == 1${" ".repeat(n - 8)}`;
    assert.equal(pad(65_536).length, 65_536);
    assert.equal(optFilter({ filter: pad(65_536) }), pad(65_536));
    for (const field of ["filter", "expr"]) {
      assert.throws(
        () => optFilter({ [field]: pad(65_537) }),
        (e: unknown) => e instanceof VecbusError && e.code === "FILTER_SYNTAX" && e.message.includes("(VECBUS_FILTER_MAX_LENGTH)"),
      );
    }
  });

  it("filter limits - an in list holds at most 65536 values, written out or from a template", () => {
    const values = (n: number) => Array.from({ length: n }, (_, i) => i);
    assert.doesNotThrow(() => parseFilter("id in {ids}", { ids: values(65_536) }));
    // The proxy sends the filter on printed with its template filled in, far over the length bound: the shard parses it.
    const printed = optFilter({ filter: "id in {ids}", filter_params: { ids: values(65_536) } })!;
    assert.ok(printed.length > 65_536);
    assert.equal(compileFilterText(printed, schema)({ id: 65_535, age: 0, vec: [0, 0] }), true);
    refused("id in {ids}", "VECBUS_FILTER_MAX_IN", { ids: values(65_537) });
    // Written out, 65537 values need more than 65536 characters; with a raised
    // length limit the list bound would still hold (same check, same message).
    assert.deepEqual(compileFilterText("id in [1, 2, 3]", schema)({ id: 2, age: 0, vec: [0, 0] }), true);
  });
});
