// A streaming node stopped (SIGSTOP) longer than its session TTL loses its
// shards to another node, which writes on. When the stopped process resumes
// it may still hold requests for the shards it lost, and its meta watch may
// be behind: it must answer none of them from its old state, and it must
// learn of the move and take new shards afterwards.
import assert from "node:assert/strict";
import { test } from "node:test";
import { VecbusError } from "../../protocol/errors.js";
import type { Row } from "../../protocol/rows.js";
import { Names } from "../../protocol/subjects.js";
import { request } from "../../runtime/rpc.js";
import type { ServeProcess } from "../cli/serve-process.js";
import { startActorProcess, startEnv, type TestEnv } from "../harness.js";
import { expectedShard } from "../partition-hash.js";
import { randomVectors } from "../random.js";
import { startTcpProxy, type TcpProxy } from "../tcp-proxy.js";
import { eventually, retried, TEST_TIMEOUT_MS } from "../timeouts.js";

const RETRIABLE = ["UNAVAILABLE", "SHARD_NOT_READY", "TIMEOUT"];
const SHARDS = 4;
const names = new Names();

/**
 * A streaming node "paused" (through `link` if given) beside the harness's own, a collection of 4 shards with
 * rows 0..199 of which some shards are the paused node's; then SIGSTOP, the move of its shards, rows 200..399
 * written and 0..19 deleted. Returns the rows of each shard that must be read now, and the shards that moved.
 */
async function pauseAndMove(env: TestEnv, url: string): Promise<{ paused: ServeProcess; expected: (shard: number) => number[]; moved: number[] }> {
  const paused = await startActorProcess(env, "streaming", "paused", url);
  try {
    const c = env.client;
    await c.create_collection({ collection_name: "p", dimension: 4, num_shards: SHARDS });
    const shards = async () => (await c.status()).shards.filter((s) => s.collection_name === "p");
    const moved = (await shards()).filter((s) => s.owner === "paused-streaming").map((s) => s.shard);
    assert.ok(moved.length > 0, "the paused node owns shards");
    const vecs = randomVectors(400, 4, 5);
    const rows = (from: number, to: number) => vecs.slice(from, to).map((v, i) => ({ id: from + i, vector: v }));
    await c.insert({ collection_name: "p", data: rows(0, 200) });

    paused.child.kill("SIGSTOP");
    await eventually("the stopped node's shards to move", async () => (await shards()).every((s) => s.owner === "test-streaming"));
    // Writes the stopped node never sees.
    await retried(() => c.insert({ collection_name: "p", data: rows(200, 400) }));
    await retried(() => c.delete({ collection_name: "p", ids: Array.from({ length: 20 }, (_, i) => i) }));
    const live = Array.from({ length: 380 }, (_, i) => i + 20);
    return { paused, moved, expected: (shard) => live.filter((id) => expectedShard(id, SHARDS) === shard) };
  } catch (e) {
    await paused.kill();
    throw e;
  }
}

const ids = (rows: Row[]) => rows.map((r) => r.id as number).sort((a, b) => a - b);

test("a resumed owner refuses the Strong reads it was sent for shards it lost, instead of answering from its old state", { timeout: TEST_TIMEOUT_MS }, async () => {
  const env = await startEnv({ tag: "paused" });
  let paused: ServeProcess | undefined;
  try {
    const moved = await pauseAndMove(env, env.nats.url);
    paused = moved.paused;
    const { collection_id } = await env.client.describe_collection({ collection_name: "p" });
    // What a proxy whose view of the assignment is behind sends: reads for the old epoch, with a guarantee taken
    // after every write above. They wait at the stopped process, behind the news of the move, and run when it resumes.
    const { ts } = await request<{ ts: bigint }>(env.admin, names.coordinatorSubject(), { kind: "allocate_ts", count: 1 });
    const reads = moved.moved.flatMap((s) =>
      Array.from({ length: 4 }, () =>
        request<Row[]>(env.admin, names.shardSubject(collection_id, s, 1), { kind: "get", ids: Array.from({ length: 400 }, (_, i) => i), output_fields: [], guarantee_ts: ts }, 30_000).then(
          (rows) => ({ shard: s, rows }),
        ),
      ),
    );
    await new Promise((r) => setTimeout(r, 500));
    paused.child.kill("SIGCONT");
    let refused = 0;
    for (const r of await Promise.allSettled(reads)) {
      if (r.status === "fulfilled") {
        assert.deepEqual(ids(r.value.rows), moved.expected(r.value.shard), `shard ${r.value.shard} answered a Strong read with every row written below its guarantee`);
        continue;
      }
      assert.ok(r.reason instanceof VecbusError && RETRIABLE.includes(r.reason.code), String(r.reason));
      refused++;
    }
    assert.ok(refused > 0, "the resumed owner refused what it could no longer answer");
    // Through the proxy, right after the resume: the new owner's rows.
    const rows = await retried(() => env.client.call("query", { collection_name: "p", filter: "id >= 0", limit: 1000, output_fields: ["id"], consistency_level: "Strong" }) as Promise<Row[]>);
    assert.deepEqual(ids(rows), Array.from({ length: 380 }, (_, i) => i + 20));
  } finally {
    await paused?.kill();
    await env.close();
  }
});

test("a resumed owner whose connection was dropped meanwhile learns of the move and serves shards given to it later", { timeout: TEST_TIMEOUT_MS }, async () => {
  const env = await startEnv({ tag: "paused-cut" });
  let paused: ServeProcess | undefined;
  let link: TcpProxy | undefined;
  try {
    link = await startTcpProxy(Number(new URL(env.nats.url).port));
    const moved = await pauseAndMove(env, link.url);
    paused = moved.paused;
    const { collection_id } = await env.client.describe_collection({ collection_name: "p" });
    // A server drops a client that stops reading for long (a slow consumer), and what it had queued for it: the
    // news of the move among them. The resumed process reconnects with its shard subscriptions at once.
    link.cut();
    paused.child.kill("SIGCONT");
    await eventually("the resumed node to close the shards it lost", async () => {
      const answers = await Promise.allSettled(moved.moved.map((s) => request(env.admin, names.shardSubject(collection_id, s, 1), { kind: "stats" }, 2_000)));
      return answers.every((a) => a.status === "rejected" && a.reason instanceof VecbusError && a.reason.code === "UNAVAILABLE");
    });
    // The least-loaded live node gets the next shards: the resumed one (once its session is back), which must open them.
    await eventually("the resumed node's session to be live", async () => (await env.client.status()).nodes.some((n) => n.node_id === "paused-streaming"));
    await env.client.create_collection({ collection_name: "q", dimension: 2, num_shards: 2 });
    const owners = (await env.client.status()).shards.filter((s) => s.collection_name === "q").map((s) => s.owner);
    assert.ok(owners.includes("paused-streaming"), `the resumed node was given a shard: ${owners}`);
    const data = Array.from({ length: 50 }, (_, i) => ({ id: i, vector: [i, 1] }));
    await env.client.insert({ collection_name: "q", data });
    assert.deepEqual(ids(await env.client.query({ collection_name: "q", filter: "id >= 0", limit: 100, output_fields: ["id"] })), data.map((r) => r.id));
  } finally {
    await paused?.kill();
    await link?.close();
    await env.close();
  }
});
