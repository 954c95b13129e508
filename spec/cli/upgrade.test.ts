// Data written by the previous release opens in this one (README
// "Formats and upgrades"): spec/fixtures/data-0.1.0.tar.gz is a data dir that
// release 0.1.0 wrote (how: spec/fixtures/make-data-0.1.0.ts.txt) — a
// collection with a partition, an alias, a flushed and indexed segment, rows
// and deletes still only in the WAL. This release's `vecbus serve` starts on
// it (adding users and permissions, bounding the old WAL stream) and serves
// exactly the rows the old one was given, computed here from the same recipe.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { freePort, stopOrphan } from "../../cli/nats-server.js";
import { readAuth } from "../../cli/nats-auth.js";
import { Kvm, type KV } from "@nats-io/kv";
import { DATA_FORMAT } from "../../protocol/data-format.js";
import { SUPERUSER } from "../../protocol/permissions.js";
import { decode, encode } from "../../runtime/codec.js";
import { VecbusClient } from "../../runtime/client.js";
import { tempDir } from "../harness.js";
import { randomVectors } from "../random.js";
import { CLIENT_TIMEOUT_MS, TEST_TIMEOUT_MS } from "../timeouts.js";
import { ROOT, startServe, type ServeProcess } from "./serve-process.js";

/** What release 0.1.0 was given: rows 0..54 (50..54 in partition p1), then ids 3 and 45 deleted. */
const vectors = randomVectors(55, 4, 9);
const expected = Array.from({ length: 55 }, (_, i) => i)
  .filter((i) => i !== 3 && i !== 45)
  .map((i) => ({ id: i, title: `film ${i}`, year: 1990 + i, ...(i % 2 === 0 ? { genre: "drama" } : {}) }));

async function formatMark(meta: KV): Promise<number> {
  return (decode((await meta.get("format"))!.value) as { version: number }).version;
}

test("upgrade - a data dir written by release 0.1.0 opens: every row, partition, alias and index is there, and writes go on", { timeout: TEST_TIMEOUT_MS }, async () => {
  const dataDir = tempDir("upgrade");
  execFileSync("tar", ["-C", dataDir, "-xzf", path.join(ROOT, "spec/fixtures/data-0.1.0.tar.gz")]);
  const args = ["--data", dataDir, "--port", String(await freePort())];
  let serve: ServeProcess | undefined;
  let client: VecbusClient | undefined;
  try {
    serve = await startServe(args);
    client = await VecbusClient.connect(serve.url, { timeoutMs: CLIENT_TIMEOUT_MS });
    await client.load_collection({ collection_name: "films" });
    const rows = await client.query({ collection_name: "movies", filter: "id >= 0", output_fields: ["id", "title", "year", "genre", "vector"], consistency_level: "Strong" });
    rows.sort((a, b) => Number(a.id) - Number(b.id));
    assert.deepEqual(
      rows.map(({ vector: _v, ...r }) => r),
      expected,
    );
    for (const r of rows) assert.deepEqual([...(r.vector as number[])], [...Float32Array.from(vectors[r.id as number])], `vector of ${r.id}`);
    const p1 = await client.query({ collection_name: "films", filter: "id >= 0", output_fields: ["id"], partition_names: ["p1"], consistency_level: "Strong" });
    assert.deepEqual(p1.map((r) => r.id).sort((a, b) => Number(a) - Number(b)), [50, 51, 52, 53, 54]);
    assert.equal((await client.describe_index({ collection_name: "films", field_name: "vector" })).state, "Finished");
    const [hits] = await client.search({ collection_name: "films", data: [vectors[10]], limit: 1, consistency_level: "Strong" });
    assert.equal(hits[0].id, 10);

    await client.insert({ collection_name: "films", data: [{ id: 100, vector: [1, 2, 3, 4], title: "new", year: 2026 }] });
    assert.equal((await client.get({ collection_name: "films", ids: [100], consistency_level: "Strong" })).length, 1);
    // The old WAL stream and meta bucket were given this release's byte bounds, refusing rather than dropping at them.
    const admin = await connect({ servers: serve.url, user: SUPERUSER, pass: readAuth(dataDir)!.users[SUPERUSER].password });
    const wal = await (await jetstreamManager(admin)).streams.info("vecbus_WAL_1_0");
    assert.equal(wal.config.discard, "new");
    assert.ok(wal.config.max_bytes > 0);
    const metaStream = await (await jetstreamManager(admin)).streams.info("KV_vecbus_meta");
    assert.equal(metaStream.config.discard, "new");
    assert.equal(metaStream.config.max_bytes, 256 << 20);
    // The store is marked with its data format; one marked older is raised to it when the coordinator starts.
    const meta = await new Kvm(admin).open("vecbus_meta");
    assert.equal(await formatMark(meta), DATA_FORMAT);
    await meta.put("format", encode({ version: 1 }));
    await admin.close();
    await client.close();
    await serve.kill();
    // The WAL now holds 0.1.0's rows and this release's column batch: a restart replays both.
    serve = await startServe(args);
    client = await VecbusClient.connect(serve.url, { timeoutMs: CLIENT_TIMEOUT_MS });
    const again = await client.query({ collection_name: "films", filter: "id >= 0", output_fields: ["id"], limit: 1000, consistency_level: "Strong" });
    assert.deepEqual(again.map((r) => r.id).sort((a, b) => Number(a) - Number(b)), [...expected.map((r) => r.id), 100]);
    const admin2 = await connect({ servers: serve.url, user: SUPERUSER, pass: readAuth(dataDir)!.users[SUPERUSER].password });
    const meta2 = await new Kvm(admin2).open("vecbus_meta");
    assert.equal(await formatMark(meta2), DATA_FORMAT, "the mark is raised");
    // A store marked newer than this release knows is refused at start-up.
    await meta2.put("format", encode({ version: DATA_FORMAT + 1 }));
    await admin2.close();
    await client.close();
    client = undefined;
    await serve.kill();
    serve = undefined;
    await assert.rejects(startServe(args), new RegExp(`data format ${DATA_FORMAT + 1}, newer than this release's ${DATA_FORMAT}`));
  } finally {
    await client?.close().catch(() => undefined);
    await serve?.kill();
    await stopOrphan(path.join(dataDir, "nats-server.pid"));
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
});
