// Arguments as a Milvus application sends them (pymilvus's MilvusClient):
// one row map or an empty list for insert and upsert, query by `ids`, an
// empty `output_fields` meaning every field, a search's `offset` inside
// `search_params`, and `round_decimal`. Expected answers come from the rows
// the test wrote and a brute-force ranking (spec/brute-force.ts); the rows
// stay in the growing segment, which vecbus searches exactly.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { Row } from "../../protocol/rows.js";
import { rank } from "../brute-force.js";
import { startEnv, type TestEnv } from "../harness.js";
import { randomVectors } from "../random.js";

const DIM = 6;

describe("milvus arguments", () => {
  let env: TestEnv;
  const rows: (Row & { id: number; vector: number[] })[] = randomVectors(60, DIM, 17).map((vector, id) => ({ id, vector, tag: `t${id % 5}` }));
  before(async () => {
    env = await startEnv({ tag: "milvus-args" });
    await env.client.create_collection({ collection_name: "m", dimension: DIM, metric_type: "L2" });
    await env.client.insert({ collection_name: "m", data: rows.slice(1) });
  });
  after(async () => env?.close());

  test("milvus args - insert and upsert take one row map; an empty list writes nothing", async () => {
    const c = env.client;
    assert.deepEqual(await c.insert({ collection_name: "m", data: [] }), { insert_count: 0, ids: [], timestamp: 0 });
    const one = await c.insert({ collection_name: "m", data: rows[0] });
    assert.equal(one.insert_count, 1);
    assert.deepEqual(one.ids, [0]);
    const up = await c.upsert({ collection_name: "m", data: { ...rows[0], tag: "changed" } });
    assert.equal(up.upsert_count, 1);
    const got = await c.get({ collection_name: "m", ids: [0], output_fields: ["tag"], consistency_level: "Strong" });
    assert.deepEqual(got, [{ id: 0, tag: "changed" }]);
    await c.upsert({ collection_name: "m", data: rows[0] });
    assert.deepEqual(await c.upsert({ collection_name: "m", data: [] }), { upsert_count: 0, ids: [], timestamp: 0 });
  });

  test("milvus args - query by ids, alone and with a filter; an empty output_fields returns every field", async () => {
    const c = env.client;
    const byIds = await c.query({ collection_name: "m", ids: [3, 7, 11, 999], output_fields: ["tag"], consistency_level: "Strong" });
    assert.deepEqual(byIds, [3, 7, 11].map((id) => ({ id, tag: `t${id % 5}` })));
    const both = await c.query({ collection_name: "m", ids: [3, 7, 11], filter: 'tag == "t2"', output_fields: ["tag"], consistency_level: "Strong" });
    assert.deepEqual(both, [{ id: 7, tag: "t2" }]);
    const all = await c.query({ collection_name: "m", ids: [4], output_fields: [], consistency_level: "Strong" });
    assert.deepEqual(Object.keys(all[0]).sort(), ["id", "tag", "vector"]);
    const got = await c.get({ collection_name: "m", ids: [4], output_fields: [], consistency_level: "Strong" });
    assert.deepEqual(Object.keys(got[0]).sort(), ["id", "tag", "vector"]);
  });

  test("milvus args - search by primary keys uses those rows' stored vectors, in order; unknown ids and both forms are refused", async () => {
    const c = env.client;
    const hits = await c.search({ collection_name: "m", ids: [12, 5], limit: 3, consistency_level: "Strong" });
    for (const [i, id] of [12, 5].entries()) {
      const exact = rank(rows, (r) => r.vector, rows[id].vector, "L2").slice(0, 3);
      assert.deepEqual(
        hits[i].map((h) => h.id),
        exact.map((e) => e.id),
      );
    }
    await assert.rejects(c.search({ collection_name: "m", ids: [5, 777], limit: 3 }), /ids names rows that do not exist: \[777\]/);
    await assert.rejects(c.search({ collection_name: "m", ids: [5], data: [rows[5].vector], limit: 3 }), /not both/);
  });

  test("milvus args - search_params.offset pages like offset; round_decimal rounds distances", async () => {
    const c = env.client;
    const q = randomVectors(1, DIM, 99)[0];
    const exact = rank(rows, (r) => r.vector, q, "L2");
    const paged = await c.search({ collection_name: "m", data: [q], limit: 5, search_params: { offset: 3 }, consistency_level: "Strong" });
    assert.deepEqual(
      paged[0].map((h) => h.id),
      exact.slice(3, 8).map((e) => e.id),
    );
    const rounded = await c.search({ collection_name: "m", data: [q], limit: 5, round_decimal: 2, consistency_level: "Strong" });
    for (const [i, h] of rounded[0].entries()) {
      assert.equal(h.id, exact[i].id);
      assert.ok(Math.abs(h.distance - exact[i].distance) <= 0.005 + 1e-6, `distance ${h.distance} is ${exact[i].distance} rounded to 2 decimals`);
      assert.equal(h.distance, Number(h.distance.toFixed(2)), `${h.distance} has at most 2 decimals`);
    }
  });
});

