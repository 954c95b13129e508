// Scalar indexes end to end: create_index on scalar fields as Milvus takes it
// (INVERTED, BITMAP, STL_SORT, AUTOINDEX), declared with the collection or
// after it is loaded, and dropped; filtered query and search give the same
// rows with them as a collection without them and as a reference evaluator
// written here; and the query node's filters do go through the indexes
// (a probe on SealedSegment.scalarIndex, the only way into them).
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { SealedSegment } from "../../engine/sealed-segment.js";
import type { Row } from "../../protocol/rows.js";
import type { CollectionSchema } from "../../protocol/schema.js";
import { rejectsWith } from "../assert.js";
import { assertHits, rank } from "../brute-force.js";
import { startEnv, type TestEnv } from "../harness.js";
import { randomVectors } from "../random.js";
import { committedSegments } from "../segments.js";
import { servedByQueryNodes } from "../shard-stats.js";
import { eventually, TEST_TIMEOUT_MS } from "../timeouts.js";

const DIM = 8;
const N = 1000;
const TAGS = ["a", "b", "bb", "c", "é"];

interface Item {
  id: number;
  vector: number[];
  cat: number;
  price: number | null;
  tag: string;
  flag: boolean;
  note: string;
}

const items: Item[] = randomVectors(N, DIM, 31).map((vector, id) => ({
  id,
  vector,
  cat: (id * 7) % 20,
  price: id % 9 === 0 ? null : ((id * 37) % 200) / 2 - 10,
  tag: TAGS[(id * 3) % TAGS.length],
  flag: id % 3 === 0,
  note: `n${id % 4}`,
}));

/** Filters and what each means, evaluated here on the rows written (SQL-like: null passes no comparison). */
const FILTERS: [string, (r: Item) => boolean][] = [
  ["cat == 3", (r) => r.cat === 3],
  ["cat in [1, 5, 7]", (r) => [1, 5, 7].includes(r.cat)],
  ["cat not in [1, 2]", (r) => ![1, 2].includes(r.cat)],
  ["cat != 4 and price > 10", (r) => r.cat !== 4 && r.price !== null && r.price > 10],
  ["10 <= price < 50", (r) => r.price !== null && r.price >= 10 && r.price < 50],
  ["price <= 0", (r) => r.price !== null && r.price <= 0],
  ["price != 5", (r) => r.price !== null && r.price !== 5],
  ['tag == "b"', (r) => r.tag === "b"],
  ['tag in ["a", "c"]', (r) => r.tag === "a" || r.tag === "c"],
  ['tag > "b"', (r) => r.tag > "b"],
  ["flag == true", (r) => r.flag],
  ["flag != true or cat < 2", (r) => !r.flag || r.cat < 2],
  ["not (cat >= 10)", (r) => !(r.cat >= 10)],
  ['cat < 0 or note == "n1"', (r) => r.cat < 0 || r.note === "n1"],
];

/** Names SealedSegment.scalarIndex is asked for while `probe.on`: the fields whose index a read used. */
const probe = { on: false, fields: new Set<string>() };
const original = SealedSegment.prototype.scalarIndex;

async function ids(env: TestEnv, collection: string, filter: string): Promise<number[]> {
  const rows = await env.client.query({ collection_name: collection, filter, output_fields: ["id"], limit: N, consistency_level: "Strong" });
  return rows.map((r) => r.id as number).sort((a, b) => a - b);
}

async function fieldsUsed(read: () => Promise<unknown>): Promise<Set<string>> {
  probe.fields = new Set();
  probe.on = true;
  try {
    await read();
  } finally {
    probe.on = false;
  }
  return probe.fields;
}

