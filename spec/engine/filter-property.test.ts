// Random well-typed filters over a small schema, rendered to text with random
// spelling, checked against the reference evaluator of spec/reference/filter.ts
// that walks the generated tree directly.
import assert from "node:assert/strict";
import { it } from "node:test";
import { parseFilter } from "../../protocol/filter/index.js";
import { compileFilterText } from "../../engine/filter-eval.js";
import { compileFilterForms } from "../../engine/filter-scope.js";
import { FILTER_SCHEMA, filterGenerator, refBool, show } from "../reference/filter.js";
import { rng } from "../random.js";

it("filter property - compiled filters agree with a reference evaluator on 2000 random filters", () => {
  const gen = filterGenerator(rng(0x5eed));
  const rows = Array.from({ length: 40 }, gen.row);
  let matched = 0;
  let total = 0;
  for (let n = 0; n < 2000; n++) {
    const tree = gen.filter(4);
    const { text, params } = gen.render(tree);
    const predicate = compileFilterText(text, FILTER_SCHEMA, params);
    for (const row of rows) {
      const expected = refBool(tree, row);
      const actual = predicate(row);
      assert.equal(actual, expected, `case ${n}: ${text}\nparams ${show(params)}\nrow ${show(row)}`);
      if (expected) matched++;
      total++;
    }
  }
  // Guard against a generator that makes everything trivially true or false.
  assert.ok(matched > total * 0.1 && matched < total * 0.9, `${matched} of ${total} matched`);
});

it("filter property - the slot and bitset forms a sealed segment runs agree with the reference evaluator", () => {
  const gen = filterGenerator(rng(0xb175));
  const rows = Array.from({ length: 40 }, gen.row);
  const columns = (name: string) => rows.map((r) => r[name]);
  let withBits = 0;
  for (let n = 0; n < 2000; n++) {
    // Shallow trees, so that many of them are forms the bitset covers (field against literal, in, is null, and/or/not).
    const tree = gen.filter(n % 2);
    const { text, params } = gen.render(tree);
    const compiled = compileFilterForms(parseFilter(text, params), FILTER_SCHEMA);
    const bySlot = compiled.slots((name) => (slot) => rows[slot][name]);
    const bits = compiled.bits?.(columns, rows.length);
    if (bits) withBits++;
    rows.forEach((row, slot) => {
      const expected = refBool(tree, row);
      const where = `case ${n}: ${text}\nparams ${show(params)}\nrow ${show(row)}`;
      assert.equal(bySlot(slot), expected, `slot form, ${where}`);
      if (bits) assert.equal(bits[slot] === 1, expected, `bitset form, ${where}`);
    });
  }
  assert.ok(withBits > 200, `only ${withBits} of 2000 filters had a bitset form`);
});

it("filter property - the bitset form of every comparison of a numeric field (nullable too) with a number agrees with the row form", () => {
  const gen = filterGenerator(rng(0xc0de));
  const rows = Array.from({ length: 200 }, gen.row);
  const columns = (name: string) => rows.map((r) => r[name]);
  let checked = 0;
  for (const field of ["age", "rank", "score"]) {
    for (const op of ["==", "!=", "<", "<=", ">", ">="]) {
      for (const literal of ["-3", "0", "7", "25", "2.5", "-0.5", "1e3"]) {
        const text = `${field} ${op} ${literal}`;
        const compiled = compileFilterForms(parseFilter(text), FILTER_SCHEMA);
        const bits = compiled.bits?.(columns, rows.length);
        assert.ok(bits, `${text} has a bitset form`);
        const row = compileFilterText(text, FILTER_SCHEMA);
        rows.forEach((r, slot) => assert.equal(bits[slot] === 1, row(r), `${text}\nrow ${show(r)}`));
        checked++;
      }
    }
  }
  assert.equal(checked, 3 * 6 * 7);
});
