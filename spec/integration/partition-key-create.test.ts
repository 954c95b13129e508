// create_collection with a partition key through the API (README:
// `num_partitions`=16, with a partition key ≤1024; the numbered partitions
// `_default_0`…; create_partition, drop_partition, `partition_name` and
// `partition_names` refused), and schema errors reaching the client as
// SCHEMA_INVALID with nothing created. The schema rules themselves are
// covered by spec/protocol/partition-key-schema.test.ts.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { FieldSchema } from "../../protocol/schema.js";
import { rejectsWith } from "../assert.js";
import { startEnv, type TestEnv } from "../harness.js";
import { TEST_TIMEOUT_MS } from "../timeouts.js";

const schema: { fields: FieldSchema[] } = {
  fields: [
    { name: "id", type: "Int64", is_primary: true },
    { name: "tenant", type: "VarChar", max_length: 16, is_partition_key: true },
    { name: "v", type: "FloatVector", dim: 2 },
  ],
};

const numbered = (n: number) => Array.from({ length: n }, (_, i) => `_default_${i}`);

describe("partition key collections", () => {
  let env: TestEnv;
  before(async () => {
    env = await startEnv({ tag: "pkey" });
  });
  after(async () => env?.close());

  test("partition key - num_partitions defaults to 16 and takes 1 to 1024", { timeout: TEST_TIMEOUT_MS }, async () => {
    const c = env.client;
    await c.create_collection({ collection_name: "dflt", schema, metric_type: "L2" });
    assert.deepEqual(await c.list_partitions({ collection_name: "dflt" }), numbered(16));
    assert.equal((await c.describe_collection({ collection_name: "dflt" })).num_partitions, 16);
    for (const n of [1, 1024]) {
      await c.create_collection({ collection_name: `n${n}`, schema, metric_type: "L2", num_partitions: n });
      assert.deepEqual(await c.list_partitions({ collection_name: `n${n}` }), numbered(n));
    }
    for (const n of [0, 1025, 2.5]) {
      await rejectsWith(c.create_collection({ collection_name: "bad", schema, metric_type: "L2", num_partitions: n }), "INVALID_ARGUMENT", /num_partitions must be an integer from 1 to 1024/);
    }
    assert.equal(await c.has_collection({ collection_name: "bad" }), false);
  });

  test("partition key - a bad schema is SCHEMA_INVALID and creates nothing", { timeout: TEST_TIMEOUT_MS }, async () => {
    const c = env.client;
    const twoKeys: { fields: FieldSchema[] } = { fields: [...schema.fields, { name: "org", type: "Int64", is_partition_key: true }] };
    await rejectsWith(c.create_collection({ collection_name: "two", schema: twoKeys, metric_type: "L2" }), "SCHEMA_INVALID", /at most one partition key field; found tenant, org/);
    assert.equal(await c.has_collection({ collection_name: "two" }), false);
  });

  test("partition key - partitions are vecbus's: every manual partition request is refused", { timeout: TEST_TIMEOUT_MS }, async () => {
    const c = env.client;
    const name = "n1024";
    await c.insert({ collection_name: name, data: [{ id: 1, tenant: "acme", v: [1, 0] }] });
    const why = /not allowed: "n1024" routes rows to partitions by its partition key "tenant"/;
    await rejectsWith(c.create_partition({ collection_name: name, partition_name: "extra" }), "INVALID_ARGUMENT", why);
    await rejectsWith(c.drop_partition({ collection_name: name, partition_name: "_default_3" }), "INVALID_ARGUMENT", why);
    await rejectsWith(c.upsert({ collection_name: name, partition_name: "_default_0", data: [{ id: 2, tenant: "acme", v: [1, 0] }] }), "INVALID_ARGUMENT", why);
    await rejectsWith(c.delete({ collection_name: name, ids: [1], partition_name: "_default_0" }), "INVALID_ARGUMENT", why);
    await rejectsWith(c.search({ collection_name: name, data: [[1, 0]], limit: 1, partition_names: ["_default_0"] }), "INVALID_ARGUMENT", why);
    await rejectsWith(c.get({ collection_name: name, ids: [1], partition_names: ["_default_0"] }), "INVALID_ARGUMENT", why);
    assert.deepEqual(await c.get({ collection_name: name, ids: [1, 2], output_fields: ["tenant"], consistency_level: "Strong" }), [{ id: 1, tenant: "acme" }]);
    assert.equal((await c.list_partitions({ collection_name: name })).length, 1024);
  });
});