describe("iterators", () => {
  let env: TestEnv;
  const rows: (Row & { id: number; vector: number[] })[] = randomVectors(130, DIM, 23).map((vector, id) => ({ id: id * 3, vector, tag: `t${id % 4}` }));
  before(async () => {
    env = await startEnv({ tag: "iterators" });
    await env.client.create_collection({ collection_name: "it", dimension: DIM, metric_type: "L2", num_shards: 2 });
    await env.client.insert({ collection_name: "it", data: rows });
  });
  after(async () => env?.close());

  test("query_iterator - batches in key order cover every matching row once, up to the limit; the cursor alone carries the state", async () => {
    const c = env.client;
    const wanted = rows.filter((r) => r.tag !== "t1").map((r) => r.id);
    const seen: number[] = [];
    let cursor: Awaited<ReturnType<typeof c.query_iterator>>["cursor"] | undefined;
    let batches = 0;
    do {
      const page = await c.query_iterator({ collection_name: "it", filter: 'tag != "t1"', output_fields: ["tag"], batch_size: 17, cursor, consistency_level: "Strong" });
      assert.ok(page.rows.length <= 17);
      seen.push(...page.rows.map((r) => r.id as number));
      cursor = page.cursor;
      batches++;
    } while (cursor);
    assert.deepEqual(seen, wanted);
    assert.equal(batches, Math.ceil(wanted.length / 17));
    const limited: number[] = [];
    cursor = undefined;
    do {
      const page = await c.query_iterator({ collection_name: "it", batch_size: 10, limit: 25, cursor, consistency_level: "Strong" });
      limited.push(...page.rows.map((r) => r.id as number));
      cursor = page.cursor;
    } while (cursor);
    assert.deepEqual(limited, rows.slice(0, 25).map((r) => r.id));
  });

  test("search_iterator - batches continue the ranking by distance: together they are the brute-force order", async () => {
    const c = env.client;
    const q = randomVectors(1, DIM, 5)[0];
    const exact = rank(rows, (r) => r.vector, q, "L2").slice(0, 50);
    const got: { id: number; distance: number }[] = [];
    let cursor: Awaited<ReturnType<typeof c.search_iterator>>["cursor"] | undefined;
    do {
      const page = await c.search_iterator({ collection_name: "it", data: [q], batch_size: 12, limit: 50, cursor, consistency_level: "Strong" });
      got.push(...page.hits.map((h) => ({ id: h.id as number, distance: h.distance })));
      cursor = page.cursor;
    } while (cursor);
    assert.deepEqual(
      got.map((h) => h.id),
      exact.map((e) => e.id),
    );
    await assert.rejects(c.search_iterator({ collection_name: "it", data: [q, q] }), /one query vector/);

    // With a radius, every batch stays within it (L2: distance < radius).
    const radius = (exact[19].distance + exact[20].distance) / 2;
    const within: number[] = [];
    cursor = undefined;
    do {
      const page = await c.search_iterator({ collection_name: "it", data: [q], batch_size: 7, cursor, search_params: { params: { radius } }, consistency_level: "Strong" });
      within.push(...page.hits.map((h) => h.id as number));
      cursor = page.cursor;
    } while (cursor);
    assert.deepEqual(within, exact.slice(0, 20).map((e) => e.id));
  });
});
