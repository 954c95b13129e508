// Milvus's REST API v2 on the front door's port, driven by the Milvus Node
// SDK's HttpClient (and raw fetch for what the SDK hides: HTTP statuses,
// bodies that are not JSON, Int64 digits beyond 2^53). Expected answers come
// from the rows the test wrote.
import assert from "node:assert/strict";
import { test } from "node:test";
import { HttpClient } from "@zilliz/milvus2-sdk-node";
import { startEnv } from "../harness.js";
import { randomVectors } from "../random.js";
import { startGateway } from "./gateway.js";

test("milvus rest - the SDK's HttpClient creates, inserts, searches, queries, gets, deletes and drops; errors carry Milvus's codes", { timeout: 120_000 }, async () => {
  const env = await startEnv({ tag: "milvus-rest" });
  const gateway = await startGateway(env);
  const http = new HttpClient({ endpoint: `http://${gateway.address}` });
  const post = (path: string, body: string, headers: Record<string, string> = {}) =>
    fetch(`http://${gateway.address}/v2/vectordb/${path}`, { method: "POST", body, headers: { "content-type": "application/json", ...headers } });
  try {
    assert.deepEqual(await http.createCollection({ collectionName: "r", dimension: 4, metricType: "L2" }), { code: 0, data: {} });
    assert.deepEqual((await http.hasCollection({ dbName: "default", collectionName: "r" })).data, { has: true });
    assert.deepEqual((await http.listCollections()).data, ["r"]);
    const rows = randomVectors(30, 4, 9).map((vector, id) => ({ id, vector, color: id % 2 ? "red" : "blue" }));
    const inserted = await http.insert({ collectionName: "r", data: rows });
    assert.equal(inserted.code, 0, JSON.stringify(inserted));
    assert.equal(inserted.data.insertCount, 30);

    const q = rows[4].vector;
    const l2 = (v: number[]) => v.reduce((s, x, i) => s + (x - q[i]) ** 2, 0);
    const nearest = [...rows].sort((a, b) => l2(a.vector) - l2(b.vector)).slice(0, 3);
    const found = await http.search({ collectionName: "r", data: [q], limit: 3, outputFields: ["color"], consistencyLevel: "Strong" });
    assert.equal(found.code, 0, JSON.stringify(found));
    assert.deepEqual(
      (found.data as Record<string, unknown>[]).map((h) => [h.id, h.color]),
      nearest.map((r) => [r.id, r.color]),
    );
    // Hybrid: RRF (k 60) over two searches, one filtered; expected from brute-force rankings (compared by score: ties may swap).
    const ranking = (keep: (r: (typeof rows)[number]) => boolean) => rows.filter(keep).sort((a, b) => l2(a.vector) - l2(b.vector)).slice(0, 6).map((r) => r.id);
    const rrf = new Map<number, number>();
    for (const list of [ranking(() => true), ranking((r) => r.color === "red")]) list.forEach((id, rank) => rrf.set(id, (rrf.get(id) ?? 0) + 1 / (60 + rank + 1)));
    const hybrid = await http.hybridSearch({
      collectionName: "r",
      search: [
        { data: [q], annsField: "vector", limit: 6 },
        { data: [q], annsField: "vector", limit: 6, filter: 'color == "red"' },
      ],
      rerank: { strategy: "rrf", params: { k: 60 } },
      limit: 4,
      // The SDK's type leaves it out; Milvus's REST API takes it, and the SDK sends the body as given.
      ...{ consistencyLevel: "Strong" },
    });
    assert.equal(hybrid.code, 0, JSON.stringify(hybrid));
    const hybridIds = (hybrid.data as Record<string, unknown>[]).map((h) => h.id as number);
    assert.deepEqual(
      hybridIds.map((id) => rrf.get(id)),
      [...rrf.values()].sort((a, b) => b - a).slice(0, 4),
    );

    const queried = await http.query({ collectionName: "r", filter: 'id < 6 and color == "red"', outputFields: ["id", "color"], consistencyLevel: "Strong" });
    assert.deepEqual(
      queried.data.map((r) => r.id as number).sort((a, b) => a - b),
      [1, 3, 5],
    );
    const got = await http.get({ collectionName: "r", id: [7, 8], outputFields: ["color"] });
    assert.deepEqual(
      got.data.map((r) => [r.id, r.color]).sort(),
      [
        [7, "red"],
        [8, "blue"],
      ],
    );
    assert.equal((await http.delete({ collectionName: "r", filter: "id in [7]" })).code, 0);
    const count = await http.query({ collectionName: "r", filter: "", outputFields: ["count(*)"], consistencyLevel: "Strong" });
    assert.deepEqual(count.data, [{ "count(*)": 29 }]);

    // A schema with a clustering key, as Milvus's REST API spells it, described back.
    const fields = [
      { fieldName: "id", dataType: "Int64", isPrimary: true },
      { fieldName: "vector", dataType: "FloatVector", elementTypeParams: { dim: 4 } },
      { fieldName: "shop", dataType: "Int32", isClusteringKey: true },
    ];
    const keyed = await (await post("collections/create", JSON.stringify({ collectionName: "keyed", schema: { fields } }))).json();
    assert.deepEqual(keyed, { code: 0, data: {} });
    const keyedFields = (await http.describeCollection({ collectionName: "keyed" })).data.fields as unknown as { name: string; clusteringKey: boolean }[];
    assert.deepEqual(
      keyedFields.map((f) => [f.name, f.clusteringKey]),
      [
        ["id", false],
        ["vector", false],
        ["shop", true],
      ],
    );
    assert.equal((await http.dropCollection({ collectionName: "keyed" })).code, 0);
    // A flag that is not a boolean is refused (an invalid schema: 105), not read as false.
    const stringFlag = fields.map((f) => (f.fieldName === "shop" ? { ...f, isClusteringKey: "true" } : f));
    const refused = (await (await post("collections/create", JSON.stringify({ collectionName: "keyed", schema: { fields: stringFlag } }))).json()) as { code: number; message: string };
    assert.equal(refused.code, 105, JSON.stringify(refused));
    assert.match(refused.message, /is_clustering_key must be true or false/);

    // Errors: Milvus's codes in the body, HTTP 200, as Milvus does.
    const missing = await http.describeCollection({ collectionName: "nope" });
    assert.equal(missing.code, 100);
    const badFilter = await http.query({ collectionName: "r", filter: "id >>> 1", outputFields: ["id"] });
    assert.equal(badFilter.code, 1100);
    assert.equal(((await (await post("collections/has", "{not json")).json()) as { code: number }).code, 1100);
    assert.equal((await post("nothing/here", "{}")).status, 404);
    // One database, default: a request naming another is not found (800), and does nothing.
    assert.equal(((await (await post("collections/drop", '{"dbName": "staging", "collectionName": "r"}')).json()) as { code: number }).code, 800);
    assert.deepEqual((await http.hasCollection({ dbName: "default", collectionName: "r" })).data, { has: true });
    assert.equal(((await (await post("entities/hybrid_search", '{"collectionName": "r", "search": [null]}')).json()) as { code: number }).code, 1100);
    assert.equal(((await (await post("collections/rename", '{"collectionName": "r", "newCollectionName": "r2"}')).json()) as { code: number }).code, 0);
    assert.deepEqual((await http.listCollections()).data, ["r2"]);
    assert.equal(((await (await post("collections/rename", '{"collectionName": "r2", "newCollectionName": "r"}')).json()) as { code: number }).code, 0);
    assert.equal(((await (await post("collections/list", "{}", { authorization: "Bearer nobody:wrong" })).json()) as { code: number }).code, 1400);
    assert.equal((await post("entities/insert", `{"collectionName":"r","data":"${"x".repeat(9 << 20)}"}`)).status, 413);

    // Int64 beyond 2^53 keep their digits both ways.
    await env.client.create_collection({ collection_name: "big", dimension: 2, metric_type: "L2" });
    const body = '{"collectionName":"big","data":[{"id":9007199254740993,"vector":[1,2]}]}';
    assert.equal(((await (await post("entities/insert", body)).json()) as { code: number }).code, 0);
    const text = await (await post("entities/query", '{"collectionName":"big","filter":"id > 0","outputFields":["id"],"consistencyLevel":"Strong"}')).text();
    assert.match(text, /"id":9007199254740993\b/);

    assert.equal((await http.dropCollection({ collectionName: "r" })).code, 0);
    assert.deepEqual((await http.hasCollection({ dbName: "default", collectionName: "r" })).data, { has: false });
  } finally {
    await gateway.stop();
    await env.close();
  }
});
