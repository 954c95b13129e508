// The Milvus Node SDK's own client (@zilliz/milvus2-sdk-node 2.6) against
// the Milvus gRPC front door over a real vecbus: the common Milvus workflow
// unchanged. Expected answers come from the rows the test wrote (brute-force
// nearest neighbours, filters evaluated here), never from vecbus.
import assert from "node:assert/strict";
import { test } from "node:test";
import { ConsistencyLevelEnum, DataType, formatNumberPrecision, MilvusClient } from "@zilliz/milvus2-sdk-node";
import { milvusProto } from "../../actors/gateway/milvus-proto.js";
import { VecbusClient } from "../../runtime/client.js";
import { startEnv } from "../harness.js";
import { assertSuccess, rawMilvus, startGateway } from "./gateway.js";
import { randomVectors } from "../random.js";
import { eventually } from "../timeouts.js";
import { createUser } from "../../cli/users.js";

const DIM = 8;

test("milvus grpc - the Milvus Node SDK creates, inserts, searches, queries, counts, deletes and drops through the gateway", { timeout: 120_000 }, async () => {
  const env = await startEnv({ tag: "milvus-grpc" });
  const gateway = await startGateway(env);
  const milvus = new MilvusClient({ address: gateway.address });
  try {
    assert.equal((await milvus.getVersion()).version, "v2.5.0");
    assert.equal((await milvus.checkHealth()).isHealthy, true);
    assert.equal((await milvus.hasCollection({ collection_name: "books" })).value, false);

    const created = await milvus.createCollection({
      collection_name: "books",
      fields: [
        { name: "id", data_type: DataType.Int64, is_primary_key: true, autoID: false },
        { name: "vector", data_type: DataType.FloatVector, dim: DIM },
        { name: "title", data_type: DataType.VarChar, max_length: 64 },
        { name: "year", data_type: DataType.Int32, is_clustering_key: true },
      ],
      index_params: [{ field_name: "vector", index_type: "HNSW", metric_type: "L2", params: { M: 16, efConstruction: 64 } }],
    });
    assert.equal(created.error_code, "Success", JSON.stringify(created));
    assert.equal((await milvus.hasCollection({ collection_name: "books" })).value, true);
    const described = await milvus.describeCollection({ collection_name: "books" });
    assert.deepEqual(
      described.schema.fields.map((f) => [f.name, f.data_type, f.is_clustering_key]),
      [
        ["id", "Int64", false],
        ["vector", "FloatVector", false],
        ["title", "VarChar", false],
        ["year", "Int32", true],
      ],
    );

    const rows = randomVectors(300, DIM, 7).map((vector, id) => ({ id, vector, title: `book ${id}`, year: 1950 + (id % 70) }));
    const inserted = await milvus.insert({ collection_name: "books", data: rows });
    assert.equal(inserted.status.error_code, "Success", JSON.stringify(inserted.status));
    assert.equal(Number(inserted.insert_cnt), rows.length);

    // Nearest neighbours: brute force over the rows written (the rows are still growing: searched exactly).
    const query = rows[42].vector;
    const l2 = (v: number[]) => v.reduce((s, x, i) => s + (x - query[i]) ** 2, 0);
    const nearest = [...rows].sort((a, b) => l2(a.vector) - l2(b.vector)).slice(0, 5);
    const found = await milvus.search({ collection_name: "books", data: [query], limit: 5, output_fields: ["title", "year"], consistency_level: ConsistencyLevelEnum.Strong });
    assert.equal(found.status.error_code, "Success", JSON.stringify(found.status));
    assert.deepEqual(
      found.results.map((r) => Number(r.id)),
      nearest.map((r) => r.id),
    );
    assert.deepEqual(
      found.results.map((r) => [r.title, r.year]),
      nearest.map((r) => [r.title, r.year]),
    );
    assert.ok(Math.abs(found.results[1].score - l2(nearest[1].vector)) < 1e-4, "the score is the L2 distance");

    // A filtered search: only rows the filter keeps, nearest first.
    const recent = rows.filter((r) => r.year >= 2000);
    const filtered = await milvus.search({ collection_name: "books", data: [query], limit: 3, filter: "year >= 2000", consistency_level: ConsistencyLevelEnum.Strong });
    assert.deepEqual(
      filtered.results.map((r) => Number(r.id)),
      [...recent].sort((a, b) => l2(a.vector) - l2(b.vector)).slice(0, 3).map((r) => r.id),
    );

    const queried = await milvus.query({ collection_name: "books", filter: "year >= 2000 and id < 100", output_fields: ["id", "title", "year"], limit: 1000 });
    assert.equal(queried.status.error_code, "Success", JSON.stringify(queried.status));
    assert.deepEqual(
      queried.data.map((r) => [Number(r.id), r.title, r.year]).sort((a, b) => (a[0] as number) - (b[0] as number)),
      rows.filter((r) => r.year >= 2000 && r.id < 100).map((r) => [r.id, r.title, r.year]),
    );
    assert.equal(Number((await milvus.count({ collection_name: "books" })).data), rows.length);

    const deleted = await milvus.delete({ collection_name: "books", filter: "id in [1, 2, 3]" });
    assert.equal(deleted.status.error_code, "Success", JSON.stringify(deleted.status));
    assert.equal(Number((await milvus.count({ collection_name: "books" })).data), rows.length - 3);

    // Errors come as Milvus statuses, with Milvus's codes.
    const missing = await milvus.describeCollection({ collection_name: "nope" });
    assert.deepEqual([missing.status.error_code, missing.status.code], ["CollectionNotExists", 100]);
    const badFilter = await milvus.query({ collection_name: "books", filter: "year >>> 3", output_fields: ["id"] });
    assert.deepEqual([badFilter.status.error_code, badFilter.status.code], ["IllegalArgument", 1100]);
    assert.match(badFilter.status.reason, /FILTER_SYNTAX/);

    assert.equal((await milvus.dropCollection({ collection_name: "books" })).error_code, "Success");
    assert.equal((await milvus.hasCollection({ collection_name: "books" })).value, false);
  } finally {
    await milvus.closeConnection();
    await gateway.stop();
    await env.close();
  }
});

