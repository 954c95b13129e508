// Crash durability: SIGKILL `vecbus serve` (and its nats-server) in the middle
// of an ingest, start it again on the same data dir, and find every acked
// insert and delete, with no row twice and nothing unacked except the writes
// that were in flight at the kill. Once with the WAL alone, once with small
// segments, so that seals, flushes and WAL purges run during the ingest.
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { freePort } from "../../cli/nats-server.js";
import { VecbusClient } from "../../runtime/client.js";
import { randomVectors } from "../random.js";
import { tempDir } from "../harness.js";
import { CLIENT_TIMEOUT_MS, TEST_TIMEOUT_MS } from "../timeouts.js";

const ROOT = path.resolve(import.meta.dirname, "../..");

function serve(dataDir: string, port: number, env: Record<string, string>): { child: ChildProcess; ready: Promise<string> } {
  const child = spawn(process.execPath, ["--import", "tsx", "cli/main.ts", "serve", "--data", dataDir, "--port", String(port)], {
    cwd: ROOT,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, VECBUS_LOG: "warn", ...env },
  });
  let out = "";
  let err = "";
  child.stderr!.on("data", (d) => (err += d));
  const ready = new Promise<string>((resolve, reject) => {
    child.stdout!.on("data", (d) => {
      out += d;
      const m = out.match(/vecbus ready on (\S+)/);
      if (m) resolve(m[1]);
    });
    child.once("exit", (code) => reject(new Error(`serve exited with ${code} before ready:\n${err}`)));
  });
  return { child, ready };
}

function killHard(child: ChildProcess, dataDir: string): void {
  child.kill("SIGKILL");
  // Its nats-server is a separate process that SIGKILL does not reach: kill it too, as a machine crash would.
  const pid = Number(fs.readFileSync(path.join(dataDir, "nats-server.pid"), "utf8"));
  process.kill(pid, "SIGKILL");
}

const VARIANTS: [string, Record<string, string>][] = [
  ["durability - SIGKILL mid-ingest loses no acked write and duplicates nothing", {}],
  ["durability - the same with 300-row segments flushed during the ingest", { VECBUS_SEGMENT_ROWS_MAX: "300", VECBUS_SEAL_IDLE_MS: "500" }],
];

for (const [title, env] of VARIANTS) test(title, { timeout: TEST_TIMEOUT_MS }, () => crashMidIngest(env));

async function crashMidIngest(env: Record<string, string>): Promise<void> {
  const dataDir = tempDir("durability");
  const port = await freePort();
  let proc = serve(dataDir, port, env);
  let client: VecbusClient | undefined;
  try {
    const url = await proc.ready;
    // A short timeout: the writes in flight at the kill are expected to fail.
    client = await VecbusClient.connect(url, { timeoutMs: 5_000 });
    await client.create_collection({ collection_name: "d", dimension: 8, metric_type: "L2", num_shards: 2 });

    const acked = new Set<number>();
    const deleted = new Set<number>();
    const vec = randomVectors(1, 8, 5)[0];
    const batch = (from: number) => Array.from({ length: 50 }, (_, i) => from + i);
    const insert = (ids: number[]) => client!.insert({ collection_name: "d", data: ids.map((id) => ({ id, vector: vec, batch: Math.floor(id / 50) })) });
    let sent = batch(0);
    for (;;) {
      await insert(sent);
      sent.forEach((id) => acked.add(id));
      if (acked.size >= 2_000) break;
      await client.delete({ collection_name: "d", ids: [sent[7]] });
      deleted.add(sent[7]);
      sent = batch(sent[0] + 50);
    }
    // The kill comes right after an ack, when a write acknowledged before JetStream stored it would be lost,
    // with a delete and the next insert sent but not answered: those two may or may not have reached the WAL.
    const deleting = sent[7];
    const inFlight = batch(sent[0] + 50);
    const pending = Promise.allSettled([client.delete({ collection_name: "d", ids: [deleting] }), insert(inFlight)]);
    await new Promise((r) => setImmediate(r));
    killHard(proc.child, dataDir);
    await pending;
    await client.close().catch(() => undefined);

    proc = serve(dataDir, port, env);
    const url2 = await proc.ready;
    client = await VecbusClient.connect(url2, { timeoutMs: CLIENT_TIMEOUT_MS });
    const rows = await client.query({ collection_name: "d", filter: "id >= 0", limit: 16384 });
    const ids = rows.map((r) => r.id as number);
    assert.equal(new Set(ids).size, ids.length, "no row appears twice");
    const present = new Set(ids);
    for (const id of acked) if (id !== deleting && !deleted.has(id)) assert.ok(present.has(id), `acked row ${id} is missing`);
    for (const id of deleted) assert.ok(!present.has(id), `acked delete of ${id} was undone`);
    for (const id of present) assert.ok(acked.has(id) || inFlight.includes(id), `row ${id} is present but its insert was not acked, nor in flight at the kill`);
    assert.deepEqual(await client.get_collection_stats({ collection_name: "d" }), { row_count: present.size });
    if (env.VECBUS_SEGMENT_ROWS_MAX) {
      const segments = (await client.status()).shards.reduce((n, s) => n + (s.segments ?? 0), 0);
      assert.ok(segments >= 4, `the restart loaded sealed segments (${segments})`);
    }

    // The restarted cluster takes writes again.
    await client.insert({ collection_name: "d", data: [{ id: 1_000_000, vector: vec }] });
    assert.equal((await client.get({ collection_name: "d", ids: [1_000_000] })).length, 1);
  } finally {
    await client?.close().catch(() => undefined);
    if (proc.child.exitCode === null) {
      const exited = new Promise((r) => proc.child.once("exit", r));
      proc.child.kill("SIGTERM");
      await exited;
    }
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}
