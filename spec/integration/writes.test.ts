// Writes with an existing primary key (README: the row is replaced, last
// write wins, for insert as for upsert; a primary key is unique in a
// collection), wherever the old row lives: the growing segment, a sealed
// segment on its shard owner, or one handed to the query node; and upsert
// on an auto_id collection, which needs the primary key.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { Row } from "../../protocol/rows.js";
import type { VecbusClient } from "../../runtime/client.js";
import { rejectsWith } from "../assert.js";
import { startEnv, type TestEnv } from "../harness.js";
import { randomVectors } from "../random.js";
import { eventually, TEST_TIMEOUT_MS } from "../timeouts.js";

const DIM = 4;
const SHARDS = 3;

/** The rows the test expects, by id: what it wrote last for each key. */
class Expected {
  readonly rows = new Map<number, Row>();
  write(rs: Row[]): Row[] {
    for (const r of rs) this.rows.set(r.id as number, r);
    return rs;
  }
  sorted(): { id: number; n: unknown; tag: unknown }[] {
    return [...this.rows.values()].map((r) => ({ id: r.id as number, n: r.n, tag: r.tag })).sort((a, b) => a.id - b.id);
  }
}

function batch(ids: number[], tag: string, seed: number): Row[] {
  const vs = randomVectors(ids.length, DIM, seed);
  return ids.map((id, i) => ({ id, vector: vs[i], n: seed * 1000 + id, tag }));
}

const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);

async function everyRow(c: VecbusClient, name: string) {
  return c.query({ collection_name: name, filter: "id >= 0", output_fields: ["n", "tag"], consistency_level: "Strong" });
}

/** Each key once with its last values, by query, count, get and search (the new vector is its own nearest row, once). */
async function checkLastWriteWins(c: VecbusClient, name: string, want: Expected, probe: number[]): Promise<void> {
  assert.deepEqual(await everyRow(c, name), want.sorted());
  assert.deepEqual(await c.query({ collection_name: name, filter: "id >= 0", output_fields: ["count(*)"], consistency_level: "Strong" }), [
    { "count(*)": want.rows.size },
  ]);
  assert.deepEqual(await c.get_collection_stats({ collection_name: name }), { row_count: want.rows.size });
  const got = await c.get({ collection_name: name, ids: probe, output_fields: ["n", "tag"], consistency_level: "Strong" });
  assert.deepEqual(
    got,
    probe.map((id) => ({ id, n: want.rows.get(id)!.n, tag: want.rows.get(id)!.tag })),
  );
  const vectors = probe.map((id) => want.rows.get(id)!.vector as number[]);
  const hits = await c.search({ collection_name: name, data: vectors, limit: 3, output_fields: ["n"], consistency_level: "Strong" });
  hits.forEach((h, i) => {
    assert.equal(h[0].id, probe[i], `the new vector of ${probe[i]} finds its row first`);
    assert.equal(h[0].distance, 0);
    assert.equal(h[0].entity.n, want.rows.get(probe[i])!.n);
    assert.equal(new Set(h.map((x) => x.id)).size, h.length, `no key twice in ${JSON.stringify(h)}`);
  });
}