test("milvus grpc - malformed requests from a raw gRPC client get Milvus statuses, and the gateway goes on", { timeout: 60_000 }, async () => {
  const env = await startEnv({ tag: "milvus-raw" });
  const gateway = await startGateway(env);
  const raw = rawMilvus(gateway.address);
  const call = raw.call;
  const codeOf = (r: Record<string, unknown>) => {
    const s = (r.status ?? r) as { code: number; error_code: string; reason: string };
    return [s.code, s.error_code];
  };
  try {
    await env.client.create_collection({ collection_name: "c", dimension: 4, metric_type: "L2" });
    // num_rows is a number anyone can send: no rows are made for it without the columns that hold them.
    assert.deepEqual(codeOf(await call("Insert", { collection_name: "c", num_rows: 4_000_000_000, fields_data: [] })), [1100, "IllegalArgument"]);
    const vectors = { field_name: "vector", type: "FloatVector", vectors: { dim: 4, float_vector: { data: [1, 2, 3, 4] } } };
    assert.deepEqual(codeOf(await call("Insert", { collection_name: "c", num_rows: 1_000_000, fields_data: [vectors] })), [1100, "IllegalArgument"]);
    assert.deepEqual(codeOf(await call("CreateCollection", { collection_name: "d", schema: Buffer.from([0xff, 0xff, 0xff]) })), [1100, "IllegalArgument"]);
    assert.deepEqual(codeOf(await call("Search", { collection_name: "c", placeholder_group: Buffer.from([0x0a, 0xff]), search_params: [{ key: "topk", value: "3" }] })), [1100, "IllegalArgument"]);
    assert.deepEqual(codeOf(await call("CreateResourceGroup", {})), [10, "UnexpectedError"]);
    // One database, Milvus's default; another is not found (merr 800), in the request or in the connection's metadata.
    assert.deepEqual((await call("ListDatabases", {})).db_names, ["default"]);
    assert.deepEqual(codeOf(await call("DescribeCollection", { db_name: "other", collection_name: "c" })), [800, "UnexpectedError"]);
    assert.deepEqual(codeOf(await call("DescribeCollection", { db_name: "default", collection_name: "c" })), [0, "Success"]);
    const elsewhere = new MilvusClient({ address: gateway.address, database: "other" });
    assert.equal((await elsewhere.describeCollection({ collection_name: "c" })).status.code, 800);
    await elsewhere.closeConnection();
    await assert.rejects(call("Insert", { collection_name: "c", num_rows: 1, fields_data: [{ field_name: "x", type: "VarChar", scalars: { string_data: { data: ["y".repeat(9 << 20)] } } }] }), /RESOURCE_EXHAUSTED|larger than max/);
    // Nothing was written, and the gateway still answers.
    assert.deepEqual(await env.client.query({ collection_name: "c", filter: "", output_fields: ["count(*)"], consistency_level: "Strong" }), [{ "count(*)": 0 }]);
    assert.equal((await call("CheckHealth", {})).isHealthy, true);
  } finally {
    raw.close();
    await gateway.stop();
    await env.close();
  }
});

test("milvus grpc - partitions, aliases, upsert with dynamic fields, index description and statistics through the SDK", { timeout: 120_000 }, async () => {
  const env = await startEnv({ tag: "milvus-more" });
  const gateway = await startGateway(env);
  const milvus = new MilvusClient({ address: gateway.address });
  const ok = assertSuccess;
  try {
    ok(await milvus.createCollection({ collection_name: "p", dimension: 4, metric_type: "L2" }));
    ok(await milvus.createPartition({ collection_name: "p", partition_name: "recent" }));
    assert.equal((await milvus.hasPartition({ collection_name: "p", partition_name: "recent" })).value, true);
    assert.deepEqual((await milvus.showPartitions({ collection_name: "p" })).partition_names, ["_default", "recent"]);

    const rows = randomVectors(20, 4, 11).map((vector, id) => ({ id, vector }));
    ok(await milvus.insert({ collection_name: "p", partition_name: "recent", data: rows.slice(0, 10) }));
    ok(await milvus.insert({ collection_name: "p", data: rows.slice(10) }));
    const inRecent = await milvus.query({ collection_name: "p", filter: "id >= 0", output_fields: ["id"], partition_names: ["recent"], limit: 100 });
    assert.deepEqual(inRecent.data.map((r) => Number(r.id)).sort((a, b) => a - b), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);

    // Upsert replaces row 5, with a dynamic field the schema does not name.
    ok(await milvus.upsert({ collection_name: "p", partition_name: "recent", data: [{ id: 5, vector: [9, 9, 9, 9], color: "red" }] }));
    // The SDK's query keeps dynamic fields under `$meta`, as Milvus sends them.
    const red = await milvus.query({ collection_name: "p", filter: 'color == "red"', output_fields: ["id", "vector", "color"], limit: 10 });
    assert.deepEqual(
      red.data.map((r) => [Number(r.id), r.vector, (r.$meta as { color?: string } | undefined)?.color]),
      [[5, [9, 9, 9, 9], "red"]],
    );

    ok(await milvus.createAlias({ collection_name: "p", alias: "pa" }));
    assert.equal((await milvus.describeAlias({ collection_name: "p", alias: "pa" })).collection, "p");
    assert.deepEqual((await milvus.listAliases({ collection_name: "p" })).aliases, ["pa"]);
    assert.equal(Number((await milvus.count({ collection_name: "pa" })).data), 20);
    ok(await milvus.dropAlias({ alias: "pa" }));
    const gone = await milvus.describeAlias({ collection_name: "p", alias: "pa" });
    assert.deepEqual([gone.status.code, gone.status.error_code], [1600, "UnexpectedError"]);

    const index = await milvus.describeIndex({ collection_name: "p", field_name: "vector" });
    ok(index);
    const params = Object.fromEntries(index.index_descriptions[0].params.map((p) => [p.key, p.value]));
    assert.equal(index.index_descriptions[0].field_name, "vector");
    assert.equal(params.metric_type, "L2");
    assert.equal((await milvus.getCollectionStatistics({ collection_name: "p" })).data.row_count, "20");

    // vecbus loads and releases whole collections: some partitions load it all; releasing some of them is refused.
    ok(await milvus.releaseCollection({ collection_name: "p" }));
    ok(await milvus.loadPartitions({ collection_name: "p", partition_names: ["recent"] }));
    assert.equal((await milvus.getLoadState({ collection_name: "p" })).state, "LoadStateLoaded");
    const some = await milvus.releasePartitions({ collection_name: "p", partition_names: ["recent"] });
    assert.equal(some.code, 1100, JSON.stringify(some));
    const unknown = await milvus.loadPartitions({ collection_name: "p", partition_names: ["nope"] });
    assert.equal(unknown.code, 200, JSON.stringify(unknown));
    ok(await milvus.releasePartitions({ collection_name: "p", partition_names: ["_default", "recent"] }));
    assert.equal((await milvus.getLoadState({ collection_name: "p" })).state, "LoadStateNotLoad");
    ok(await milvus.dropPartition({ collection_name: "p", partition_name: "recent" }));
    assert.deepEqual((await milvus.showPartitions({ collection_name: "p" })).partition_names, ["_default"]);
  } finally {
    await milvus.closeConnection();
    await gateway.stop();
    await env.close();
  }
});

