// Filters answered from scalar indexes give the same rows as without them:
// random filters against the reference evaluator, and every comparison, range
// and `in` list of every indexable field against the row form.
import assert from "node:assert/strict";
import { it } from "node:test";
import { parseFilter } from "../../protocol/filter/index.js";
import type { Row } from "../../protocol/rows.js";
import { compileFilterText } from "../../engine/filter-eval.js";
import { compileFilterForms, compileScope } from "../../engine/filter-scope.js";
import { compileProjection } from "../../engine/projection.js";
import { ScalarIndex, type IndexTest } from "../../engine/scalar-index.js";
import { FILTER_SCHEMA, filterGenerator, refBool, show } from "../reference/filter.js";
import { rng } from "../random.js";
import { sealedOf } from "../sealed-of.js";

const INDEXED = new Set(["id", "age", "score", "name", "flag", "rank"]);

/** The rows' indexes, counting the bitsets of leaves an index answered (a leaf the scan decided is not counted). */
function indexesOf(rows: Row[]) {
  const built = new Map<string, ScalarIndex | undefined>();
  const answered = { count: 0 };
  const counted = <T>(r: T | undefined) => {
    if (r) answered.count++;
    return r;
  };
  const indexes = (name: string): ScalarIndex | undefined => {
    if (!built.has(name)) built.set(name, ScalarIndex.build(rows.map((r) => r[name])));
    const ix = built.get(name);
    if (!ix) return undefined;
    // Counted where a bitset is made: a list (slots()) answers another form of the filter.
    const match = (t: IndexTest) => {
      const m = ix.match(t);
      return m && { bits: (n: number) => counted(m.bits(n)), slots: (most: number) => m.slots(most) };
    };
    return { match } as unknown as ScalarIndex;
  };
  return { indexes, answered };
}

it("scalar index - bitsets from scalar indexes agree with the reference evaluator on 2000 random filters", () => {
  const gen = filterGenerator(rng(0x1dea));
  const rows = Array.from({ length: 200 }, gen.row);
  const columns = (name: string) => rows.map((r) => r[name]);
  const { indexes, answered } = indexesOf(rows);
  for (let n = 0; n < 2000; n++) {
    const tree = gen.filter(n % 2);
    const { text, params } = gen.render(tree);
    const bits = compileFilterForms(parseFilter(text, params), FILTER_SCHEMA, INDEXED).bits?.(columns, rows.length, indexes);
    if (!bits) continue;
    rows.forEach((row, slot) => assert.equal(bits[slot] === 1, refBool(tree, row), `case ${n}: ${text}\nparams ${show(params)}\nrow ${show(row)}`));
  }
  assert.ok(answered.count > 100, `only ${answered.count} filter leaves were answered by an index`);
});

it("scalar index - every comparison, range and in list of every field type gives the row form's rows", () => {
  const gen = filterGenerator(rng(0x50f7));
  const rows = Array.from({ length: 300 }, gen.row);
  const columns = (name: string) => rows.map((r) => r[name]);
  const { indexes, answered } = indexesOf(rows);
  const literals: Record<string, string[]> = {
    age: ["-6", "-5", "0", "7", "25", "50", "51", "2.5"],
    rank: ["-5", "0", "7", "50", "-0.5"],
    score: ["-1.5", "0", "0.5", "1", "10", "1e3", "-0.0"],
    name: ['""', '"a"', '"ab"', '"Bob"', '"bob"', '"zzz"', '"é"'],
    flag: ["true", "false"],
  };
  const texts: string[] = [];
  for (const [field, values] of Object.entries(literals)) {
    for (const v of values) {
      for (const op of ["==", "!=", "<", "<=", ">", ">="]) texts.push(`${field} ${op} ${v}`, `${v} ${op} ${field}`);
      for (const w of values) texts.push(`${v} < ${field} <= ${w}`, `${v} <= ${field} < ${w}`);
    }
    texts.push(`${field} in [${values.slice(0, 3).join(", ")}]`, `${field} not in [${values.slice(1, 4).join(", ")}]`, `${field} in []`);
    texts.push(`not (${field} == ${values[1]}) and ${field} != ${values[0]}`, `${field} == ${values[0]} or ${field} == ${values[values.length - 1]}`);
  }
  // Literals of another kind than the field's values: the scan decides.
  texts.push('age == "a"', "name < 3", "flag == 1", "age in [1, \"x\"]", "rank >= 2.5");
  let bitsets = 0;
  let typed = 0;
  let listed = 0;
  for (const text of texts) {
    let compiled;
    try {
      compiled = compileFilterForms(parseFilter(text), FILTER_SCHEMA, INDEXED);
    } catch (e) {
      // Orderings of booleans and cross-kind comparisons are type errors before any segment sees them.
      assert.equal((e as { code?: string }).code, "FILTER_TYPE", text);
      continue;
    }
    typed++;
    const bits = compiled.bits?.(columns, rows.length, indexes);
    if (!bits) continue;
    bitsets++;
    const row = compileFilterText(text, FILTER_SCHEMA);
    rows.forEach((r, slot) => assert.equal(bits[slot] === 1, row(r), `${text}\nrow ${show(r)}`));
    const matches = rows.flatMap((r, slot) => (row(r) ? [slot] : []));
    const list = compiled.indexSlots?.(indexes, rows.length);
    if (!list) continue;
    listed++;
    assert.deepEqual(Array.from(list).sort((a, b) => a - b), matches, `${text}: the index's list`);
    if (matches.length > 0) assert.equal(compiled.indexSlots!(indexes, matches.length - 1), undefined, `${text}: more match than asked for`);
  }
  // One test on an indexed field has a list form; `not in`, and/or/not of tests, and cross-kind literals have none.
  assert.ok(listed > typed * 0.6, `${listed} of ${typed} filters listed by an index`);
  assert.ok(typed > texts.length * 0.8 && bitsets === typed, `${typed} of ${texts.length} filters type-checked, ${bitsets} had a bitset form`);
  assert.ok(answered.count > typed * 0.9, `${answered.count} index answers for ${typed} filters`);
});

