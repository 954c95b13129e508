// A full WAL refuses writes, it never drops them (README "Limits"): with the
// WAL's byte bound set tiny, inserts go on until one is RESOURCE_EXHAUSTED;
// the shard then seals and flushes, its WAL is purged, and inserts are taken
// again. Every acknowledged row is there, also after SIGKILL and a restart.
// A growing segment seals at half the WAL's bound, so the WAL fills only
// when writes outrun the flush of the segment before: the inserts are sent
// 16 at a time, which the shard appends back to back.
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { freePort, stopOrphan } from "../../cli/nats-server.js";
import { VecbusError } from "../../protocol/errors.js";
import { VecbusClient } from "../../runtime/client.js";
import { tempDir } from "../harness.js";
import { randomVectors } from "../random.js";
import { liveIds } from "../segments.js";
import { CLIENT_TIMEOUT_MS, eventually, TEST_TIMEOUT_MS } from "../timeouts.js";
import { startServe, type ServeProcess } from "./serve-process.js";

const WAL_BYTES = 64 * 1024;
const DIM = 64;
const BATCH = 20;
const IN_FLIGHT = 16;

test("store full - a WAL at its byte bound answers RESOURCE_EXHAUSTED, flushes, takes writes again, and loses no acked row", { timeout: TEST_TIMEOUT_MS }, async () => {
  const dataDir = tempDir("store-full");
  const args = ["--data", dataDir, "--port", String(await freePort())];
  // Sealing only when the WAL is full (not by idle time or size), so the bound is what is hit.
  const env = { VECBUS_WAL_MAX_BYTES: String(WAL_BYTES), VECBUS_SEAL_IDLE_MS: "3600000" };
  let serve: ServeProcess | undefined;
  let client: VecbusClient | undefined;
  const acked: number[] = [];
  try {
    serve = await startServe(args, env);
    client = await VecbusClient.connect(serve.url, { timeoutMs: CLIENT_TIMEOUT_MS });
    await client.create_collection({ collection_name: "full", dimension: DIM, num_shards: 1 });
    const insert = async (from: number) => {
      const ids = Array.from({ length: BATCH }, (_, i) => from + i);
      const vectors = randomVectors(BATCH, DIM, from);
      await client!.insert({ collection_name: "full", data: ids.map((id, i) => ({ id, vector: vectors[i] })) });
      acked.push(...ids);
    };
    // 20 rows × 64 floats is over 5 KB an insert: the 64 KB WAL holds about a dozen.
    let refusal: VecbusError | undefined;
    for (let next = 0; next < 100 * BATCH && !refusal; next += IN_FLIGHT * BATCH) {
      const wave = await Promise.allSettled(Array.from({ length: IN_FLIGHT }, (_, i) => insert(next + i * BATCH)));
      for (const r of wave) {
        if (r.status === "fulfilled") continue;
        if (!(r.reason instanceof VecbusError) || r.reason.code !== "RESOURCE_EXHAUSTED") throw r.reason;
        refusal = r.reason;
      }
    }
    assert.ok(refusal, "an insert was refused before 100 batches");
    assert.match(refusal.message, /the WAL \S+ is full .*nothing was written.*VECBUS_WAL_MAX_BYTES/);
    assert.ok(acked.length > 0);
    // The refusal sealed the growing segment; once it is flushed the WAL is purged and writes are taken again.
    await eventually("an insert is taken after the flush", async () => insert(10_000 + acked.length).then(() => true, () => false));
    assert.deepEqual(await liveIds(client, "full"), [...acked].sort((a, b) => a - b));

    await client.close();
    client = undefined;
    await serve.kill();
    serve = await startServe(args, env);
    client = await VecbusClient.connect(serve.url, { timeoutMs: CLIENT_TIMEOUT_MS });
    assert.deepEqual(await liveIds(client, "full"), [...acked].sort((a, b) => a - b), "every acked row is there after SIGKILL and a restart");
  } finally {
    await client?.close().catch(() => undefined);
    await serve?.kill();
    await stopOrphan(path.join(dataDir, "nats-server.pid"));
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
});