test("milvus grpc - hybrid search over two vector fields with RRF, search by primary keys, and index state through the SDK", { timeout: 120_000 }, async () => {
  const env = await startEnv({ tag: "milvus-hybrid" });
  const gateway = await startGateway(env);
  const milvus = new MilvusClient({ address: gateway.address });
  try {
    const created = await milvus.createCollection({
      collection_name: "h",
      fields: [
        { name: "id", data_type: DataType.Int64, is_primary_key: true },
        { name: "dense", data_type: DataType.FloatVector, dim: DIM },
        { name: "other", data_type: DataType.FloatVector, dim: DIM },
      ],
      index_params: [
        { field_name: "dense", index_type: "HNSW", metric_type: "L2" },
        { field_name: "other", index_type: "HNSW", metric_type: "L2" },
      ],
    });
    assert.equal(created.error_code, "Success", JSON.stringify(created));
    const dense = randomVectors(60, DIM, 21);
    const other = randomVectors(60, DIM, 22);
    const rows = dense.map((v, id) => ({ id, dense: v, other: other[id] }));
    assert.equal((await milvus.insert({ collection_name: "h", data: rows })).status.error_code, "Success");

    // RRF (k = 60) over each field's exact ranking of the rows written, each list cut at the request's limit.
    const l2 = (a: number[], b: number[]) => a.reduce((s, x, i) => s + (x - b[i]) ** 2, 0);
    const ranking = (field: "dense" | "other", q: number[]) => [...rows].sort((a, b) => l2(a[field], q) - l2(b[field], q)).slice(0, 5);
    const q1 = rows[7].dense;
    const q2 = rows[30].other;
    const rrf = new Map<number, number>();
    for (const list of [ranking("dense", q1), ranking("other", q2)]) list.forEach((r, i) => rrf.set(r.id, (rrf.get(r.id) ?? 0) + 1 / (60 + i + 1)));
    const expected = [...rrf.entries()].sort((a, b) => b[1] - a[1] || a[0] - b[0]).slice(0, 5);
    const hybrid = await milvus.hybridSearch({
      collection_name: "h",
      data: [
        { data: q1, anns_field: "dense" },
        { data: q2, anns_field: "other" },
      ],
      rerank: { strategy: "rrf", params: { k: 60 } },
      limit: 5,
      consistency_level: ConsistencyLevelEnum.Strong,
    });
    assert.equal(hybrid.status.error_code, "Success", JSON.stringify(hybrid.status));
    assert.deepEqual(
      hybrid.results.map((r) => Number(r.id)).slice(0, 2),
      expected.map(([id]) => id).slice(0, 2),
      "the two rows each query names come first",
    );
    for (const [i, r] of hybrid.results.entries()) assert.ok(Math.abs(r.score - expected[i][1]) < 1e-6, `RRF score of hit ${i}: ${r.score} vs ${expected[i][1]}`);

    // Search by primary keys: the stored vector of row 12 finds row 12 first, at distance 0.
    const byId = await milvus.search({ collection_name: "h", ids: [12], anns_field: "dense", limit: 3, consistency_level: ConsistencyLevelEnum.Strong });
    assert.equal(byId.status.error_code, "Success", JSON.stringify(byId.status));
    assert.deepEqual([Number(byId.results[0].id), byId.results[0].score], [12, 0]);

    const state = await milvus.getIndexState({ collection_name: "h", field_name: "dense" });
    assert.equal(state.state, "Finished");
  } finally {
    await milvus.closeConnection();
    await gateway.stop();
    await env.close();
  }
});

