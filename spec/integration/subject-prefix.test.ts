// The subject prefix (README: subjects are `<prefix>.api.v1.<method>`, the
// prefix set with --prefix): actors started with another prefix answer only
// there, and two vecbus instances with different prefixes share one NATS
// server without seeing each other's collections, WALs or segments.
import assert from "node:assert/strict";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { startCluster, type Cluster } from "../../cli/cluster.js";
import { DEFAULT_PREFIX } from "../../protocol/subjects.js";
import { VecbusClient } from "../../runtime/client.js";
import { rejectsWith } from "../assert.js";
import { startEnv, type TestEnv } from "../harness.js";
import { randomVectors } from "../random.js";
import { CLIENT_TIMEOUT_MS, eventually, TEST_TIMEOUT_MS } from "../timeouts.js";

const DIM = 4;
const PREFIX = "tenant-b";

function l2(a: number[], b: number[]): number {
  return a.reduce((s, x, k) => s + (x - b[k]) ** 2, 0);
}

describe("subject prefix", () => {
  let env: TestEnv;
  const clusters: Cluster[] = [];
  let alt: VecbusClient;
  before(async () => {
    // Only the NATS server and a default-prefix client from the harness: the actors are started here with their prefix.
    env = await startEnv({ tag: "prefix", roles: "none", prefixes: [DEFAULT_PREFIX, PREFIX] });
    clusters.push(await startCluster({ natsUrl: env.nats.url, prefix: PREFIX, credentials: env.nats.actorCredentials(PREFIX), nodeId: "alt", cacheDir: path.join(env.dataDir, "alt-cache"), autoCompaction: false }));
    alt = await VecbusClient.connect(env.nats.url, { prefix: PREFIX, timeoutMs: CLIENT_TIMEOUT_MS });
  });
  after(async () => {
    await alt?.close();
    for (const c of clusters.reverse()) await c.stop();
    await env?.close();
  });

  test("subject prefix - actors on another prefix serve a client on it; the default prefix has no responder", { timeout: TEST_TIMEOUT_MS }, async () => {
    const vecs = randomVectors(50, DIM, 5);
    await alt.create_collection({ collection_name: "docs", dimension: DIM, metric_type: "L2" });
    await alt.insert({ collection_name: "docs", data: vecs.map((vector, id) => ({ id, vector, n: id })) });
    const q = randomVectors(1, DIM, 6)[0];
    const [hits] = await alt.search({ collection_name: "docs", data: [q], limit: 5, consistency_level: "Strong" });
    const exact = vecs
      .map((v, id) => ({ id, d: l2(v, q) }))
      .sort((a, b) => a.d - b.d || a.id - b.id)
      .slice(0, 5);
    assert.deepEqual(
      hits.map((h) => h.id),
      exact.map((e) => e.id),
    );
    assert.deepEqual(await alt.list_collections(), ["docs"]);

    await rejectsWith(env.client.list_collections(), "UNAVAILABLE", /vecbus\.api\.v1\.list_collections/);
    await rejectsWith(env.client.search({ collection_name: "docs", data: [q], limit: 5 }), "UNAVAILABLE");
  });

  test("subject prefix - two instances on one NATS server keep their collections, WALs and segments apart", { timeout: TEST_TIMEOUT_MS }, async () => {
    clusters.push(await startCluster({ natsUrl: env.nats.url, credentials: env.nats.actorCredentials(DEFAULT_PREFIX), nodeId: "dflt", cacheDir: path.join(env.dataDir, "dflt-cache"), autoCompaction: false }));
    const dflt = env.client;
    // Same collection name, and (both instances counting from the start) the same collection id and shard.
    await dflt.create_collection({ collection_name: "docs", dimension: DIM, metric_type: "L2" });
    const mine = randomVectors(30, DIM, 7).map((vector, i) => ({ id: 1000 + i, vector, n: -1 - i }));
    // Two writes, as the other instance made: equal WAL sequences give equal segment ids, so only the bucket keeps them apart.
    await dflt.insert({ collection_name: "docs", data: mine.slice(0, 10) });
    await dflt.insert({ collection_name: "docs", data: mine.slice(10) });
    await alt.insert({ collection_name: "docs", data: [{ id: 1000, vector: [9, 9, 9, 9], n: 9999 }] });
    // Sealed segments go to each instance's own object store bucket; reading them back must give each its own rows.
    await dflt.flush({ collection_name: "docs" });
    await alt.flush({ collection_name: "docs" });

    assert.deepEqual(await dflt.list_collections(), ["docs"]);
    const each = async () => {
      const dRows = await dflt.query({ collection_name: "docs", filter: "id >= 0", output_fields: ["n"], consistency_level: "Strong" });
      assert.deepEqual(
        dRows,
        mine.map((r) => ({ id: r.id, n: r.n })),
      );
      const aRows = await alt.query({ collection_name: "docs", filter: "id >= 1000", output_fields: ["n"], consistency_level: "Strong" });
      assert.deepEqual(aRows, [{ id: 1000, n: 9999 }]);
      assert.deepEqual(await alt.query({ collection_name: "docs", filter: "id >= 0", output_fields: ["count(*)"], consistency_level: "Strong" }), [{ "count(*)": 51 }]);
    };
    await each();
    // Then from the object store: indexed by each instance's data node and served by its query node.
    for (const c of [dflt, alt]) {
      await eventually("every sealed segment served by the query node", async () => {
        const sealed = (await c.status()).segments.filter((g) => g.collection_name === "docs" && g.segment_id !== null);
        return sealed.length > 0 && sealed.every((g) => /^query \S+$/.test(g.served_by));
      });
    }
    await each();

    await dflt.drop_collection({ collection_name: "docs" });
    assert.deepEqual(await alt.list_collections(), ["docs"], "dropping the default instance's collection leaves the other's");
    assert.equal((await alt.get_collection_stats({ collection_name: "docs" })).row_count, 51);
  });
});
