// Replicas (load_collection's replica_number) with query nodes as separate
// processes: every sealed segment gets a copy on that many distinct nodes,
// reads spread over the copies, a SIGKILLed node costs no read (another copy
// answers), and its copies are placed again on the node that is left free.
// What the reads must return is what the test wrote; where copies live is
// read from the placement the coordinator and the nodes write, and which
// nodes answered from the requests seen on the wire.
import assert from "node:assert/strict";
import { test } from "node:test";
import { openContext } from "../../actors/context.js";
import type { Placement } from "../../protocol/messages.js";
import { MetaKey, Names } from "../../protocol/subjects.js";
import type { Row } from "../../protocol/rows.js";
import { rejectsWith } from "../assert.js";
import type { ServeProcess } from "../cli/serve-process.js";
import { startActorProcess, startEnv } from "../harness.js";
import { randomVectors } from "../random.js";
import { eventually, TEST_TIMEOUT_MS } from "../timeouts.js";

const DIM = 8;
const ROWS = 1000;

test("replicas - two copies of every segment on distinct query nodes; reads spread, survive a SIGKILLed node without an error, and its copies are rebuilt", { timeout: TEST_TIMEOUT_MS }, async () => {
  const env = await startEnv({ tag: "replicas", roles: ["streaming", "coordinator", "data", "proxy"], seal: { segmentRowsMax: 250, sealIdleMs: 600_000 } });
  const nodes: ServeProcess[] = [];
  try {
    for (const id of ["qa", "qb", "qc"]) nodes.push(await startActorProcess(env, "query", id));
    const c = env.client;
    const name = "rep";
    const desc = await c.create_collection({ collection_name: name, dimension: DIM, metric_type: "L2", num_shards: 2 });
    const rows: Row[] = randomVectors(ROWS, DIM, 5).map((vector, id) => ({ id, vector }));
    for (let i = 0; i < ROWS; i += 250) await c.insert({ collection_name: name, data: rows.slice(i, i + 250) });
    await c.flush({ collection_name: name });
    const ctx = await openContext(env.admin, new Names().prefix, "test-reader");
    const placement = async () => (await ctx.meta.get<Placement>(MetaKey.placement(desc.collection_id)))?.value;
    const entries = async () => Object.values((await placement())?.segments ?? {});
    await eventually("every segment loaded on a query node", async () => (await entries()).length >= 4 && (await c.get_load_state({ collection_name: name })).state === "Loaded");

    // As Milvus: more replicas than query nodes, or another count while loaded, is refused with what to do.
    await rejectsWith(c.load_collection({ collection_name: name, replica_number: 4 }), "INVALID_ARGUMENT", /needs 4 live query nodes, 3 running/);
    await rejectsWith(c.load_collection({ collection_name: name, replica_number: 2 }), "INVALID_ARGUMENT", /release it before/);
    await rejectsWith(c.load_collection({ collection_name: name, replica_number: 17 }), "INVALID_ARGUMENT", /replica_number must be an integer from 1 to 16/);
    await c.release_collection({ collection_name: name });
    assert.deepEqual(await c.describe_replica({ collection_name: name }), []);
    assert.equal((await c.load_collection({ collection_name: name, replica_number: 2 })).state, "Loaded");

    const twoCopies = async (avoid?: string) => {
      const es = await entries();
      return (
        es.length >= 4 &&
        es.every((e) => e.copies.length === 2 && new Set(e.copies.map((x) => x.node)).size === 2 && e.copies.every((x) => x.state === "loaded" && x.node !== avoid))
      );
    };
    assert.ok(await twoCopies(), `after load_collection every segment has two loaded copies: ${JSON.stringify(await entries())}`);
    const replicas = await c.describe_replica({ collection_name: name });
    assert.deepEqual(
      replicas.map((r) => [r.replica_id, r.segments, r.loaded_segments, r.rows]),
      [
        [0, (await entries()).length, (await entries()).length, ROWS],
        [1, (await entries()).length, (await entries()).length, ROWS],
      ],
    );
    assert.deepEqual(replicas[0].shard_leaders.map((l) => l.shard), [0, 1]);
    // Each process reports its load: the query nodes what they loaded (as many copies as the placement gives them), the streaming node its shards.
    // A node drops a copy moved away when it sees the placement change, so its report catches up with the placement, not at the same instant.
    let mismatch: string[] = [];
    const reportsMatchPlacement = async () => {
      const [status, es] = [await c.status(), await entries()];
      mismatch = ["qa-query", "qb-query", "qc-query"].flatMap((node) => {
        const reported = status.nodes.find((n) => n.node_id === node)?.load;
        const placedHere = es.filter((e) => e.copies.some((x) => x.node === node));
        const [got, want] = [[reported?.segments, reported?.rows], [placedHere.length, placedHere.reduce((n, e) => n + e.rows, 0)]];
        return got[0] === want[0] && got[1] === want[1] ? [] : [`${node} reports ${JSON.stringify(got)}, placed ${JSON.stringify(want)}`];
      });
      return mismatch.length === 0;
    };
    await eventually("every query node to report the copies placed on it", reportsMatchPlacement).catch((e: Error) => assert.fail(`${e.message}: ${mismatch.join("; ")}`));
    const status = await c.status();
    assert.equal(status.nodes.find((n) => n.role === "streaming")?.load?.shards, 2);
    assert.equal(status.nodes.find((n) => n.role === "coordinator")?.load?.leader, true);
    const segmentsStatus = status.segments.filter((s) => s.collection_name === name && s.segment_id !== null);
    assert.ok(segmentsStatus.every((s) => /^query \S+, query \S+$/.test(s.served_by)), JSON.stringify(segmentsStatus.map((s) => s.served_by)));

    // Reads spread: every node with copies gets requests (seen on the wire).
    const asked = new Map<string, number>();
    const names = new Names();
    const sub = env.admin.subscribe(`${names.prefix}.int.query.>`, {
      callback: (_e, m) => {
        const node = m.subject.slice(`${names.prefix}.int.query.`.length);
        asked.set(node, (asked.get(node) ?? 0) + 1);
      },
    });
    const everyId = rows.map((r) => r.id as number);
    const readAll = async () => {
      const got = await c.query({ collection_name: name, filter: "id >= 0", output_fields: ["id"], limit: ROWS + 10, consistency_level: "Strong" });
      assert.deepEqual(
        got.map((r) => r.id as number).sort((a, b) => a - b),
        everyId,
      );
      const hits = await c.search({ collection_name: name, data: [rows[7].vector as number[]], limit: 1, consistency_level: "Strong" });
      assert.equal(hits[0][0].id, 7);
    };
    for (let i = 0; i < 20; i++) await readAll();
    await env.admin.flush();
    const holding = new Set((await entries()).flatMap((e) => e.copies.map((x) => x.node)));
    assert.deepEqual([...asked.keys()].sort(), [...holding].sort(), `every node with copies answers some reads: ${JSON.stringify([...asked])}`);

    // SIGKILL the node with the most copies; reads run throughout and must all succeed.
    const holds = (node: string) => async () => (await entries()).filter((e) => e.copies.some((x) => x.node === node)).length;
    const counts = await Promise.all(["qa", "qb", "qc"].map((id) => holds(`${id}-query`)()));
    const victim = counts.indexOf(Math.max(...counts));
    const victimId = `${["qa", "qb", "qc"][victim]}-query`;
    let reading = true;
    let reads = 0;
    let slowest = 0;
    const reader = (async () => {
      while (reading) {
        const started = Date.now();
        await readAll();
        slowest = Math.max(slowest, Date.now() - started);
        reads++;
      }
    })();
    await nodes[victim].kill();
    await eventually("the dead node's copies placed again and loaded on the nodes left", () => twoCopies(victimId));
    const readsBefore = reads;
    await eventually("reads to go on after the copies are rebuilt", () => reads >= readsBefore + 10);
    reading = false;
    await reader;
    // A read in flight to the node when it died waits until the coordinator finds it gone (pings, ~2-4 s), then goes to the other copy.
    assert.ok(slowest < 8_000, `the slowest read took ${slowest} ms`);
    assert.equal((await c.get_load_state({ collection_name: name })).state, "Loaded");
    const after = await c.describe_replica({ collection_name: name });
    assert.ok(after.every((r) => !r.node_ids.includes(victimId) && r.loaded_segments === r.segments), JSON.stringify(after));
    sub.unsubscribe();
  } finally {
    for (const n of nodes) await n.kill();
    await env.close();
  }
});