describe("scalar indexes", () => {
  let env: TestEnv;
  before(async () => {
    SealedSegment.prototype.scalarIndex = function (this: SealedSegment, name: string) {
      if (probe.on) probe.fields.add(name);
      return original.call(this, name);
    };
    env = await startEnv({ tag: "scalar-ix", seal: { segmentRowsMax: 300, sealIdleMs: 600_000 } });
    const schema: CollectionSchema = {
      enable_dynamic_field: false,
      fields: [
        { name: "id", type: "Int64", is_primary: true },
        { name: "vector", type: "FloatVector", dim: DIM },
        { name: "cat", type: "Int32" },
        { name: "price", type: "Double", nullable: true },
        { name: "tag", type: "VarChar", max_length: 8 },
        { name: "flag", type: "Bool" },
        { name: "note", type: "VarChar", max_length: 8 },
        { name: "info", type: "JSON", nullable: true },
      ],
    };
    const flat = { field_name: "vector", index_type: "FLAT" };
    await env.client.create_collection({ collection_name: "plain", schema, metric_type: "L2", index_params: [flat] });
    await env.client.create_collection({
      collection_name: "indexed",
      schema,
      metric_type: "L2",
      index_params: [flat, { field_name: "cat", index_type: "BITMAP" }, { field_name: "tag", index_type: "INVERTED", index_name: "tag_ix" }],
    });
    for (const name of ["plain", "indexed"]) {
      for (let i = 0; i < N; i += 250) await env.client.insert({ collection_name: name, data: items.slice(i, i + 250) as unknown as Row[] });
      await env.client.flush({ collection_name: name });
      const desc = await env.client.describe_collection({ collection_name: name });
      await env.client.load_collection({ collection_name: name });
      const sealed = (await committedSegments(env.admin, desc.collection_id)).length;
      await eventually(`${name}: every sealed segment served by the query node`, async () => (await servedByQueryNodes(env.admin, desc.collection_id, 1)) === sealed);
    }
  });
  after(async () => {
    SealedSegment.prototype.scalarIndex = original;
    await env?.close();
  });

  test("scalar indexes - create_index checks the index type against the field type", async () => {
    const c = env.client;
    const one = (p: Record<string, unknown>) => c.call("create_index", { collection_name: "plain", index_params: [p] });
    await rejectsWith(one({ field_name: "price", index_type: "BITMAP" }), "INVALID_ARGUMENT", /cannot index Double field "price"; use one of INVERTED, STL_SORT, AUTOINDEX/);
    await rejectsWith(one({ field_name: "tag", index_type: "STL_SORT" }), "INVALID_ARGUMENT", /cannot index VarChar field "tag"; use one of INVERTED, BITMAP, AUTOINDEX/);
    await rejectsWith(one({ field_name: "cat", index_type: "HNSW" }), "INVALID_ARGUMENT", /cannot index Int32 field "cat"/);
    await rejectsWith(one({ field_name: "vector", index_type: "INVERTED" }), "INVALID_ARGUMENT", /does not index vectors; use one of FLAT, HNSW, HNSW_SQ, AUTOINDEX/);
    await rejectsWith(one({ field_name: "info", index_type: "INVERTED" }), "INVALID_ARGUMENT", /"info" is JSON/);
    await rejectsWith(one({ field_name: "cat", index_type: "STL_SORT", metric_type: "L2" }), "INVALID_ARGUMENT", /metric_type applies to vector indexes/);
    await rejectsWith(one({ field_name: "cat", index_type: "INVERTED", params: { tokenizer: "x" } }), "INVALID_ARGUMENT", /takes no params; got tokenizer/);
    assert.deepEqual(await c.list_indexes({ collection_name: "plain" }), ["vector"]);
  });

  test("scalar indexes - filtered reads give the same rows with and without them, and use them", { timeout: TEST_TIMEOUT_MS }, async () => {
    const c = env.client;
    // Declared after the load: the query node hears of them through the meta watch.
    await c.create_index({ collection_name: "indexed", index_params: [{ field_name: "price", index_type: "STL_SORT" }, { field_name: "flag", index_type: "AUTOINDEX" }] });
    const cat = await c.describe_index({ collection_name: "indexed", index_name: "cat" });
    assert.deepEqual([cat.index_type, cat.metric_type, cat.state, cat.indexed_rows], ["BITMAP", undefined, "Finished", N]);
    assert.equal((await c.describe_index({ collection_name: "indexed", field_name: "flag" })).index_type, "INVERTED");
    assert.deepEqual(await c.list_indexes({ collection_name: "indexed" }), ["cat", "flag", "price", "tag_ix", "vector"]);
    await eventually("the query node uses the indexes declared after the load", async () => (await fieldsUsed(() => ids(env, "indexed", "price > 1 and flag == true"))).size === 2);

    const queries = randomVectors(2, DIM, 99);
    for (const [filter, keep] of FILTERS) {
      const want = items.filter(keep).map((r) => r.id);
      assert.ok(want.length > 0, `${filter} matches something`);
      const used = await fieldsUsed(() => ids(env, "indexed", filter).then((got) => assert.deepEqual(got, want, `indexed: ${filter}`)));
      assert.ok(used.size > 0, `${filter}: no scalar index used`);
      assert.deepEqual(await fieldsUsed(() => ids(env, "plain", filter).then((got) => assert.deepEqual(got, want, `plain: ${filter}`))), new Set(), `plain: ${filter}`);
      for (const name of ["indexed", "plain"]) {
        const res = await c.search({ collection_name: name, data: queries, limit: 10, filter, consistency_level: "Strong" });
        queries.forEach((q, i) => assertHits(res[i], rank(items, (r) => r.vector, q, "L2", keep).slice(0, 10), `${name}: ${filter}, query ${i}`));
      }
    }

    await c.drop_index({ collection_name: "indexed", index_name: "cat" });
    await eventually("a dropped index is no longer used", async () => !(await fieldsUsed(() => ids(env, "indexed", "cat == 3"))).has("cat"));
    assert.deepEqual(await ids(env, "indexed", "cat == 3"), items.filter((r) => r.cat === 3).map((r) => r.id));
  });
});