test("milvus grpc - a caller acts as the NATS user its credentials name: a readonly user searches but may not insert; wrong or missing credentials are refused where required", { timeout: 120_000 }, async () => {
  const env = await startEnv({ tag: "milvus-auth", refusalsExpected: true });
  const gateway = await startGateway(env);
  // As `vecbus serve --require-auth` runs it: no anonymous user.
  const strict = await startGateway(env, false);
  const clients: MilvusClient[] = [];
  const milvusAs = (address: string, username?: string, password?: string) => {
    const c = new MilvusClient({ address, ...(username && { username, password }) });
    clients.push(c);
    return c;
  };
  try {
    await env.client.create_collection({ collection_name: "s", dimension: 4, metric_type: "L2" });
    await env.client.insert({ collection_name: "s", data: randomVectors(10, 4, 5).map((vector, id) => ({ id, vector })) });
    const reader = createUser(env.dataDir, "reader", "readonly");
    // The server reloads its users in the background.
    await eventually("the new user to connect", async () => (await VecbusClient.connect(env.nats.url, { auth: { user: "reader", pass: reader.password } }).then((c) => c.close().then(() => true), () => false)));

    const asReader = milvusAs(gateway.address, "reader", reader.password);
    const found = await asReader.search({ collection_name: "s", data: [[0, 0, 0, 0]], limit: 3, consistency_level: ConsistencyLevelEnum.Strong });
    assert.equal(found.status.error_code, "Success", JSON.stringify(found.status));
    assert.equal(found.results.length, 3);
    const refused = await asReader.insert({ collection_name: "s", data: [{ id: 99, vector: [1, 1, 1, 1] }] });
    assert.deepEqual([refused.status.code, refused.status.error_code], [1401, "PermissionDenied"]);
    assert.deepEqual(await env.client.query({ collection_name: "s", filter: "", output_fields: ["count(*)"], consistency_level: "Strong" }), [{ "count(*)": 10 }]);

    const wrong = await milvusAs(gateway.address, "reader", "not-the-password").describeCollection({ collection_name: "s" });
    assert.equal(wrong.status.code, 1400, JSON.stringify(wrong.status));
    const anonymous = await milvusAs(strict.address).describeCollection({ collection_name: "s" });
    assert.equal(anonymous.status.code, 1400, JSON.stringify(anonymous.status));
    const named = await milvusAs(strict.address, "reader", reader.password).describeCollection({ collection_name: "s" });
    assert.equal(named.status.error_code, "Success", JSON.stringify(named.status));
  } finally {
    for (const c of clients) await c.closeConnection();
    await strict.stop();
    await gateway.stop();
    await env.close();
  }
});

test("milvus grpc - Milvus's argument forms: template values, flattened index params, no output fields, empty results, flush state, and bad values as 1100", { timeout: 120_000 }, async () => {
  const env = await startEnv({ tag: "milvus-args" });
  const gateway = await startGateway(env);
  const milvus = new MilvusClient({ address: gateway.address });
  const raw = rawMilvus(gateway.address);
  const call = raw.call;
  const statusOf = (r: Record<string, unknown>) => (r.status ?? r) as { code: number; reason: string };
  try {
    await milvus.createCollection({
      collection_name: "t",
      fields: [
        { name: "id", data_type: DataType.Int64, is_primary_key: true, autoID: false },
        { name: "vector", data_type: DataType.FloatVector, dim: 4 },
        { name: "year", data_type: DataType.Int32 },
      ],
      enable_dynamic_field: true,
    });
    // pymilvus sends build parameters flattened, each a string of its own.
    const indexed = await call("CreateIndex", {
      collection_name: "t",
      field_name: "vector",
      extra_params: [
        { key: "index_type", value: "HNSW" },
        { key: "metric_type", value: "L2" },
        { key: "M", value: "8" },
        { key: "efConstruction", value: "40" },
      ],
    });
    assert.equal(statusOf(indexed).code, 0, statusOf(indexed).reason);
    assert.deepEqual((await env.client.describe_index({ collection_name: "t", field_name: "vector" })).params, { M: 8, efConstruction: 40 });
    await milvus.loadCollection({ collection_name: "t" });
    const rows = randomVectors(20, 4, 3).map((vector, id) => ({ id, vector, year: 2000 + (id % 5) }));
    await milvus.insert({ collection_name: "t", data: rows });
    assert.equal((await milvus.flushSync({ collection_names: ["t"] })).flushed, true);

    // Grouped: the nearest row of each year, the 3 nearest groups (brute force over the rows written).
    const l2 = (v: number[]) => v.reduce((s, x, i) => s + (x - rows[0].vector[i]) ** 2, 0);
    const bestOfYear = new Map<number, (typeof rows)[number]>();
    for (const row of [...rows].sort((a, b) => l2(a.vector) - l2(b.vector))) if (!bestOfYear.has(row.year)) bestOfYear.set(row.year, row);
    const grouped = await milvus.search({ collection_name: "t", data: [rows[0].vector], limit: 3, group_by_field: "year", consistency_level: ConsistencyLevelEnum.Strong });
    assert.equal(grouped.status.error_code, "Success", JSON.stringify(grouped.status));
    assert.deepEqual(grouped.results.map((h) => Number(h.id)), [...bestOfYear.values()].slice(0, 3).map((r) => r.id));

    const templated = await milvus.query({ collection_name: "t", filter: "id in {ids} and year > {after}", exprValues: { ids: [1, 2, 3, 15], after: 2002 }, output_fields: ["year"], consistency_level: ConsistencyLevelEnum.Strong });
    assert.equal(templated.status.error_code, "Success", JSON.stringify(templated.status));
    assert.deepEqual(templated.data.map((r) => [Number(r.id), r.year]).sort((a, b) => a[0] - b[0]), [[3, 2003]]);

    // No output fields: the primary key alone, as Milvus answers.
    const keysOnly = await call("Query", { collection_name: "t", expr: "id < 2", output_fields: [], consistency_level: "Strong" });
    assert.deepEqual((keysOnly.fields_data as { field_name: string }[]).map((f) => f.field_name), ["id"]);
    // Nothing matches: the columns asked for still come, empty (clients read a result's fields from them).
    const none = await call("Query", { collection_name: "t", expr: "id > 1000", output_fields: ["id", "year"], consistency_level: "Strong" });
    assert.equal(statusOf(none).code, 0);
    assert.deepEqual((none.fields_data as { field_name: string }[]).map((f) => f.field_name), ["id", "year"]);

    // Bad values are the caller's (1100), never an internal error; nothing is written.
    const vector = { field_name: "vector", type: "FloatVector", vectors: { dim: 4, float_vector: { data: [1, 2, 3, 4] } } };
    const id = { field_name: "id", type: "Int64", scalars: { long_data: { data: ["500"] } } };
    const meta = (json: string) => ({ field_name: "$meta", type: "JSON", is_dynamic: true, scalars: { json_data: { data: [Buffer.from(json)] } } });
    for (const [what, req] of [
      ["a dynamic key naming a typed column", { collection_name: "t", num_rows: 1, fields_data: [id, vector, meta('{"id": 7}')] }],
      ["a dynamic __proto__ key", { collection_name: "t", num_rows: 1, fields_data: [id, vector, meta('{"__proto__": {"x": 1}}')] }],
      ["a column with neither scalars nor vectors", { collection_name: "t", num_rows: 1, fields_data: [id, vector, { field_name: "year", type: "Int32" }] }],
    ] as const) {
      assert.equal(statusOf(await call("Insert", req)).code, 1100, what);
    }
    const bad = [
      await call("Search", { collection_name: "t", search_input: "placeholder_group", placeholder_group: Buffer.alloc(0), search_params: [{ key: "topk", value: "3" }, { key: "params", value: "{not json" }] }),
      await call("Search", { collection_name: "t", search_input: "ids", search_params: [{ key: "topk", value: "3" }] }),
      await call("CreateIndex", { collection_name: "t", field_name: "year", extra_params: [{ key: "params", value: "[1" }] }),
    ];
    assert.deepEqual(bad.map((r) => statusOf(r).code), [1100, 1100, 1100], JSON.stringify(bad.map((r) => statusOf(r).reason)));
    assert.equal(Number((await milvus.count({ collection_name: "t" })).data), rows.length);
  } finally {
    raw.close();
    await milvus.closeConnection();
    await gateway.stop();
    await env.close();
  }
});

