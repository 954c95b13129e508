// Partitions, aliases and rename through the API, on a multi-shard collection.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { Hit } from "../../protocol/api.js";
import type { ShardMsg } from "../../protocol/messages.js";
import type { Row } from "../../protocol/rows.js";
import { Names } from "../../protocol/subjects.js";
import { decode } from "../../runtime/codec.js";
import { request } from "../../runtime/rpc.js";
import { randomVectors } from "../random.js";
import { startEnv, type TestEnv } from "../harness.js";
import { rejectsWith } from "../assert.js";
import { assertHits, rank } from "../brute-force.js";
import { expectedPartition } from "../partition-hash.js";
import { eventually } from "../timeouts.js";

const names = new Names();

describe("partitions and aliases", () => {
  let env: TestEnv;
  before(async () => {
    // The partition-key test watches what the proxy asks the shards on the wire.
    env = await startEnv({ tag: "partitions", localDelivery: false });
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

    const red = await c.call("query", { collection_name: "p", filter: "id >= 0", partition_names: ["red"], output_fields: ["id"] });
    assert.deepEqual(
      red.map((r) => r.id),
      Array.from({ length: 30 }, (_, i) => 30 + i),
    );
    const both = await c.call("query", { collection_name: "p", filter: "id >= 0", partition_names: ["red", "_default"], output_fields: ["id"] });
    assert.deepEqual(
      both.map((r) => r.id),
      Array.from({ length: 60 }, (_, i) => i),
    );
    const [hits] = await c.call("search", { collection_name: "p", data: [vecs[0]], limit: 5, partition_names: ["red"] });
    const red5 = rank(
      vecs.slice(30).map((vector, i) => ({ id: 30 + i, vector })),
      (r) => r.vector,
      vecs[0],
      "L2",
    ).slice(0, 5);
    assertHits(hits, red5, "search stays inside the partition");
    assert.deepEqual(await c.call("get", { collection_name: "p", ids: [1, 31], partition_names: ["red"], output_fields: ["id"] }), [{ id: 31 }]);
    await rejectsWith(c.call("query", { collection_name: "p", filter: "id > 0", partition_names: ["nope"] }), "PARTITION_NOT_FOUND");

    // delete restricted to a partition leaves the same ids elsewhere alone
    assert.equal((await c.call("delete", { collection_name: "p", ids: [1, 31], partition_name: "red" })).delete_count, 1);
    assert.equal((await c.get({ collection_name: "p", ids: [1, 31], output_fields: ["id"] })).length, 1);

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
    assert.deepEqual((await c.get({ collection_name: "live", ids: [1, 2], output_fields: ["id"] })).map((r) => r.id), [1]);
    await c.insert({ collection_name: "live", data: [{ id: 3, vector: [1, 1] }] });
    assert.deepEqual(await c.get_collection_stats({ collection_name: "v1" }), { row_count: 2 });
    assert.equal((await c.describe_collection({ collection_name: "live" })).collection_name, "v1");
    assert.deepEqual((await c.describe_collection({ collection_name: "v1" })).aliases, ["live"]);
    await rejectsWith(c.drop_collection({ collection_name: "v1" }), "INVALID_ARGUMENT", /drop_alias/);

    assert.deepEqual(await c.call("alter_alias", { alias: "live", collection_name: "v2" }), { altered: true });
    assert.deepEqual((await c.get({ collection_name: "live", ids: [1, 2], output_fields: ["id"] })).map((r) => r.id), [2]);
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
    const desc = await c.create_collection({
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
    assert.deepEqual(parts, Array.from({ length: 8 }, (_, i) => `_default_${i}`));
    const tenants = ["acme", "globex", "initech", "umbrella", "hooli"];
    const tenantOf = (id: number) => tenants[id % 5];
    await c.insert({ collection_name: "tenants", data: Array.from({ length: 100 }, (_, i) => ({ id: i, tenant: tenantOf(i), v: [i, 1] })) });

    // The labels as stored: each shard is asked for one partition's rows at a time.
    const stored = new Map<number, string[]>();
    for (const p of parts) {
      for (let s = 0; s < 2; s++) {
        const msg: ShardMsg = { kind: "query", output_fields: [], limit: 16384, partition_names: [p] };
        for (const r of await request<Row[]>(env.admin, names.shardSubject(desc.collection_id, s, 1), msg)) stored.set(r.id as number, [...(stored.get(r.id as number) ?? []), p]);
      }
    }
    assert.deepEqual(
      [...stored].sort(([a], [b]) => a - b),
      Array.from({ length: 100 }, (_, i) => [i, [expectedPartition(tenantOf(i), 8)]]),
      "each row is stored once, in the partition its key hashes to",
    );
    assert.ok(new Set(tenants.map((t) => expectedPartition(t, 8))).size > 1, "the tenants spread over several partitions");

    // What the proxy asks the shards for: a filter on the key names only the key's partitions.
    const asked: (string[] | null)[] = [];
    const spies = [0, 1].map((s) =>
      env.admin.subscribe(names.shardSubject(desc.collection_id, s, 1), {
        callback: (_e, m) => {
          const body = decode(m.data) as ShardMsg;
          if (body.kind === "query" || body.kind === "search") asked.push(body.partition_names ? [...body.partition_names].sort() : null);
        },
      }),
    );
    await env.admin.flush();
    /** The distinct partition scopes the shards were asked for during `read` (a retried request asks again, with the same scope). */
    const scopes = async (read: () => Promise<unknown>): Promise<(string[] | null)[]> => {
      asked.length = 0;
      await read();
      await eventually("both shards asked", () => asked.length >= 2);
      return [...new Set(asked.map((a) => JSON.stringify(a)))].map((a) => JSON.parse(a) as string[] | null);
    };
    const only = (...ts: string[]) => [...new Set(ts.map((t) => expectedPartition(t, 8)))].sort();
    try {
      for (const t of tenants) {
        let rows: Row[] = [];
        assert.deepEqual(await scopes(async () => (rows = await c.query({ collection_name: "tenants", filter: `tenant == "${t}"`, output_fields: ["tenant"] }))), [only(t)], t);
        assert.deepEqual(
          rows,
          Array.from({ length: 100 }, (_, i) => i)
            .filter((i) => tenantOf(i) === t)
            .map((id) => ({ id, tenant: t })),
          t,
        );
      }
      let two: Row[] = [];
      const filter = `tenant in ["acme", "hooli"] and id < 50`;
      assert.deepEqual(await scopes(async () => (two = await c.query({ collection_name: "tenants", filter, output_fields: ["id"] }))), [only("acme", "hooli")]);
      assert.deepEqual(
        two.map((r) => r.id),
        Array.from({ length: 50 }, (_, i) => i).filter((i) => i % 5 === 0 || i % 5 === 4),
      );
      let hits: Hit[] = [];
      assert.deepEqual(
        await scopes(async () => ([hits] = await c.search({ collection_name: "tenants", data: [[0, 1]], limit: 3, filter: 'tenant == "globex"', output_fields: ["tenant"] }))),
        [only("globex")],
      );
      assert.deepEqual(
        hits.map((h: Hit) => h.id),
        [1, 6, 11],
      );
      // A filter that is not on the key reads every partition.
      assert.deepEqual(await scopes(() => c.query({ collection_name: "tenants", filter: "id < 10", output_fields: ["id"] })), [parts]);
    } finally {
      for (const sub of spies) sub.unsubscribe();
    }
    await rejectsWith(c.create_partition({ collection_name: "tenants", partition_name: "extra" }), "INVALID_ARGUMENT", /partition key/);
    await rejectsWith(c.insert({ collection_name: "tenants", partition_name: "_default_0", data: [{ id: 500, tenant: "acme", v: [1, 1] }] }), "INVALID_ARGUMENT", /partition key/);
    await rejectsWith(c.query({ collection_name: "tenants", filter: "id > 0", partition_names: ["_default_0"] }), "INVALID_ARGUMENT", /partition key/);
  });
});
