// Bad persisted state is quarantined, not fatal (README "Security"): a WAL
// record that cannot be decoded or does not fit the schema is logged and
// skipped (the shard reports itself unhealthy in `status`), a meta value that
// cannot be decoded or is not of its key's kind is logged and left out, and
// the actors start and serve the rest.
// The bad state is written with the superuser's connection, as a corrupted
// store or a client with full rights would leave it.
import assert from "node:assert/strict";
import { test } from "node:test";
import { jetstream } from "@nats-io/jetstream";
import { Kvm } from "@nats-io/kv";
import { Names } from "../../protocol/subjects.js";
import { encode } from "../../runtime/codec.js";
import { startEnv } from "../harness.js";
import { randomVectors } from "../random.js";
import { liveIds, range } from "../segments.js";
import { TEST_TIMEOUT_MS } from "../timeouts.js";

const names = new Names();
const rows = (from: number, n: number) => randomVectors(n, 4, from).map((vector, i) => ({ id: from + i, vector }));

test("quarantine - bad WAL records and meta values are skipped with a log line; actors restart and serve every good row", { timeout: TEST_TIMEOUT_MS }, async () => {
  // No flush by idle time: the bad records must still be in the WAL when the shard replays it.
  const env = await startEnv({ tag: "quarantine", seal: { sealIdleMs: 600_000 } });
  try {
    const c = env.client;
    await c.create_collection({ collection_name: "q", dimension: 4, num_shards: 1 });
    const { collection_id } = await c.describe_collection({ collection_name: "q" });
    await c.insert({ collection_name: "q", data: rows(0, 10) });

    const js = jetstream(env.admin);
    await js.publish(names.walSubject(collection_id, 0), new Uint8Array([0xdd, 0xff]));
    await js.publish(names.walSubject(collection_id, 0), encode({ kind: "insert", ts: 1n, epoch: 1, rows: [{ id: "evil", vector: new Float32Array(4), $partition: "_default" }] }));
    const meta = await new Kvm(env.admin).open(names.metaBucket());
    await meta.put("shards.999.0", new Uint8Array([0xdd, 0xff]));
    await meta.put("collections.broken", new Uint8Array([0xdd, 0xff]));
    // Decodable but not a value of its key's kind: skipped like the undecodable ones.
    await meta.put("collections.forged", encode({ name: "forged", num_shards: "many" }));
    await meta.put("shards.998.0", encode({ owner: 5 }));

    // The live owner finds the foreign records when its next append is fenced by them, skips them, and the retry lands.
    await c.insert({ collection_name: "q", data: rows(10, 10) });
    assert.deepEqual(await liveIds(c, "q"), range(0, 20));
    assert.deepEqual(await c.list_collections(), ["q"]);

    await env.restart();
    assert.deepEqual(await c.list_collections(), ["q"]);
    assert.deepEqual(await liveIds(c, "q"), range(0, 20), "every good row is served after the restart");
    const shard = (await c.status()).shards.find((s) => s.collection_name === "q")!;
    assert.equal(shard.health, "unhealthy: 2 WAL records skipped");
    await c.insert({ collection_name: "q", data: rows(20, 5) });
    assert.deepEqual(await liveIds(c, "q"), range(0, 25));
  } finally {
    await env.close();
  }
});