test("balance - a query node that joins takes segments over, by rows, while every read returns each row exactly once", { timeout: TEST_TIMEOUT_MS }, async () => {
  const env = await startEnv({ tag: "balance", roles: ["streaming", "coordinator", "data", "proxy"], seal: { segmentRowsMax: 200, sealIdleMs: 600_000 } });
  const nodes: ServeProcess[] = [];
  try {
    nodes.push(await startActorProcess(env, "query", "qa"));
    const c = env.client;
    const name = "bal";
    const desc = await c.create_collection({ collection_name: name, dimension: DIM, metric_type: "L2", num_shards: 2 });
    const rows: Row[] = randomVectors(1200, DIM, 9).map((vector, id) => ({ id, vector }));
    for (let i = 0; i < rows.length; i += 200) await c.insert({ collection_name: name, data: rows.slice(i, i + 200) });
    await c.flush({ collection_name: name });
    const ctx = await openContext(env.admin, new Names().prefix, "test-reader");
    const entries = async () => Object.values((await ctx.meta.get<Placement>(MetaKey.placement(desc.collection_id)))?.value.segments ?? {});
    await eventually("every segment loaded on the one query node", async () => (await entries()).length === 6 && (await c.get_load_state({ collection_name: name })).state === "Loaded");
    assert.ok((await entries()).every((e) => e.copies.length === 1 && e.copies[0].node === "qa-query"));

    const everyId = rows.map((r) => r.id as number);
    let reading = true;
    let reads = 0;
    const reader = (async () => {
      while (reading) {
        const got = await c.query({ collection_name: name, filter: "id >= 0", output_fields: ["id"], limit: 2000, consistency_level: "Strong" });
        assert.deepEqual(
          got.map((r) => r.id as number).sort((a, b) => a - b),
          everyId,
          "a read during the moves",
        );
        reads++;
      }
    })();
    nodes.push(await startActorProcess(env, "query", "qb"));
    const settled = async () => {
      const es = await entries();
      const on = (node: string) => es.filter((e) => e.copies.length === 1 && e.copies[0].node === node && e.copies[0].state === "loaded" && !e.copies[0].replaces).length;
      return on("qa-query") === 3 && on("qb-query") === 3;
    };
    await eventually("the segments split three and three (each has 200 rows)", settled);
    const readsBefore = reads;
    await eventually("reads after the moves", () => reads >= readsBefore + 5);
    reading = false;
    await reader;
    const served = (await c.status()).segments.filter((s) => s.collection_name === name && s.segment_id !== null).map((s) => s.served_by);
    assert.deepEqual(served.filter((s) => s === "query qb-query").length, 3, JSON.stringify(served));
  } finally {
    for (const n of nodes) await n.kill();
    await env.close();
  }
});