test("milvus grpc - the SDK's queryIterator and searchIterator page through every match exactly once, in order", { timeout: 120_000 }, async () => {
  const env = await startEnv({ tag: "milvus-iterators" });
  const gateway = await startGateway(env);
  const milvus = new MilvusClient({ address: gateway.address });
  try {
    await milvus.createCollection({ collection_name: "it", dimension: DIM, metric_type: "L2", consistency_level: "Strong" });
    const rows = randomVectors(400, DIM, 11).map((vector, id) => ({ id, vector, even: id % 2 === 0 }));
    await milvus.insert({ collection_name: "it", data: rows });

    const paged: number[][] = [];
    for await (const batch of await milvus.queryIterator({ collection_name: "it", filter: "even == true", output_fields: ["id"], batchSize: 37, consistency_level: ConsistencyLevelEnum.Strong })) {
      if (batch.length > 0) paged.push(batch.map((r: { id: string | number }) => Number(r.id)));
    }
    assert.deepEqual(paged.flat(), rows.filter((r) => r.even).map((r) => r.id), "every even row once, in key order");
    assert.ok(paged.length > 1);

    // Brute force over the rows written: the ranking a search iterator continues batch by batch.
    const query = rows[7].vector;
    const l2 = (v: number[]) => v.reduce((s, x, i) => s + (x - query[i]) ** 2, 0);
    const ranked = rows.filter((r) => r.id % 3 !== 0).sort((a, b) => l2(a.vector) - l2(b.vector));
    const batches: number[][] = [];
    for await (const batch of await milvus.searchIterator({ collection_name: "it", data: query, filter: "id % 3 != 0", batchSize: 40, limit: 150, consistency_level: ConsistencyLevelEnum.Strong })) {
      batches.push(batch.map((h: { id: string | number }) => Number(h.id)));
    }
    assert.ok(batches.length >= 4, `${batches.length} batches`);
    assert.deepEqual(batches.flat(), ranked.slice(0, 150).map((r) => r.id));
  } finally {
    await milvus.closeConnection();
    await gateway.stop();
    await env.close();
  }
});

