// vecbus on three nats-servers (nats-cluster.conf) with VECBUS_REPLICAS=3:
// one server SIGKILLed and restarted while a client inserts and searches
// loses no acked row, writes none twice, and service resumes; a store made
// with one replica gets three when the setting grows, keeping its data.
import assert from "node:assert/strict";
import { test } from "node:test";
import { jetstreamManager, type JetStreamManager } from "@nats-io/jetstream";
import { Names } from "../../protocol/subjects.js";
import { VecbusClient } from "../../runtime/client.js";
import { closeConnection, connectNats } from "../../runtime/connection.js";
import { startServe, type ServeProcess } from "../cli/serve-process.js";
import { tempDir } from "../harness.js";
import { startNatsCluster, type NatsCluster } from "../nats-cluster.js";
import { CLIENT_TIMEOUT_MS, eventually, retried, TEST_TIMEOUT_MS } from "../timeouts.js";

const names = new Names();

/** Every stream vecbus made: the WAL of each shard of `collection`, the task stream, and the meta, session and segment buckets. */
async function replicasOf(jsm: JetStreamManager, c: VecbusClient, collection: string): Promise<Record<string, number>> {
  const wal = (await c.status()).shards.filter((s) => s.collection_name === collection).map((s) => s.wal_stream);
  const streams = [...wal, names.taskStream(), `KV_${names.metaBucket()}`, `KV_${names.sessionBucket()}`, `OBJ_${names.objectBucket()}`];
  return Object.fromEntries(await Promise.all(streams.map(async (s) => [s, (await jsm.streams.info(s)).config.num_replicas] as const)));
}

/** Every row's id, read in id ranges (a query returns at most 16384 rows). */
async function everyId(c: VecbusClient, collection: string, below = 16_384): Promise<number[]> {
  const ids: number[] = [];
  for (let from = 0; from < below; from += 10_000) {
    const filter = `id >= ${from} and id < ${from + 10_000}`;
    const rows = await c.query({ collection_name: collection, filter, output_fields: ["id"], limit: 16_384, consistency_level: "Strong" });
    ids.push(...rows.map((r) => r.id as number));
  }
  return ids.sort((a, b) => a - b);
}

async function withCluster(body: (cluster: NatsCluster, jsm: JetStreamManager) => Promise<void>): Promise<void> {
  const cluster = await startNatsCluster();
  const nc = await connectNats(cluster.urls, "test-admin", { reconnectForever: true });
  try {
    await body(cluster, await jetstreamManager(nc));
  } finally {
    await closeConnection(nc);
    await cluster.stop();
  }
}

// Failed in about one run of four (after the cluster healed, every insert failed with an error from the
// outage, for good) until a shard stopped keeping a failed insert group open (oracle-outage.test.ts); 40 of
// 40 runs passed after the fix, on the 2-core machine with other work running.

