// Partitions, aliases and rename through the API, on a multi-shard collection.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { Hit } from "../../protocol/api.js";
import { randomVectors } from "../random.js";
import { startEnv, type TestEnv } from "../harness.js";
import { rejectsWith } from "../assert.js";

describe("partitions and aliases", () => {
  let env: TestEnv;
  before(async () => {
    env = await startEnv({ tag: "partitions" });
  });
  after(async () => {
    await env.close();
  });

  test("partitions - create, list, has, write into, read from, drop", async () => {
    const c = env.client;
    await c.create_collection({ collection_name: "p", dimension: 4, metric_type: "L2", num_shards: 3 });
    assert.deepEqual(await c.call("list_partitions", { collection_name: "p" }), ["_default"]);
    assert.deepEqual(await c.call("create_partition", { collection_name: "p", partition_name: "red" }), { created: true });
    await rejectsWith(c.call("create_partition", { collection_name: "p", partition_name: "red" }), "PARTITION_ALREADY_EXISTS");
    assert.equal(await c.call("has_partition", { collection_name: "p", partition_name: "red" }), true);
    assert.equal(await c.call("has_partition", { collection_name: "p", partition_name: "blue" }), false);
    assert.deepEqual(await c.call("list_partitions", { collection_name: "p" }), ["_default", "red"]);

    const vecs = randomVectors(60, 4, 21);
    await c.insert({ collection_name: "p", data: vecs.slice(0, 30).map((v, i) => ({ id: i, vector: v })) });
    await c.call("insert", { collection_name: "p", partition_name: "red", data: vecs.slice(30).map((v, i) => ({ id: 30 + i, vector: v })) });
    await rejectsWith(c.call("insert", { collection_name: "p", partition_name: "blue", data: [{ id: 99, vector: [1, 2, 3, 4] }] }), "PARTITION_NOT_FOUND", /list_partitions/);

    const red = await c.call("query", { collection_name: "p", filter: "id >= 0", partition_names: ["red"], output_fields: [] });
    assert.deepEqual(
      red.map((r) => r.id),
      Array.from({ length: 30 }, (_, i) => 30 + i),
    );
    const both = await c.call("query", { collection_name: "p", filter: "id >= 0", partition_names: ["red", "_default"], output_fields: [] });
    assert.equal(both.length, 60);
    const [hits] = await c.call("search", { collection_name: "p", data: [vecs[0]], limit: 5, partition_names: ["red"] });
    assert.ok(hits.length === 5 && hits.every((h: Hit) => Number(h.id) >= 30), "search stays inside the partition");
    assert.deepEqual(await c.call("get", { collection_name: "p", ids: [1, 31], partition_names: ["red"], output_fields: [] }), [{ id: 31 }]);
    await rejectsWith(c.call("query", { collection_name: "p", filter: "id > 0", partition_names: ["nope"] }), "PARTITION_NOT_FOUND");

    // delete restricted to a partition leaves the same ids elsewhere alone
    assert.equal((await c.call("delete", { collection_name: "p", ids: [1, 31], partition_name: "red" })).delete_count, 1);
    assert.equal((await c.get({ collection_name: "p", ids: [1, 31], output_fields: [] })).length, 1);

    await rejectsWith(c.call("drop_partition", { collection_name: "p", partition_name: "_default" }), "INVALID_ARGUMENT");
    assert.deepEqual(await c.call("drop_partition", { collection_name: "p", partition_name: "red" }), { dropped: true });
    assert.deepEqual(await c.call("list_partitions", { collection_name: "p" }), ["_default"]);
    assert.deepEqual(await c.get_collection_stats({ collection_name: "p" }), { row_count: 30 }, "rows of a dropped partition are gone");
  });

  test("aliases - every data method takes an alias; alter moves it; drop needs aliases gone", async () => {
    const c = env.client;
    await c.create_collection({ collection_name: "v1", dimension: 2 });
    await c.create_collection({ collection_name: "v2", dimension: 2 });
    await c.insert({ collection_name: "v1", data: [{ id: 1, vector: [1, 0] }] });
    await c.insert({ collection_name: "v2", data: [{ id: 2, vector: [0, 1] }] });
    assert.deepEqual(await c.call("create_alias", { alias: "live", collection_name: "v1" }), { created: true });
    await rejectsWith(c.call("create_alias", { alias: "live", collection_name: "v2" }), "ALIAS_ALREADY_EXISTS", /alter_alias/);
    await rejectsWith(c.call("create_alias", { alias: "v2", collection_name: "v1" }), "ALIAS_ALREADY_EXISTS");
    await rejectsWith(c.call("create_alias", { alias: "x", collection_name: "nope" }), "COLLECTION_NOT_FOUND");
    assert.deepEqual(await c.call("describe_alias", { alias: "live" }), { alias: "live", collection_name: "v1" });
    assert.deepEqual((await c.get({ collection_name: "live", ids: [1, 2], output_fields: [] })).map((r) => r.id), [1]);
    await c.insert({ collection_name: "live", data: [{ id: 3, vector: [1, 1] }] });
    assert.deepEqual(await c.get_collection_stats({ collection_name: "v1" }), { row_count: 2 });
    assert.equal((await c.describe_collection({ collection_name: "live" })).collection_name, "v1");
    assert.deepEqual((await c.describe_collection({ collection_name: "v1" })).aliases, ["live"]);
    await rejectsWith(c.drop_collection({ collection_name: "v1" }), "INVALID_ARGUMENT", /drop_alias/);

    assert.deepEqual(await c.call("alter_alias", { alias: "live", collection_name: "v2" }), { altered: true });
    assert.deepEqual((await c.get({ collection_name: "live", ids: [1, 2], output_fields: [] })).map((r) => r.id), [2]);
    assert.deepEqual(await c.call("list_aliases", { collection_name: "v2" }), { aliases: ["live"], collection_name: "v2" });
    assert.deepEqual(await c.call("list_aliases", { collection_name: "v1" }), { aliases: [], collection_name: "v1" });
    await rejectsWith(c.create_collection({ collection_name: "live", dimension: 2 }), "COLLECTION_ALREADY_EXISTS", /alias/);
    assert.deepEqual(await c.call("drop_alias", { alias: "live" }), { dropped: true });
    await rejectsWith(c.call("drop_alias", { alias: "live" }), "ALIAS_NOT_FOUND");
    await rejectsWith(c.get({ collection_name: "live", ids: [2] }), "COLLECTION_NOT_FOUND");
    assert.deepEqual(await c.drop_collection({ collection_name: "v1" }), { dropped: true });
  });

  test("rename - data, shards and aliases follow the new name", async () => {
    const c = env.client;
    await c.create_collection({ collection_name: "old", dimension: 2, num_shards: 2 });
    await c.insert({ collection_name: "old", data: [{ id: 1, vector: [1, 0] }, { id: 2, vector: [0, 1] }] });
    await c.call("create_alias", { alias: "nick", collection_name: "old" });
    const d = await c.call("rename_collection", { old_name: "old", new_name: "fresh" });
    assert.equal(d.collection_name, "fresh");
    assert.equal(await c.has_collection({ collection_name: "old" }), false);
    assert.deepEqual(await c.get_collection_stats({ collection_name: "fresh" }), { row_count: 2 });
    await c.insert({ collection_name: "fresh", data: [{ id: 3, vector: [1, 1] }] });
    assert.deepEqual(await c.get_collection_stats({ collection_name: "nick" }), { row_count: 3 });
    const shards = (await c.status()).shards.filter((s) => s.collection_name === "fresh");
    assert.equal(shards.length, 2);
    await rejectsWith(c.call("rename_collection", { old_name: "fresh", new_name: "v2" }), "COLLECTION_ALREADY_EXISTS");
    await rejectsWith(c.call("rename_collection", { old_name: "ghost", new_name: "x" }), "COLLECTION_NOT_FOUND");
  });

  test("partition key - rows route by key hash; filters on the key read only its partitions", async () => {
    const c = env.client;
    await c.create_collection({
      collection_name: "tenants",
      metric_type: "L2",
      num_shards: 2,
      num_partitions: 8,
      schema: {
        fields: [
          { name: "id", type: "Int64", is_primary: true },
          { name: "tenant", type: "VarChar", max_length: 16, is_partition_key: true },
          { name: "v", type: "FloatVector", dim: 2 },
        ],
      },
    });
    const parts = await c.list_partitions({ collection_name: "tenants" });
    assert.equal(parts.length, 8);
    const tenants = ["acme", "globex", "initech", "umbrella", "hooli"];
    await c.insert({ collection_name: "tenants", data: Array.from({ length: 100 }, (_, i) => ({ id: i, tenant: tenants[i % 5], v: [i, 1] })) });
    for (const t of tenants) {
      const rows = await c.query({ collection_name: "tenants", filter: `tenant == "${t}"`, output_fields: ["tenant"] });
      assert.equal(rows.length, 20, t);
      assert.ok(rows.every((r) => r.tenant === t));
    }
    const two = await c.query({ collection_name: "tenants", filter: `tenant in ["acme", "hooli"] and id < 50`, output_fields: [] });
    assert.deepEqual(
      two.map((r) => r.id),
      Array.from({ length: 50 }, (_, i) => i).filter((i) => i % 5 === 0 || i % 5 === 4),
    );
    const [hits] = await c.search({ collection_name: "tenants", data: [[0, 1]], limit: 3, filter: 'tenant == "globex"', output_fields: ["tenant"] });
    assert.deepEqual(
      hits.map((h: Hit) => h.id),
      [1, 6, 11],
    );
    await rejectsWith(c.create_partition({ collection_name: "tenants", partition_name: "extra" }), "INVALID_ARGUMENT", /partition key/);
    await rejectsWith(c.insert({ collection_name: "tenants", partition_name: "_default_0", data: [{ id: 500, tenant: "acme", v: [1, 1] }] }), "INVALID_ARGUMENT", /partition key/);
    await rejectsWith(c.query({ collection_name: "tenants", filter: "id > 0", partition_names: ["_default_0"] }), "INVALID_ARGUMENT", /partition key/);
  });
});