test("milvus grpc - the issue's Milvus behaviours through the SDK: full Int64, Milvus's filter grammar and its refusals, get by ids, nullable and Array columns, range search, offsets and round_decimal", { timeout: 120_000 }, async () => {
  const env = await startEnv({ tag: "milvus-model" });
  const gateway = await startGateway(env);
  const milvus = new MilvusClient({ address: gateway.address });
  try {
    const created = await milvus.createCollection({
      collection_name: "m",
      fields: [
        { name: "id", data_type: DataType.Int64, is_primary_key: true, autoID: false },
        { name: "vector", data_type: DataType.FloatVector, dim: 4 },
        { name: "n", data_type: DataType.Int64 },
        { name: "doc", data_type: DataType.JSON },
        { name: "arr", data_type: DataType.Array, element_type: DataType.Int32, max_capacity: 4 },
        { name: "note", data_type: DataType.VarChar, max_length: 16, nullable: true },
      ],
      index_params: [{ field_name: "vector", index_type: "HNSW", metric_type: "L2" }],
      consistency_level: "Strong",
    });
    assert.equal(created.error_code, "Success", JSON.stringify(created));
    // Milvus-style auto ids are beyond 2^53: their digits travel exactly (as strings through the SDK).
    const big = ["450072488481390592", "450072488481390593", "-9223372036854775808"];
    const ns = [150, 20, 500, 7, 1, 2];
    const rows = randomVectors(6, 4, 21).map((vector, i) => ({
      id: i < 3 ? big[i] : String(i),
      vector,
      n: ns[i],
      doc: i % 2 === 0 ? { a: i } : { b: i },
      arr: i === 4 ? [1000, 3] : [i],
      note: i % 3 === 0 ? null : `n${i}`,
    }));
    const inserted = await milvus.insert({ collection_name: "m", data: rows });
    assert.equal(inserted.status.error_code, "Success", JSON.stringify(inserted.status));
    const ids = async (filter: string) => {
      const r = await milvus.query({ collection_name: "m", filter, output_fields: ["id"], limit: 100 });
      assert.equal(r.status.error_code, "Success", `${filter}: ${JSON.stringify(r.status)}`);
      return r.data.map((x) => String(x.id)).sort();
    };
    const idsWhere = (keep: (r: (typeof rows)[number]) => boolean) => rows.filter(keep).map((r) => r.id).sort();
    assert.deepEqual(await ids(`id == ${big[0]}`), [big[0]]);
    assert.deepEqual(await ids(`id < 0`), [big[2]]);
    assert.deepEqual(await ids("n in [300/2, 900%40, -10*30+800]"), idsWhere((r) => [150, 20, 500].includes(r.n)));
    assert.deepEqual(await ids("exists doc['a']"), idsWhere((r) => "a" in r.doc));
    assert.deepEqual(await ids("json_contains_any(arr, [1000, 2000])"), idsWhere((r) => r.arr.includes(1000)));
    for (const bad of ["n in [1.0, 2.0]", "n in [1, 2.0]", "json_contains_any(doc['list'], str)"]) {
      const r = await milvus.query({ collection_name: "m", filter: bad, output_fields: ["id"] });
      assert.equal(r.status.code, 1100, `${bad}: ${JSON.stringify(r.status)}`);
    }

    const got = await milvus.get({ collection_name: "m", ids: [big[1], "4"], output_fields: ["n"] });
    assert.deepEqual(got.data.map((r) => [String(r.id), Number(r.n)]).sort(), [[big[1], 20], ["4", 1]].sort());
    // Nullable and Array columns come back as written.
    const all = await milvus.query({ collection_name: "m", filter: "", output_fields: ["note", "arr"], limit: 100 });
    assert.deepEqual(
      all.data.map((r) => [String(r.id), r.note, r.arr]).sort(),
      rows.map((r) => [r.id, r.note, r.arr]).sort(),
    );
    assert.deepEqual(await ids("note is null"), idsWhere((r) => r.note === null));

    // Index build progress once the rows are flushed and indexed.
    await milvus.flushSync({ collection_names: ["m"] });
    await eventually("the index to cover every flushed row", async () => {
      const p = await milvus.getIndexBuildProgress({ collection_name: "m", field_name: "vector" });
      return Number(p.indexed_rows) === rows.length && Number(p.total_rows) === rows.length;
    });

    // offset skips the nearest; round_decimal rounds the distances (brute force over the rows written). The Node SDK
    // sends round_decimal among the search params, each of which it also sends as a key of its own, as pymilvus does.
    const q = rows[0].vector;
    const l2 = (v: number[]) => v.reduce((s, x, i) => s + (x - q[i]) ** 2, 0);
    const ranked = [...rows].sort((a, b) => l2(a.vector) - l2(b.vector));
    const found = await milvus.search({ collection_name: "m", data: [q], limit: 2, offset: 1, params: { round_decimal: 2 } });
    assert.equal(found.status.error_code, "Success", JSON.stringify(found.status));
    assert.deepEqual(found.results.map((h) => String(h.id)), ranked.slice(1, 3).map((r) => r.id));
    // A range search: range_filter <= distance < radius (L2), bounds halfway between ranked rows.
    const d = ranked.map((r) => l2(r.vector));
    const ranged = await milvus.search({ collection_name: "m", data: [q], limit: 6, params: { radius: (d[3] + d[4]) / 2, range_filter: (d[0] + d[1]) / 2 } });
    assert.deepEqual(ranged.results.map((h) => String(h.id)), ranked.slice(1, 4).map((r) => r.id));
    // Query's offset, in primary-key order.
    const byKey = rows.map((r) => r.id).sort((a, b) => (BigInt(a) < BigInt(b) ? -1 : 1));
    const paged = await milvus.query({ collection_name: "m", filter: "", output_fields: ["id"], limit: 2, offset: 1 });
    assert.deepEqual(paged.data.map((r) => String(r.id)), byKey.slice(1, 3));
    // The server rounds (as Milvus); the SDK then cuts the float32 it receives to that many decimals itself.
    assert.deepEqual(found.results.map((h) => h.score), ranked.slice(1, 3).map((r) => formatNumberPrecision(Math.fround(Math.round(l2(r.vector) * 100) / 100), 2)));
  } finally {
    await milvus.closeConnection();
    await gateway.stop();
    await env.close();
  }
});

test("milvus grpc - a collection dropped and created again with another schema is read with the new one at once by the caller that did it", { timeout: 120_000 }, async () => {
  const env = await startEnv({ tag: "milvus-recreate" });
  const gateway = await startGateway(env);
  const milvus = new MilvusClient({ address: gateway.address });
  try {
    await milvus.createCollection({ collection_name: "x", dimension: 4, metric_type: "L2", consistency_level: "Strong" });
    await milvus.insert({ collection_name: "x", data: [{ id: 1, vector: [1, 0, 0, 0] }] });
    assert.deepEqual((await milvus.query({ collection_name: "x", filter: "id > 0", output_fields: ["id"] })).data, [{ id: "1" }]);
    await milvus.dropCollection({ collection_name: "x" });
    await milvus.createCollection({
      collection_name: "x",
      fields: [
        { name: "key", data_type: DataType.VarChar, is_primary_key: true, max_length: 16 },
        { name: "vector", data_type: DataType.FloatVector, dim: 4 },
        { name: "n", data_type: DataType.Double },
      ],
      index_params: [{ field_name: "vector", index_type: "HNSW", metric_type: "L2" }],
      consistency_level: "Strong",
    });
    await milvus.insert({ collection_name: "x", data: [{ key: "a", vector: [1, 0, 0, 0], n: 0.5 }] });
    const read = await milvus.query({ collection_name: "x", filter: 'key == "a"', output_fields: ["key", "n"] });
    assert.equal(read.status.error_code, "Success", JSON.stringify(read.status));
    assert.deepEqual(read.data, [{ key: "a", n: 0.5 }]);
  } finally {
    await milvus.closeConnection();
    await gateway.stop();
    await env.close();
  }
});