it("scalar index - an `in` list naming a value twice lists its rows once", () => {
  const ix = ScalarIndex.build([3, 1, 3, 2, null, 3])!;
  assert.deepEqual(Array.from(ix.match({ kind: "in", values: [3, 1, 3], negated: false })!.slots(10)!).sort(), [0, 1, 2, 5]);
  assert.deepEqual(Array.from(ix.match({ kind: "compare", op: "==", value: 3 })!.slots(10)!), [0, 2, 5], "ascending within equal values");
  assert.equal(ix.match({ kind: "compare", op: "!=", value: 3 })!.slots(1), undefined, "two match, at most one asked for");
  assert.deepEqual(Array.from(ix.match({ kind: "in", values: [3, 3], negated: true })!.bits(6)), [0, 1, 0, 1, 0, 0], "not in: neither the listed value nor null");
});

it("scalar index - a sealed segment's search, query and count through an index's list leave out dead rows", () => {
  const schema = { enable_dynamic_field: false, fields: [{ name: "id", type: "Int64" as const, is_primary: true }, { name: "age", type: "Int32" as const }, { name: "v", type: "FloatVector" as const, dim: 2 }] };
  const rows = Array.from({ length: 400 }, (_, i) => ({ id: i, age: i % 40, v: Float32Array.of(i % 7, i % 11) }));
  const segment = sealedOf({ segment_id: 1, collection_id: 1, shard: 0, seq_from: 1, seq_to: 1 }, schema, rows, rows.map(() => 1n));
  segment.useScalarIndexes(new Set(["age"]));
  const dead = new Set([3, 43, 83, 123, 5, 205]);
  segment.delete([...dead]);
  const project = compileProjection(schema, []);
  for (const text of ["age == 3", "age < 2", "3 <= age < 6", "age in [5, 3]"]) {
    const scope = compileScope(schema, { filter: text }, new Set(["age"]));
    assert.ok(scope.filter?.indexSlots?.((name) => segment.scalarIndex(name), 400), `${text} has a list form`);
    const pass = compileFilterText(text, schema);
    const want = rows.filter((r) => !dead.has(r.id) && pass(r));
    assert.equal(segment.count(scope), want.length, text);
    assert.deepEqual(segment.query(project, 1000, scope).map((r) => r.id), want.map((r) => r.id), text);
    const query = Float32Array.of(2, 3);
    const [hits] = segment.search({ queries: [query], field: "v", metric: "L2", limit: 5, project, scope });
    const l2 = (r: (typeof rows)[number]) => (r.v[0] - 2) ** 2 + (r.v[1] - 3) ** 2;
    const best = want.sort((a, b) => l2(a) - l2(b) || a.id - b.id).slice(0, 5);
    assert.deepEqual(hits.map((h) => h.id), best.map((r) => r.id), text);
  }
});

it("scalar index - a column holding values of more than one kind has no index", () => {
  assert.equal(ScalarIndex.build([1, "a", null]), undefined);
  assert.equal(ScalarIndex.build([1, 2n]), undefined);
  assert.ok(ScalarIndex.build([null, null]));
  assert.ok(ScalarIndex.build(["b", null, "a"]));
});

it("scalar index - a sealed segment builds a field's index once and lets it go when told the index is dropped", () => {
  const schema = { enable_dynamic_field: false, fields: [{ name: "id", type: "Int64" as const, is_primary: true }, { name: "age", type: "Int32" as const }, { name: "v", type: "FloatVector" as const, dim: 2 }] };
  const rows = Array.from({ length: 10 }, (_, i) => ({ id: i, age: 9 - i, v: Float32Array.of(i, 0) }));
  const segment = sealedOf({ segment_id: 1, collection_id: 1, shard: 0, seq_from: 1, seq_to: 1 }, schema, rows, rows.map(() => 1n));
  const first = segment.scalarIndex("age")!;
  assert.deepEqual(Array.from(first.match({ kind: "compare", op: "<", value: 3 })!.bits(10)), [0, 0, 0, 0, 0, 0, 0, 1, 1, 1]);
  assert.equal(segment.withDead([2]).scalarIndex("age"), first, "views of the same rows share it");
  segment.useScalarIndexes(new Set(["age"]));
  assert.equal(segment.scalarIndex("age"), first);
  segment.useScalarIndexes(new Set());
  assert.notEqual(segment.scalarIndex("age"), first, "dropped, then built again on demand");
});
