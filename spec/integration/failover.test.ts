// A streaming node process dies (SIGKILL): its session expires, the
// coordinator hands its shards to a live node with a higher epoch, the new
// owner replays the WAL, and every acked row is served again.
import assert from "node:assert/strict";
import { DATA_FORMAT } from "../../protocol/data-format.js";
import { test } from "node:test";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { VecbusError } from "../../protocol/errors.js";
import type { Row } from "../../protocol/rows.js";
import { Names } from "../../protocol/subjects.js";
import { composeTs } from "../../protocol/timestamp.js";
import { decode, encode } from "../../runtime/codec.js";
import { request } from "../../runtime/rpc.js";
import { rejectsWith } from "../assert.js";
import { randomVectors } from "../random.js";
import type { ServeProcess } from "../cli/serve-process.js";
import { startActorProcess, startEnv } from "../harness.js";
import { CLIENT_TIMEOUT_MS, eventually, TEST_TIMEOUT_MS } from "../timeouts.js";

test("failover - shards of a killed streaming node move to a live one", { timeout: TEST_TIMEOUT_MS }, async () => {
  const env = await startEnv({ tag: "failover" });
  let doomed: ServeProcess | undefined;
  try {
    doomed = await startActorProcess(env, "streaming", "doomed");
    const c = env.client;
    await c.create_collection({ collection_name: "f", dimension: 4, metric_type: "L2", num_shards: 4 });
    const owners = (await c.status()).shards.filter((s) => s.collection_name === "f").map((s) => s.owner);
    assert.ok(owners.includes("doomed-streaming") && owners.includes("test-streaming"), `shards spread over both nodes: ${owners}`);
    const vecs = randomVectors(400, 4, 9);
    await c.insert({ collection_name: "f", data: vecs.map((v, i) => ({ id: i, vector: v })) });
    await c.delete({ collection_name: "f", ids: [0, 1, 2, 3] });

    await doomed.kill();
    // The proxy waits out ownerless shards for 20 s and refuses a read it cannot complete; the
    // reassignment may take longer on a loaded machine, so poll until a read is answered at all.
    let rows: Row[] = [];
    await eventually("the killed node's shards to be served again", async () => {
      try {
        rows = await c.query({ collection_name: "f", filter: "id >= 0", limit: 1000, output_fields: ["id"] });
        return true;
      } catch (e) {
        if (e instanceof VecbusError && ["UNAVAILABLE", "SHARD_NOT_READY", "TIMEOUT"].includes(e.code)) return false;
        throw e;
      }
    });
    assert.deepEqual(
      rows.map((r) => r.id).sort((a, b) => (a as number) - (b as number)),
      Array.from({ length: 396 }, (_, i) => i + 4),
      "every acked row but the deleted ones, once each",
    );
    const after = (await c.status()).shards.filter((s) => s.collection_name === "f");
    assert.ok(after.every((s) => s.owner === "test-streaming"));
    const moved = after.filter((s) => s.epoch === 2);
    assert.ok(moved.length > 0, "moved shards carry a higher epoch");
    // The new owner claimed each moved shard's log: the old owner's next append would be fenced.
    const jsm = await jetstreamManager(env.admin);
    for (const s of moved) {
      const last = await jsm.direct.getMessage(s.wal_stream, { last_by_subj: `vecbus.wal.${s.wal_stream.split("_")[2]}.${s.shard}` });
      assert.deepEqual(decode(last!.data), { kind: "fence", ts: (decode(last!.data) as { ts: unknown }).ts, epoch: 2, format: DATA_FORMAT });
    }
    await c.insert({ collection_name: "f", data: [{ id: 1000, vector: [1, 1, 1, 1] }] });
    assert.deepEqual(await c.get({ collection_name: "f", ids: [1000], output_fields: ["id"] }), [{ id: 1000 }]);
    assert.deepEqual(await c.get_collection_stats({ collection_name: "f" }), { row_count: 397 });
  } finally {
    await doomed?.kill();
    await env.close();
  }
});

test("failover - an owner that finds a newer owner's fence in its WAL stops serving the shard and appends nothing after it", { timeout: TEST_TIMEOUT_MS }, async () => {
  const env = await startEnv({ tag: "fence" });
  try {
    const c = env.client;
    const d = await c.create_collection({ collection_name: "z", dimension: 2, num_shards: 1 });
    await c.insert({ collection_name: "z", data: [{ id: 1, vector: [1, 1] }] });
    const [shard] = (await c.status()).shards.filter((s) => s.collection_name === "z");
    const names = new Names();
    // What a new owner that took the shard over writes before it serves; this owner missed the reassignment.
    const fence = { kind: "fence", ts: composeTs(Date.now(), 0), epoch: shard.epoch + 1 };
    const js = jetstream(env.admin);
    const fenceSeq = (await js.publish(names.walSubject(d.collection_id, 0), encode(fence))).seq;

    const subject = names.shardSubject(d.collection_id, 0, shard.epoch);
    const write = (id: number) => request(env.admin, subject, { kind: "insert", batch: { count: 1, fields: { id: [id], vector: new Float32Array([id, id]) }, partition: "_default" } }, CLIENT_TIMEOUT_MS);
    // The append is fenced by the record above; the owner reads the tail, finds the newer epoch and stops.
    await rejectsWith(write(2), "SHARD_NOT_READY");
    // No second chance: the owner no longer serves the shard, so the write is refused again (nobody answers).
    await assert.rejects(write(3), (e: unknown) => e instanceof VecbusError && (e.code === "UNAVAILABLE" || e.code === "SHARD_NOT_READY"));
    const jsm = await jetstreamManager(env.admin);
    const last = await jsm.direct.getMessage(shard.wal_stream, { last_by_subj: names.walSubject(d.collection_id, 0) });
    assert.equal(last!.seq, fenceSeq, "nothing was appended after the newer owner's fence");
  } finally {
    await env.close();
  }
});