describe("writes with an existing primary key", () => {
  let env: TestEnv;
  before(async () => {
    env = await startEnv({ tag: "writes", seal: { sealIdleMs: 600_000 } });
  });
  after(async () => env?.close());

  test("writes - insert of an existing key replaces the row: growing, sealed, on the query node, on every shard", { timeout: TEST_TIMEOUT_MS }, async () => {
    const c = env.client;
    const name = "lww";
    await c.create_collection({ collection_name: name, dimension: DIM, metric_type: "L2", num_shards: SHARDS });
    const want = new Expected();
    await c.insert({ collection_name: name, data: want.write(batch(range(0, 60), "first", 1)) });

    // Over rows still in the growing segments.
    await c.insert({ collection_name: name, data: want.write(batch(range(0, 10), "growing", 2)) });
    await checkLastWriteWins(c, name, want, [0, 5, 9, 20]);

    // Over rows of sealed segments (on their shard owners until the query node takes them).
    await c.flush({ collection_name: name });
    await c.insert({ collection_name: name, data: want.write(batch(range(10, 25), "sealed", 3)) });
    await c.upsert({ collection_name: name, data: want.write(batch([30, 31], "upserted", 4)) });
    await checkLastWriteWins(c, name, want, [0, 10, 24, 30, 40]);

    // Over rows the query node serves: replaced there too, and again after that segment is itself flushed.
    await c.flush({ collection_name: name });
    await eventually("every sealed segment served by the query node", async () => {
      const sealed = (await c.status()).segments.filter((g) => g.collection_name === name && g.segment_id !== null);
      return sealed.length >= SHARDS && sealed.every((g) => /^query \S+$/.test(g.served_by));
    });
    await c.insert({ collection_name: name, data: want.write(batch([0, 10, 30, 41, 59], "over query node", 5)) });
    await checkLastWriteWins(c, name, want, [0, 10, 30, 41, 59, 50]);
    await c.flush({ collection_name: name });
    await checkLastWriteWins(c, name, want, [0, 10, 30, 41, 59, 50]);

    const shards = (await c.status()).shards.filter((s) => s.collection_name === name);
    assert.equal(shards.length, SHARDS);
    assert.ok(
      shards.every((s) => (s.row_count ?? 0) > 0),
      `keys are spread over every shard: ${JSON.stringify(shards.map((s) => s.row_count))}`,
    );
    assert.equal(
      shards.reduce((n, s) => n + (s.row_count ?? 0), 0),
      60,
    );
  });

  test("writes - a delete removes the row a key holds, and a later insert of the key brings it back once", { timeout: TEST_TIMEOUT_MS }, async () => {
    const c = env.client;
    const name = "lww";
    const before = await everyRow(c, name);
    assert.equal((await c.delete({ collection_name: name, ids: [0, 1] })).delete_count, 2);
    const back = batch([0], "back", 6);
    await c.insert({ collection_name: name, data: back });
    const want = before.filter((r) => r.id !== 0 && r.id !== 1);
    want.unshift({ id: 0, n: back[0].n, tag: "back" });
    assert.deepEqual(await everyRow(c, name), want);
  });

  test("writes - upsert on an auto_id collection needs the key, replaces that row, and insert refuses a key", { timeout: TEST_TIMEOUT_MS }, async () => {
    const c = env.client;
    const name = "auto_up";
    await c.create_collection({ collection_name: name, dimension: DIM, metric_type: "L2", auto_id: true, num_shards: 2 });
    const vs = randomVectors(4, DIM, 8);
    const { ids } = await c.insert({ collection_name: name, data: vs.map((vector, i) => ({ vector, n: i })) });
    assert.equal(ids.length, 4);

    await rejectsWith(c.upsert({ collection_name: name, data: [{ vector: vs[0], n: 9 }] }), "MISSING_FIELD", /row 0: field "id"/);
    await rejectsWith(c.insert({ collection_name: name, data: [{ id: 12345, vector: vs[0], n: 9 }] }), "INVALID_ARGUMENT", /auto_id/);

    const up = await c.upsert({ collection_name: name, data: [{ id: ids[1], vector: vs[3], n: 100 }] });
    assert.deepEqual([up.upsert_count, up.ids], [1, [ids[1]]]);
    const rows = await c.query({ collection_name: name, filter: "n >= 0", output_fields: ["n"], consistency_level: "Strong" });
    assert.deepEqual(
      rows,
      [
        { id: ids[0], n: 0 },
        { id: ids[1], n: 100 },
        { id: ids[2], n: 2 },
        { id: ids[3], n: 3 },
      ].sort((a, b) => (a.id as number) - (b.id as number)),
    );
  });
});