test("milvus grpc - raw Milvus requests: a search iterator as pymilvus pages it (one token, the last bound), and a grouped search's group values", { timeout: 120_000 }, async () => {
  const env = await startEnv({ tag: "milvus-raw-search" });
  const gateway = await startGateway(env);
  const proto = milvusProto();
  const raw = rawMilvus(gateway.address);
  const call = raw.call;
  type Results = { ids: { int_id: { data: string[] } }; scores: number[]; fields_data: { field_name: string }[]; group_by_field_value?: { field_name: string; scalars: { int_data: { data: number[] } } }; search_iterator_v2_results?: { token: string; last_bound: number } };
  const search = async (vector: number[], pairs: Record<string, string>, output_fields: string[] = []) => {
    const r = await call("Search", {
      collection_name: "s",
      dsl: "",
      placeholder_group: proto.encodePlaceholders([Float32Array.from(vector)]),
      search_params: Object.entries(pairs).map(([key, value]) => ({ key, value })),
      output_fields,
      nq: 1,
      consistency_level: "Strong",
    });
    assert.equal((r.status as { code: number }).code, 0, JSON.stringify(r.status));
    return r.results as Results;
  };
  try {
    await env.client.create_collection({ collection_name: "s", schema: { fields: [{ name: "id", type: "Int64", is_primary: true }, { name: "vector", type: "FloatVector", dim: 4 }, { name: "tag", type: "Int32" }] }, metric_type: "L2" });
    const rows = randomVectors(200, 4, 31).map((vector, id) => ({ id, vector, tag: id % 7 }));
    await env.client.insert({ collection_name: "s", data: rows });
    const q = rows[3].vector;
    const l2 = (v: number[]) => v.reduce((s, x, i) => s + (x - q[i]) ** 2, 0);
    const ranked = [...rows].sort((a, b) => l2(a.vector) - l2(b.vector));

    // pymilvus's search iterator: its keys as pairs of their own, the first token kept, the last bound sent back.
    const seen: number[] = [];
    let token = "";
    let bound: number | undefined;
    for (let page = 0; page < 5; page++) {
      const pairs: Record<string, string> = { topk: "25", anns_field: "vector", params: "{}", iterator: "True", search_iter_v2: "True", search_iter_batch_size: "25" };
      if (token) pairs.search_iter_id = token;
      if (bound !== undefined) pairs.search_iter_last_bound = String(bound);
      const results = await search(q, pairs);
      const it = results.search_iterator_v2_results!;
      if (token) assert.equal(it.token, token, "the token stays the same for the whole iterator");
      token = it.token;
      bound = it.last_bound;
      seen.push(...results.ids.int_id.data.map(Number));
    }
    assert.notEqual(token, "");
    assert.deepEqual(seen, ranked.slice(0, 125).map((r) => r.id));

    // A token this gateway does not hold (another gateway, a restart) pages from the bound alone. With IP (larger is
    // closer, distances in float64) and ten rows tied at a distance the page ends inside of, none of them is skipped.
    await env.client.create_collection({ collection_name: "tie", dimension: 4, metric_type: "IP" });
    const tied = Array.from({ length: 10 }, (_, i) => ({ id: 100 + i, vector: [0.3, 0.1, 0.7, 0.2] }));
    const others = randomVectors(30, 4, 41).map((vector, i) => ({ id: i, vector: vector.map((x) => x * 0.2) }));
    await env.client.insert({ collection_name: "tie", data: [...tied, ...others] });
    // A query whose inner product with the tied rows, as vecbus computes it, rounds down to float32: a bound
    // rounded to nearest would then lie beyond them.
    let tieQuery: number[] | undefined;
    for (const candidate of randomVectors(50, 4, 43)) {
      const d = (await env.client.search({ collection_name: "tie", data: [candidate], limit: 1, filter: "id >= 100", consistency_level: "Strong" }))[0][0].distance;
      if (Math.fround(d) < d) {
        tieQuery = candidate;
        break;
      }
    }
    assert.ok(tieQuery, "a query whose tied distance rounds down to float32");
    const tieSearch = async (pairs: Record<string, string>) => {
      const r = await call("Search", {
        collection_name: "tie",
        dsl: "",
        placeholder_group: proto.encodePlaceholders([Float32Array.from(tieQuery!)]),
        search_params: Object.entries({ anns_field: "vector", params: "{}", search_iter_v2: "True", ...pairs }).map(([key, value]) => ({ key, value })),
        output_fields: [],
        nq: 1,
        consistency_level: "Strong",
      });
      return r.results as Results;
    };
    const ipOf = (v: number[]) => v.reduce((s, x, i) => s + x * tieQuery![i], 0);
    const ahead = others.filter((o) => ipOf(o.vector) > ipOf(tied[0].vector)).length;
    const pageOne = await tieSearch({ topk: String(ahead + 2) });
    const pageTwo = await tieSearch({ topk: "40", search_iter_id: "a-token-of-another-gateway", search_iter_last_bound: String(pageOne.search_iterator_v2_results!.last_bound) });
    const union = new Set([...pageOne.ids.int_id.data, ...pageTwo.ids.int_id.data].map(Number));
    for (const t of tied) assert.ok(union.has(t.id), `tied row ${t.id} skipped`);

    // Grouped: the group's values in group_by_field_value; the group field among the columns only when asked for.
    const bestOfTag = new Map<number, (typeof rows)[number]>();
    for (const row of ranked) if (!bestOfTag.has(row.tag)) bestOfTag.set(row.tag, row);
    const expected = [...bestOfTag.values()].slice(0, 4);
    const grouped = await search(q, { topk: "4", anns_field: "vector", params: "{}", group_by_field: "tag" });
    assert.deepEqual(grouped.ids.int_id.data.map(Number), expected.map((r) => r.id));
    assert.equal(grouped.group_by_field_value!.field_name, "tag");
    assert.deepEqual(grouped.group_by_field_value!.scalars.int_data.data, expected.map((r) => r.tag));
    assert.deepEqual(grouped.fields_data.map((f) => f.field_name), ["id"]);
  } finally {
    raw.close();
    await gateway.stop();
    await env.close();
  }
});