test("nats cluster - one of three NATS servers SIGKILLed and restarted under inserts and searches: every acked row once, service resumes", { timeout: TEST_TIMEOUT_MS }, async (t) => {
  await withCluster(async (cluster, jsm) => {
    let serve: ServeProcess | undefined;
    let c: VecbusClient | undefined;
    try {
      serve = await startServe(["--nats-url", cluster.urls, "--data", tempDir("nats-cluster-serve")], { VECBUS_REPLICAS: "3", VECBUS_LOG: "info" });
      // A request that was passing through the killed server is lost (no reply ever comes): like an application,
      // the writer gives up on it after 10 s and goes on, rather than after the default 45 s.
      c = await VecbusClient.connect(cluster.urls, { timeoutMs: 10_000 });
      const client = c;
      await client.create_collection({ collection_name: "chaos", dimension: 4, metric_type: "L2", num_shards: 2 });
      assert.ok(Object.values(await replicasOf(jsm, client, "chaos")).every((r) => r === 3), "every stream and bucket has three replicas");

      const acked = new Set<number>();
      let next = 0;
      let running = true;
      const gaps = { write: 0, read: 0, writeErrors: 0, readErrors: 0 };
      const lastErrors = { write: "", read: "" };
      const loop = async (kind: "write" | "read", step: () => Promise<void>) => {
        let last = Date.now();
        while (running) {
          try {
            await step();
            gaps[kind] = Math.max(gaps[kind], Date.now() - last);
            last = Date.now();
          } catch (e) {
            gaps[kind === "write" ? "writeErrors" : "readErrors"]++;
            lastErrors[kind] = `${new Date().toISOString()} ${String(e)}`;
          }
          await new Promise((r) => setTimeout(r, 20));
        }
      };
      const writer = loop("write", async () => {
        const ids = Array.from({ length: 50 }, () => next++);
        await client.insert({ collection_name: "chaos", data: ids.map((id) => ({ id, vector: [id % 7, 1, 2, 3] })) });
        for (const id of ids) acked.add(id);
      });
      const reader = loop("read", async () => {
        await client.search({ collection_name: "chaos", data: [[1, 1, 2, 3]], limit: 3, consistency_level: "Bounded" });
      });
      await new Promise((r) => setTimeout(r, 2_000));
      const before = acked.size;
      await cluster.kill(1);
      await new Promise((r) => setTimeout(r, 8_000));
      await cluster.restart(1);
      await eventually("inserts acked after the restart", () => acked.size > before + 500).catch(async (e: Error) => {
        // Tells a client that lost its way from a service that stopped: the same insert from a fresh connection.
        const fresh = await VecbusClient.connect(cluster.urls, { timeoutMs: 10_000 });
        const second = await fresh.insert({ collection_name: "chaos", data: [{ id: 1e9, vector: [0, 0, 0, 0] }] }).then(() => "acked", (x: unknown) => String(x));
        await fresh.close();
        assert.fail(`${e.message}; last insert error: ${lastErrors.write}; last search error: ${lastErrors.read}; an insert from a fresh connection: ${second}`);
      });
      running = false;
      await Promise.all([writer, reader]);
      t.diagnostic(`acked ${acked.size} rows; longest stretch without an acked insert ${gaps.write} ms, without a search ${gaps.read} ms; ${gaps.writeErrors} insert and ${gaps.readErrors} search errors`);

      // A request passing through a server as it dies or rejoins may get no reply: like an application, retry.
      const ids = await retried(() => everyId(client, "chaos", next));
      assert.equal(new Set(ids).size, ids.length, "no row twice");
      const present = new Set(ids);
      assert.deepEqual([...acked].filter((id) => !present.has(id)), [], "every acked row is there");
      assert.ok(ids.every((id) => id < next), "nothing that was never sent");
      await retried(() => client.insert({ collection_name: "chaos", data: [{ id: next, vector: [0, 0, 0, 0] }] }));
      assert.deepEqual(await retried(() => client.get({ collection_name: "chaos", ids: [next], output_fields: ["id"], consistency_level: "Strong" })), [{ id: next }]);
    } catch (e) {
      // What the actors logged is the only trace of a failure seen once in many runs.
      t.diagnostic(`vecbus serve's log, last 300 lines:\n${serve?.stderr().split("\n").slice(-300).join("\n")}`);
      throw e;
    } finally {
      await c?.close();
      await serve?.kill();
    }
  });
});

test("nats cluster - streams and buckets made with one replica get three when VECBUS_REPLICAS grows, and keep their rows", { timeout: TEST_TIMEOUT_MS }, async () => {
  await withCluster(async (cluster, jsm) => {
    const data = tempDir("nats-cluster-grow");
    let serve: ServeProcess | undefined;
    let c: VecbusClient | undefined;
    try {
      serve = await startServe(["--nats-url", cluster.urls, "--data", data], { VECBUS_REPLICAS: "1" });
      c = await VecbusClient.connect(cluster.urls, { timeoutMs: CLIENT_TIMEOUT_MS });
      await c.create_collection({ collection_name: "grow", dimension: 4, metric_type: "L2", num_shards: 2 });
      await c.insert({ collection_name: "grow", data: Array.from({ length: 100 }, (_, id) => ({ id, vector: [id, 1, 2, 3] })) });
      await c.flush({ collection_name: "grow" });
      await c.insert({ collection_name: "grow", data: Array.from({ length: 100 }, (_, i) => ({ id: 100 + i, vector: [i, 1, 2, 3] })) });
      assert.ok(Object.values(await replicasOf(jsm, c, "grow")).every((r) => r === 1), "made with one replica");
      await serve.kill();

      serve = await startServe(["--nats-url", cluster.urls, "--data", data], { VECBUS_REPLICAS: "3", VECBUS_LOG: "info" });
      const client = c;
      // While a stream re-forms with its new copies, calls that touch it fail for a moment (NOT_LEADER, UNAVAILABLE).
      const raised = async () => Object.values(await replicasOf(jsm, client, "grow")).every((r) => r === 3);
      await eventually("every stream raised to three replicas", () => raised().catch(() => false));
      // The coordinator may lose its lease while the meta bucket re-forms: reads answer NOT_LEADER until it is back.
      const ids = await retried(() => everyId(client, "grow"));
      assert.deepEqual(ids, Array.from({ length: 200 }, (_, id) => id), "the flushed and the WAL-only rows are there");
    } finally {
      await c?.close();
      await serve?.kill();
    }
  });
});
