// The Milvus 2.5 search and query surface end to end on a 3-shard collection
// with two vector fields: offset, range search, group-by, anns_field,
// hybrid_search, query offset and count(*). Every answer is compared with a
// brute-force reference computed here from the rows the test inserted.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { startCluster } from "../../cli/cluster.js";
import type { MetricType } from "../../protocol/schema.js";
import { assertHits, rank, referenceGroups, type Ranked } from "../brute-force.js";
import { startEnv, type TestEnv } from "../harness.js";
import { randomVectors, rng } from "../random.js";
import { rejectsWith } from "../assert.js";
import { TEST_TIMEOUT_MS } from "../timeouts.js";

// A type, not an interface, so that it is assignable to the client's Row.
type Film = {
  id: number;
  cat: number;
  tag: string;
  flag: boolean;
  year: number;
  info: { n: number };
  dense: number[];
  small: number[];
};

type Ref = Ranked<Film>;

const N = 600;
const C = "films";

function films(n: number, seed: number): Film[] {
  const r = rng(seed);
  const dense = randomVectors(n, 8, seed + 1);
  const small = randomVectors(n, 3, seed + 2);
  return Array.from({ length: n }, (_, id) => ({
    id,
    cat: Math.floor(r() * 30),
    tag: `t${Math.floor(r() * 12)}`,
    flag: r() < 0.5,
    year: 1980 + Math.floor(r() * 45),
    info: { n: id },
    dense: dense[id],
    small: small[id],
  }));
}

/** Every film passing `keep`, best first under the metric, equal distances by id. */
function ranked(rows: Film[], field: "dense" | "small", q: number[], metric: MetricType, keep: (f: Film) => boolean = () => true): Ref[] {
  return rank(rows, (f) => f[field], q, metric, keep);
}