test("milvus grpc - the SDK's index and alias lifecycle: createIndex with a metric of its own, search by it, dropIndex, alterAlias", { timeout: 120_000 }, async () => {
  const env = await startEnv({ tag: "milvus-index" });
  const gateway = await startGateway(env);
  const milvus = new MilvusClient({ address: gateway.address });
  const ok = assertSuccess;
  try {
    for (const name of ["ix", "iy"]) {
      ok(
        await milvus.createCollection({
          collection_name: name,
          fields: [
            { name: "id", data_type: DataType.Int64, is_primary_key: true, autoID: false },
            { name: "vector", data_type: DataType.FloatVector, dim: 4 },
          ],
        }),
      );
    }
    ok(await milvus.createIndex({ collection_name: "ix", field_name: "vector", index_name: "vix", index_type: "HNSW", metric_type: "IP", params: { M: 8, efConstruction: 32 } }));
    const ix = await milvus.describeIndex({ collection_name: "ix", field_name: "vector" });
    ok(ix);
    const params = Object.fromEntries(ix.index_descriptions[0].params.map((p) => [p.key, p.value]));
    assert.deepEqual([ix.index_descriptions[0].index_name, params.index_type, params.metric_type, JSON.parse(String(params.params))], ["vix", "HNSW", "IP", { M: 8, efConstruction: 32 }]);

    ok(await milvus.loadCollection({ collection_name: "ix" }));
    const rows = randomVectors(40, 4, 17).map((vector, id) => ({ id, vector }));
    ok((await milvus.insert({ collection_name: "ix", data: rows })).status);
    const q = rows[9].vector;
    const ip = (v: number[]) => v.reduce((s, x, i) => s + x * q[i], 0);
    const best = [...rows].sort((a, b) => ip(b.vector) - ip(a.vector)).slice(0, 3);
    const found = await milvus.search({ collection_name: "ix", data: [q], limit: 3, consistency_level: ConsistencyLevelEnum.Strong });
    assert.deepEqual(found.results.map((h) => Number(h.id)), best.map((r) => r.id), "nearest by inner product, the index's metric");
    assert.ok(Math.abs(found.results[0].score - ip(best[0].vector)) < 1e-4);

    ok(await milvus.releaseCollection({ collection_name: "ix" }));
    ok(await milvus.dropIndex({ collection_name: "ix", field_name: "vector", index_name: "vix" }));
    const gone = await milvus.describeIndex({ collection_name: "ix", field_name: "vector" });
    assert.equal(gone.status.code, 700, JSON.stringify(gone.status));

    ok(await milvus.createAlias({ collection_name: "ix", alias: "current" }));
    ok(await milvus.alterAlias({ collection_name: "iy", alias: "current" }));
    assert.equal((await milvus.describeAlias({ collection_name: "iy", alias: "current" })).collection, "iy");
  } finally {
    await milvus.closeConnection();
    await gateway.stop();
    await env.close();
  }
});

test("milvus grpc - the SDK's compact, getCompactionState, getReplicas, renameCollection and describeIndex of every index", { timeout: 120_000 }, async () => {
  const env = await startEnv({ tag: "milvus-admin" });
  const gateway = await startGateway(env);
  const milvus = new MilvusClient({ address: gateway.address });
  const ok = assertSuccess;
  const count = async (c: string) => Number((await milvus.count({ collection_name: c, consistency_level: ConsistencyLevelEnum.Strong } as Parameters<typeof milvus.count>[0])).data);
  try {
    ok(await milvus.createCollection({ collection_name: "c1", dimension: 4, metric_type: "L2" }));
    const rows = randomVectors(60, 4, 5).map((vector, id) => ({ id, vector }));
    // Two flushes: two small segments for the compaction to merge.
    ok((await milvus.insert({ collection_name: "c1", data: rows.slice(0, 30) })).status);
    await milvus.flushSync({ collection_names: ["c1"] });
    ok((await milvus.insert({ collection_name: "c1", data: rows.slice(30) })).status);
    await milvus.flushSync({ collection_names: ["c1"] });
    const before = (await env.client.status()).segments.filter((s) => s.collection_name === "c1" && s.segment_id !== null).length;
    assert.equal(before, 2);

    const compaction = await milvus.compact({ collection_name: "c1" });
    ok(compaction);
    await eventually("the compaction to complete", async () => String((await milvus.getCompactionState({ compactionID: compaction.compactionID })).state) === "Completed");
    await eventually("the two segments to be one", async () => (await env.client.status()).segments.filter((s) => s.collection_name === "c1" && s.segment_id !== null).length === 1);
    assert.equal(await count("c1"), rows.length);

    const described = await milvus.describeCollection({ collection_name: "c1" });
    const replicas = await milvus.getReplicas({ collectionID: described.collectionID });
    ok(replicas);
    assert.equal(replicas.replicas.length, 1);
    assert.ok(replicas.replicas[0].node_ids.length > 0, JSON.stringify(replicas.replicas));

    const all = await milvus.describeIndex({ collection_name: "c1" });
    assert.deepEqual(all.index_descriptions.map((d) => d.field_name), ["vector"]);

    ok(await milvus.renameCollection({ collection_name: "c1", new_collection_name: "c2" }));
    assert.deepEqual([(await milvus.hasCollection({ collection_name: "c1" })).value, (await milvus.hasCollection({ collection_name: "c2" })).value], [false, true]);
    assert.equal(await count("c2"), rows.length);
  } finally {
    await milvus.closeConnection();
    await gateway.stop();
    await env.close();
  }
});
