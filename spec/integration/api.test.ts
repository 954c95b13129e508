// Every public API method through the TypeScript client against a real
// nats-server with all actors running.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { JetStreamApiError, jetstreamManager, type JetStreamManager } from "@nats-io/jetstream";
import { Kvm } from "@nats-io/kv";
import type { Hit } from "../../protocol/api.js";
import { randomVectors } from "../random.js";
import { rejectsWith } from "../assert.js";
import { startEnv, type TestEnv } from "../harness.js";
import { eventually } from "../timeouts.js";

/** JetStream's "stream not found". */
const STREAM_NOT_FOUND = 10059;

/** Whether the stream is gone: true on "stream not found" (404), false while it exists; any other error fails the test. */
async function streamGone(jsm: JetStreamManager, name: string): Promise<boolean> {
  try {
    await jsm.streams.info(name);
    return false;
  } catch (e) {
    if (e instanceof JetStreamApiError && e.code === STREAM_NOT_FOUND && e.status === 404) return true;
    throw e;
  }
}

function l2(a: number[], b: number[]): number {
  return a.reduce((s, x, i) => s + (x - b[i]) ** 2, 0);
}

describe("api", () => {
  let env: TestEnv;
  before(async () => {
    env = await startEnv({ tag: "api" });
  });
  after(async () => {
    await env.close();
  });

  test("api - quick create, list, has, describe", async () => {
    const c = env.client;
    const d = await c.create_collection({ collection_name: "quick", dimension: 8 });
    assert.equal(d.collection_name, "quick");
    assert.equal(d.metric_type, "COSINE");
    assert.equal(d.schema.enable_dynamic_field, true);
    assert.deepEqual(
      d.schema.fields.map((f) => [f.name, f.type]),
      [
        ["id", "Int64"],
        ["vector", "FloatVector"],
      ],
    );
    assert.ok((await c.list_collections()).includes("quick"));
    assert.equal(await c.has_collection({ collection_name: "quick" }), true);
    assert.equal(await c.has_collection({ collection_name: "nope" }), false);
    const again = await c.describe_collection({ collection_name: "quick" });
    assert.equal(again.collection_id, d.collection_id);
  });

  test("api - full schema create with typed fields; insert, get, query", async () => {
    const c = env.client;
    await c.create_collection({
      collection_name: "books",
      metric_type: "L2",
      schema: {
        enable_dynamic_field: false,
        fields: [
          { name: "isbn", type: "VarChar", is_primary: true, max_length: 20 },
          { name: "year", type: "Int32" },
          { name: "score", type: "Double" },
          { name: "tiny", type: "Int8" },
          { name: "small", type: "Int16" },
          { name: "ratio", type: "Float" },
          { name: "in_print", type: "Bool" },
          { name: "info", type: "JSON" },
          { name: "emb", type: "FloatVector", dim: 3 },
        ],
      },
    });
    const rows = [
      { isbn: "a", year: 1990, score: 4.5, tiny: 1, small: 300, ratio: 0.5, in_print: true, info: { tags: ["x"] }, emb: [1, 0, 0] },
      { isbn: "b", year: 2005, score: 3.0, tiny: -3, small: -2, ratio: 0.25, in_print: false, info: { tags: [] }, emb: [0, 1, 0] },
      { isbn: "c", year: 2020, score: 4.9, tiny: 7, small: 9, ratio: 1, in_print: true, info: { n: 1 }, emb: [0, 0, 1] },
    ];
    const ins = await c.insert({ collection_name: "books", data: rows });
    const { timestamp, ...counts } = ins;
    assert.deepEqual(counts, { insert_count: 3, ids: ["a", "b", "c"] });
    assert.equal(typeof timestamp, "bigint", "writes report their hybrid timestamp");
    const got = await c.get({ collection_name: "books", ids: ["c", "a", "zzz"], output_fields: ["year", "info"] });
    assert.deepEqual(got, [
      { isbn: "c", year: 2020, info: { n: 1 } },
      { isbn: "a", year: 1990, info: { tags: ["x"] } },
    ]);
    const q = await c.query({ collection_name: "books", filter: "year >= 2000 and in_print == false", output_fields: ["score"] });
    assert.deepEqual(q, [{ isbn: "b", score: 3.0 }]);
    // Every field of every row comes back as written (all values are exact in their stored types).
    assert.deepEqual(await c.query({ collection_name: "books", limit: 10, output_fields: ["*"] }), rows);
  });

  test("api - exact search matches brute force, with filter and output fields", async () => {
    const c = env.client;
    await c.create_collection({ collection_name: "vecs", dimension: 16, metric_type: "L2" });
    const vecs = randomVectors(300, 16, 7);
    await c.insert({ collection_name: "vecs", data: vecs.map((v, i) => ({ id: i, vector: v, parity: i % 2 === 0 ? "even" : "odd" })) });
    const queries = randomVectors(3, 16, 99);
    const res = await c.search({ collection_name: "vecs", data: queries, limit: 5, output_fields: ["parity"] });
    assert.equal(res.length, 3);
    queries.forEach((q, qi) => {
      const expected = vecs
        .map((v, i) => ({ i, d: l2(q, v) }))
        .sort((a, b) => a.d - b.d)
        .slice(0, 5);
      assert.deepEqual(
        res[qi].map((h: Hit) => h.id),
        expected.map((e) => e.i),
      );
      res[qi].forEach((h: Hit, k: number) => assert.ok(Math.abs(h.distance - expected[k].d) < 1e-4));
      assert.ok(res[qi].every((h: Hit) => h.entity.parity === (Number(h.id) % 2 === 0 ? "even" : "odd")));
    });
    const filtered = await c.search({ collection_name: "vecs", data: [queries[0]], limit: 5, filter: 'parity == "odd"' });
    const odd = vecs
      .map((v, i) => ({ i, d: l2(queries[0], v) }))
      .filter((e) => e.i % 2 === 1)
      .sort((a, b) => a.d - b.d)
      .slice(0, 5);
    assert.deepEqual(
      filtered[0].map((h: Hit) => h.id),
      odd.map((e) => e.i),
    );
    // Vectors as little-endian float32 bin give the same answer as number lists.
    const bin = new Float32Array(queries[0]);
    const viaBin = await c.search({ collection_name: "vecs", data: [bin], limit: 5 });
    assert.deepEqual(
      viaBin[0].map((h: Hit) => h.id),
      res[0].map((h: Hit) => h.id),
    );
  });

  test("api - COSINE and IP rank larger similarity first", async () => {
    const c = env.client;
    const vectors = [
      [1, 0],
      [0.7, 0.7],
      [-1, 0],
    ];
    const q = [1, 0.1];
    const dot = (a: number[], b: number[]) => a[0] * b[0] + a[1] * b[1];
    for (const metric of ["COSINE", "IP"] as const) {
      const name = `m_${metric}`;
      await c.create_collection({ collection_name: name, dimension: 2, metric_type: metric });
      await c.insert({ collection_name: name, data: vectors.map((v, i) => ({ id: i + 1, vector: v })) });
      const [hits] = await c.search({ collection_name: name, data: [q], limit: 3 });
      const expected = vectors
        .map((v, i) => ({ id: i + 1, score: metric === "COSINE" ? dot(v, q) / (Math.hypot(...v) * Math.hypot(...q)) : dot(v, q) }))
        .sort((a, b) => b.score - a.score);
      assert.deepEqual(
        hits.map((h: Hit) => h.id),
        expected.map((e) => e.id),
        metric,
      );
      hits.forEach((h: Hit, k: number) => assert.ok(Math.abs(h.distance - expected[k].score) < 1e-5, `${metric} score of ${h.id}: ${h.distance} vs ${expected[k].score}`));
    }
  });

  test("api - delete by ids and by filter, upsert replaces, stats follow", async () => {
    const c = env.client;
    await c.create_collection({ collection_name: "dml", dimension: 2 });
    await c.insert({ collection_name: "dml", data: Array.from({ length: 10 }, (_, i) => ({ id: i, vector: [i, 1], n: i })) });
    assert.equal((await c.delete({ collection_name: "dml", ids: [1, 2, 99] })).delete_count, 2);
    assert.equal((await c.delete({ collection_name: "dml", filter: "n >= 8" })).delete_count, 2);
    assert.deepEqual(await c.get_collection_stats({ collection_name: "dml" }), { row_count: 6 });
    const up = await c.upsert({ collection_name: "dml", data: [{ id: 3, vector: [3, 3], n: 33 }] });
    assert.deepEqual([up.upsert_count, up.ids], [1, [3]]);
    assert.deepEqual(await c.get({ collection_name: "dml", ids: [3], output_fields: ["n"] }), [{ id: 3, n: 33 }]);
    assert.deepEqual(await c.get_collection_stats({ collection_name: "dml" }), { row_count: 6 });
    const left = await c.query({ collection_name: "dml", filter: "id >= 0", output_fields: ["id"] });
    assert.deepEqual(
      left.map((r) => r.id),
      [0, 3, 4, 5, 6, 7],
    );
  });

  test("api - auto_id assigns unique increasing ids", async () => {
    const c = env.client;
    await c.create_collection({ collection_name: "auto", dimension: 2, auto_id: true });
    const a = await c.insert({ collection_name: "auto", data: [{ vector: [1, 1] }, { vector: [2, 2] }] });
    const b = await c.insert({ collection_name: "auto", data: [{ vector: [3, 3] }] });
    const ids = [...a.ids, ...b.ids] as number[];
    assert.equal(new Set(ids).size, 3);
    assert.ok(ids[0] < ids[1] && ids[1] < ids[2]);
  });

  test("api - multi-shard collection routes by key and reduces across shards", async () => {
    const c = env.client;
    await c.create_collection({ collection_name: "sharded", dimension: 4, metric_type: "L2", num_shards: 3 });
    const vecs = randomVectors(120, 4, 3);
    await c.insert({ collection_name: "sharded", data: vecs.map((v, i) => ({ id: i, vector: v })) });
    const status = await c.status();
    const mine = status.shards.filter((s) => s.collection_name === "sharded");
    assert.equal(mine.length, 3);
    assert.ok(mine.every((s) => (s.row_count ?? 0) > 0), "every shard holds some rows");
    assert.equal(
      mine.reduce((n, s) => n + (s.row_count ?? 0), 0),
      120,
    );
    const q = randomVectors(1, 4, 11)[0];
    const [hits] = await c.search({ collection_name: "sharded", data: [q], limit: 10 });
    const expected = vecs
      .map((v, i) => ({ i, d: l2(q, v) }))
      .sort((a, b) => a.d - b.d)
      .slice(0, 10)
      .map((e) => e.i);
    assert.deepEqual(
      hits.map((h: Hit) => h.id),
      expected,
    );
    const rows = await c.query({ collection_name: "sharded", filter: "id < 10", limit: 5 });
    assert.deepEqual(
      rows.map((r) => r.id),
      [0, 1, 2, 3, 4],
    );
  });

  test("api - drop removes the collection and its WAL streams", async () => {
    const c = env.client;
    const d = await c.create_collection({ collection_name: "gone", dimension: 2 });
    await c.insert({ collection_name: "gone", data: [{ id: 1, vector: [1, 1] }] });
    assert.deepEqual(await c.drop_collection({ collection_name: "gone" }), { dropped: true });
    assert.equal(await c.has_collection({ collection_name: "gone" }), false);
    // The drop deletes the streams before it replies.
    assert.ok(await streamGone(await jetstreamManager(env.admin), `vecbus_WAL_${d.collection_id}_0`), "the WAL stream is deleted");
    // The name is free again, with a new id and no old rows.
    const d2 = await c.create_collection({ collection_name: "gone", dimension: 2 });
    assert.notEqual(d2.collection_id, d.collection_id);
    assert.deepEqual(await c.get_collection_stats({ collection_name: "gone" }), { row_count: 0 });
  });

  test("api - status lists every actor and shard", async () => {
    const s = await env.client.status();
    assert.deepEqual([...new Set(s.nodes.map((n) => n.role))].sort(), ["coordinator", "data", "proxy", "query", "streaming"]);
    assert.ok(s.shards.length > 0);
    assert.ok(s.shards.every((x) => x.owner === "test-streaming"));
  });

  test("api - filter templates take their values from filter_params", async () => {
    const c = env.client;
    await c.create_collection({ collection_name: "tpl", dimension: 2, num_shards: 2 });
    await c.insert({ collection_name: "tpl", data: Array.from({ length: 20 }, (_, i) => ({ id: i, vector: [i, 1], city: i % 2 ? "Oslo" : "Rome" })) });
    const rows = await c.call("query", { collection_name: "tpl", filter: "id >= {lo} and city in {cities}", filter_params: { lo: 15, cities: ["Oslo"] }, output_fields: ["id"] });
    assert.deepEqual(
      rows.map((r) => r.id),
      [15, 17, 19],
    );
    const [hits] = await c.call("search", { collection_name: "tpl", data: [[0, 1]], limit: 2, filter: "city == {c}", filter_params: { c: "Oslo" } });
    assert.deepEqual(
      hits.map((h: Hit) => h.id),
      [1, 3],
    );
    assert.equal((await c.call("delete", { collection_name: "tpl", filter: "id < {n}", filter_params: { n: 5 } })).delete_count, 5);
    await rejectsWith(c.call("query", { collection_name: "tpl", filter: "id > {missing}", filter_params: { other: 1 } }), "FILTER_SYNTAX", /\{missing\}/);
  });

  test("api - the coordinator removes shards whose collection vanished in a half-done drop", async () => {
    const c = env.client;
    const d = await c.create_collection({ collection_name: "orphan", dimension: 2 });
    const kv = await new Kvm(env.admin).open("vecbus_meta");
    // What a coordinator that crashed right after deleting the collection key leaves behind.
    await kv.delete("collections.orphan");
    const jsm = await jetstreamManager(env.admin);
    await eventually("the sweep to remove the orphaned shard key", async () => {
      const key = await kv.get(`shards.${d.collection_id}.0`);
      return !key || key.operation !== "PUT";
    });
    // The sweep deletes the key before the stream.
    await eventually("the sweep to delete the orphaned WAL stream", () => streamGone(jsm, `vecbus_WAL_${d.collection_id}_0`));
  });
});