describe("search", () => {
  let env: TestEnv;
  const rows = films(N, 21);
  const queries = randomVectors(3, 8, 77);
  const smallQueries = randomVectors(3, 3, 78);

  before(async () => {
    // Small segments: each shard seals each insert, so every search here also merges across sealed segments.
    env = await startEnv({ tag: "search", seal: { segmentRowsMax: 60 } });
    await env.client.create_collection({
      collection_name: C,
      metric_type: "L2",
      num_shards: 3,
      schema: {
        fields: [
          { name: "id", type: "Int64", is_primary: true },
          { name: "cat", type: "Int64" },
          { name: "tag", type: "VarChar", max_length: 10 },
          { name: "flag", type: "Bool" },
          { name: "year", type: "Int32" },
          { name: "info", type: "JSON" },
          { name: "dense", type: "FloatVector", dim: 8 },
          { name: "small", type: "FloatVector", dim: 3 },
        ],
      },
    });
    await env.client.insert({ collection_name: C, data: rows.slice(0, N / 2) });
    await env.client.insert({ collection_name: C, data: rows.slice(N / 2) });
  });
  after(async () => {
    await env.close();
  });

  test("search - offset pages through the exact ranking, on either vector field", async () => {
    const c = env.client;
    for (const offset of [0, 5, 13]) {
      const res = await c.search({ collection_name: C, anns_field: "dense", data: queries, limit: 7, offset, filter: "year > 2000", output_fields: ["year"] });
      queries.forEach((q, i) => {
        const want = ranked(rows, "dense", q, "L2", (f) => f.year > 2000).slice(offset, offset + 7);
        assertHits(res[i], want, `dense offset ${offset} query ${i}`);
        assert.ok(res[i].every((h) => (h.entity.year as number) > 2000));
      });
      const small = await c.search({ collection_name: C, anns_field: "small", data: smallQueries, limit: 9, offset });
      smallQueries.forEach((q, i) => assertHits(small[i], ranked(rows, "small", q, "L2").slice(offset, offset + 9), `small offset ${offset} query ${i}`));
    }
  });

  test("search - anns_field is required with several vector fields and must name one", async () => {
    const c = env.client;
    await rejectsWith(c.search({ collection_name: C, data: [queries[0]] }), "INVALID_ARGUMENT", /anns_field is required.*"dense", "small"/);
    await rejectsWith(c.search({ collection_name: C, data: [queries[0]], anns_field: "nope" }), "FIELD_NOT_FOUND", /"nope".*"dense", "small"/);
    await rejectsWith(c.search({ collection_name: C, data: [queries[0]], anns_field: "year" }), "FIELD_NOT_FOUND", /"year" is not a vector field/);
    await rejectsWith(c.search({ collection_name: C, data: [queries[0]], anns_field: "small" }), "DIMENSION_MISMATCH", /data\[0\]/);
  });

  test("search - limit, offset and nq stay within Milvus's 16384", async () => {
    const c = env.client;
    const base = { collection_name: C, anns_field: "small", data: [smallQueries[0]] };
    await rejectsWith(c.search({ ...base, limit: 16384, offset: 1 }), "INVALID_ARGUMENT", /limit \+ offset must be at most 16384/);
    await rejectsWith(c.search({ ...base, limit: 16385 }), "INVALID_ARGUMENT", /limit/);
    await rejectsWith(c.search({ ...base, offset: -1 }), "INVALID_ARGUMENT", /offset/);
    await rejectsWith(c.search({ ...base, data: Array.from({ length: 16385 }, () => [0, 0, 1]) }), "INVALID_ARGUMENT", /16385 query vectors.*at most 16384/);
    assertHits((await c.search({ ...base, limit: 16383, offset: 1 }))[0], ranked(rows, "small", smallQueries[0], "L2").slice(1), "every row but the best");
  });

  test("search - range search keeps Milvus's band for L2, IP and COSINE", async () => {
    const c = env.client;
    const q = queries[1];
    const all = ranked(rows, "dense", q, "L2");
    const radius = (all[80].distance + all[81].distance) / 2;
    const rangeFilter = (all[10].distance + all[11].distance) / 2;
    const [band] = await c.search({ collection_name: C, anns_field: "dense", data: [q], limit: 30, offset: 5, search_params: { params: { radius, range_filter: rangeFilter } } });
    assertHits(band, all.slice(11, 81).slice(5, 35), "L2 band");
    const [inside] = await c.search({ collection_name: C, anns_field: "dense", data: [q], limit: 200, search_params: { metric_type: "L2", params: { radius } } });
    assertHits(inside, all.slice(0, 81), "L2 radius only");

    for (const metric of ["IP", "COSINE"] as const) {
      const name = `range_${metric}`;
      await c.create_collection({ collection_name: name, dimension: 8, metric_type: metric, num_shards: 3 });
      await c.insert({ collection_name: name, data: rows.map((f) => ({ id: f.id, vector: f.dense })) });
      const best = ranked(rows, "dense", q, metric);
      const r = (best[60].distance + best[61].distance) / 2;
      const rf = (best[4].distance + best[5].distance) / 2;
      const [hits] = await c.search({ collection_name: name, data: [q], limit: 100, search_params: { params: { radius: r, range_filter: rf } } });
      assertHits(hits, best.slice(5, 61), `${metric} band`);
      await rejectsWith(
        c.search({ collection_name: name, data: [q], search_params: { params: { radius: rf, range_filter: r } } }),
        "INVALID_ARGUMENT",
        new RegExp(`${metric} is a similarity.*range_filter must be greater than radius`),
      );
    }
  });

  test("search - range search arguments are checked", async () => {
    const c = env.client;
    const base = { collection_name: C, anns_field: "dense", data: [queries[0]] };
    await rejectsWith(c.search({ ...base, search_params: { params: { range_filter: 1 } } }), "INVALID_ARGUMENT", /range_filter needs a radius/);
    await rejectsWith(c.search({ ...base, search_params: { params: { radius: 1, range_filter: 2 } } }), "INVALID_ARGUMENT", /L2 is a distance.*range_filter must be less than radius/);
    await rejectsWith(c.search({ ...base, search_params: { params: { radius: 1, range_filter: 1 } } }), "INVALID_ARGUMENT", /less than radius/);
    await rejectsWith(c.search({ ...base, search_params: { params: { radius: "far" as never } } }), "INVALID_ARGUMENT", /radius must be a number/);
    await rejectsWith(c.search({ ...base, search_params: { metric_type: "IP" } }), "INVALID_ARGUMENT", /does not match the metric of the field's index, L2/);
    await rejectsWith(c.search({ ...base, group_by_field: "cat", search_params: { params: { radius: 1 } } }), "INVALID_ARGUMENT", /range search.*cannot also group/);
  });

  test("search - group_by_field returns the best groups, each with its best group_size hits", async () => {
    const c = env.client;
    const cases = [
      { field: "cat", key: (f: Film) => f.cat, limit: 5, offset: 2, size: 3 },
      { field: "tag", key: (f: Film) => f.tag, limit: 4, offset: 0, size: 2 },
      { field: "flag", key: (f: Film) => f.flag, limit: 2, offset: 0, size: 4 },
      { field: "cat", key: (f: Film) => f.cat, limit: 10, offset: 3, size: 10 },
      { field: "cat", key: (f: Film) => f.cat, limit: 6, offset: 0, size: undefined },
    ];
    for (const k of cases) {
      const res = await c.search({
        collection_name: C,
        anns_field: "dense",
        data: queries,
        limit: k.limit,
        offset: k.offset,
        group_by_field: k.field,
        group_size: k.size,
        filter: "year >= 1990",
      });
      queries.forEach((q, i) => {
        const all = ranked(rows, "dense", q, "L2", (f) => f.year >= 1990);
        const want = referenceGroups(all, k.key, k.offset, k.limit, k.size ?? 1);
        assertHits(res[i], want, `group by ${k.field} size ${k.size} query ${i}`);
        res[i].forEach((h, j) => assert.equal(h.entity[k.field], k.key(want[j].row), "hits carry their group's value"));
      });
    }
  });

  test("search - group_by_field must be a scalar field that compares exactly", async () => {
    const c = env.client;
    const base = { collection_name: C, anns_field: "dense", data: [queries[0]] };
    await rejectsWith(c.search({ ...base, group_by_field: "small" }), "INVALID_ARGUMENT", /"small" is a FloatVector field/);
    await rejectsWith(c.search({ ...base, group_by_field: "info" }), "INVALID_ARGUMENT", /"info" is a JSON field/);
    await rejectsWith(c.search({ ...base, group_by_field: "ghost" }), "FIELD_NOT_FOUND", /"ghost"/);
    await rejectsWith(c.search({ ...base, group_by_field: "cat", group_size: 11 }), "INVALID_ARGUMENT", /group_size.*10/);
    await rejectsWith(c.search({ ...base, group_by_field: "cat", strict_group_size: "yes" as never }), "INVALID_ARGUMENT", /strict_group_size/);
  });

  test("query - offset pages in primary-key order; count(*) counts matching rows", async () => {
    const c = env.client;
    const page = await c.query({ collection_name: C, filter: "year > 1990 and flag == true", limit: 10, offset: 25, output_fields: ["year"] });
    const want = rows.filter((f) => f.year > 1990 && f.flag).slice(25, 35);
    assert.deepEqual(
      page,
      want.map((f) => ({ id: f.id, year: f.year })),
    );
    const noFilter = await c.query({ collection_name: C, limit: 4, offset: N - 2, output_fields: ["id"] });
    assert.deepEqual(noFilter, [{ id: N - 2 }, { id: N - 1 }]);
    assert.deepEqual(await c.query({ collection_name: C, filter: "year > 2000", output_fields: ["count(*)"] }), [{ "count(*)": rows.filter((f) => f.year > 2000).length }]);
    assert.deepEqual(await c.query({ collection_name: C, output_fields: ["count(*)"] }), [{ "count(*)": N }]);
    await rejectsWith(c.query({ collection_name: C, filter: "id > 0", offset: 3 }), "INVALID_ARGUMENT", /offset needs a limit/);
    await rejectsWith(c.query({ collection_name: C, limit: 16000, offset: 385 }), "INVALID_ARGUMENT", /limit \+ offset/);
    await rejectsWith(c.query({ collection_name: C, output_fields: ["count(*)", "year"] }), "INVALID_ARGUMENT", /only output field/);
    await rejectsWith(c.query({ collection_name: C, output_fields: ["count(*)"], limit: 5 }), "INVALID_ARGUMENT", /leave out limit and offset/);
  });

  test("hybrid_search - RRF and weighted rankers fuse the sub-searches per query vector", async () => {
    const c = env.client;
    const radius = ranked(rows, "small", smallQueries[0], "L2")[40].distance;
    const reqs = [
      { data: queries.slice(0, 2), anns_field: "dense", limit: 20, filter: "year > 1995" },
      { data: smallQueries.slice(0, 2), anns_field: "small", limit: 15, param: { params: { radius } } },
    ];
    const subs = [0, 1].map((q) => [
      ranked(rows, "dense", queries[q], "L2", (f) => f.year > 1995).slice(0, 20),
      ranked(rows, "small", smallQueries[q], "L2")
        .filter((h) => h.distance < radius)
        .slice(0, 15),
    ]);
    const norm = (d: number) => 1 - (2 * Math.atan(d)) / Math.PI;
    const rankers = [
      { ranker: { strategy: "rrf" as const, params: { k: 60 } }, score: (_d: number, rank: number) => [1 / (61 + rank), 1 / (61 + rank)] },
      { ranker: { strategy: "weighted" as const, params: { weights: [0.7, 0.3] } }, score: (d: number) => [0.7 * norm(d), 0.3 * norm(d)] },
      { ranker: { strategy: "weighted" as const, params: { weights: [0.5, 1], norm_score: false } }, score: (d: number) => [0.5 * -d, 1 * -d] },
    ];
    for (const { ranker, score } of rankers) {
      const res = await c.hybrid_search({ collection_name: C, reqs, ranker, limit: 10, offset: 3, output_fields: ["tag"] });
      assert.equal(res.length, 2);
      res.forEach((hits, q) => {
        const fused = new Map<number, number>();
        subs[q].forEach((list, i) => list.forEach((h, rank) => fused.set(h.id, (fused.get(h.id) ?? 0) + score(h.distance, rank)[i])));
        const want = [...fused]
          .map(([id, s]) => ({ id, distance: s }))
          .sort((a, b) => b.distance - a.distance || a.id - b.id)
          .slice(3, 13);
        assertHits(hits, want, `${ranker.strategy} ${JSON.stringify(ranker.params)} query ${q}`);
        assert.ok(hits.every((h) => h.entity.tag === rows[h.id as number].tag && Object.keys(h.entity).length === 2));
      });
    }
  });

  test("hybrid_search - errors name the entry of reqs they are about", async () => {
    const c = env.client;
    const dense = { data: [queries[0]], anns_field: "dense", limit: 5 };
    const small = { data: [smallQueries[0]], anns_field: "small", limit: 5 };
    await rejectsWith(c.hybrid_search({ collection_name: C, reqs: [] }), "INVALID_ARGUMENT", /reqs must be a non-empty list/);
    await rejectsWith(c.hybrid_search({ collection_name: C, reqs: [dense, { ...small, anns_field: "nope" }] }), "FIELD_NOT_FOUND", /^reqs\[1\]: anns_field "nope"/);
    await rejectsWith(c.hybrid_search({ collection_name: C, reqs: [{ ...dense, anns_field: undefined }, small] }), "INVALID_ARGUMENT", /^reqs\[0\]: anns_field is required/);
    await rejectsWith(c.hybrid_search({ collection_name: C, reqs: [dense, { ...small, data: smallQueries }] }), "INVALID_ARGUMENT", /same number of query vectors.*reqs\[1\] has 3/);
    await rejectsWith(c.hybrid_search({ collection_name: C, reqs: [dense, { ...small, data: [[1, 2]] }] }), "DIMENSION_MISMATCH", /^reqs\[1\]: data\[0\]/);
    await rejectsWith(
      c.hybrid_search({ collection_name: C, reqs: [dense, small], ranker: { strategy: "weighted", params: { weights: [1] } } }),
      "INVALID_ARGUMENT",
      /1 weights but reqs has 2/,
    );
    await rejectsWith(
      c.hybrid_search({ collection_name: C, reqs: [dense, { ...small, param: { params: { radius: 1, range_filter: 2 } } }] }),
      "INVALID_ARGUMENT",
      /^reqs\[1\]: param\.params: L2 is a distance/,
    );
    await rejectsWith(c.hybrid_search({ collection_name: C, reqs: [dense, small], limit: 16000, offset: 385 }), "INVALID_ARGUMENT", /limit \+ offset/);
  });
});

test("search - a restarted streaming node revives every vector field from the WAL", { timeout: TEST_TIMEOUT_MS }, async () => {
  const env = await startEnv({ tag: "search-replay", roles: ["coordinator", "proxy"] });
  let streaming = await startCluster({ natsUrl: env.nats.url, credentials: env.credentials, nodeId: "replay", roles: ["streaming"] });
  try {
    const c = env.client;
    await c.create_collection({
      collection_name: "two",
      metric_type: "L2",
      num_shards: 3,
      schema: {
        fields: [
          { name: "id", type: "Int64", is_primary: true },
          { name: "dense", type: "FloatVector", dim: 8 },
          { name: "small", type: "FloatVector", dim: 3 },
        ],
      },
    });
    const rows = films(200, 5);
    await c.insert({ collection_name: "two", data: rows.map((f) => ({ id: f.id, dense: new Float32Array(f.dense), small: f.small })) });
    await streaming.stop();
    streaming = await startCluster({ natsUrl: env.nats.url, credentials: env.credentials, nodeId: "replay", roles: ["streaming"] });
    const probes: ["dense" | "small", number[]][] = [
      ["dense", randomVectors(1, 8, 404)[0]],
      ["small", [0.3, -0.1, 0.2]],
    ];
    for (const [field, q] of probes) {
      const [hits] = await c.search({ collection_name: "two", anns_field: field, data: [q], limit: 10 });
      assertHits(hits, ranked(rows, field, q, "L2").slice(0, 10), `${field} after replay`);
    }
  } finally {
    await streaming.stop();
    await env.close();
  }
});
