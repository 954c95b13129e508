// The `columns` form of insert and upsert through the public API: the same
// rows sent as columns (vectors as one float32 block) and as row maps must
// read back as what the test wrote, from the growing segment and after a
// restart replays the WAL; auto ids, partition keys and upserts take them;
// malformed columns are refused with nothing written.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { jetstreamManager } from "@nats-io/jetstream";
import type { Row } from "../../protocol/rows.js";
import type { FieldSchema } from "../../protocol/schema.js";
import type { VecbusClient } from "../../runtime/client.js";
import { rejectsWith } from "../assert.js";
import { startEnv, type TestEnv } from "../harness.js";
import { rng } from "../random.js";
import { TEST_TIMEOUT_MS } from "../timeouts.js";

const DIM = 4;
const N = 300;

interface Written {
  id: number;
  vector: number[];
  tag: string;
  n: number | null;
  color?: string;
}

function written(seed: number, from = 0): Written[] {
  const r = rng(seed);
  return Array.from({ length: N }, (_, i) => {
    const row: Written = { id: from + i, vector: Array.from({ length: DIM }, () => Math.fround(r() * 2 - 1)), tag: `t${i % 5}`, n: i % 4 === 0 ? null : i };
    if (i % 3 === 0) row.color = ["red", "blue"][i % 2];
    return row;
  });
}

/** The rows as columns: vectors as one Float32Array block, a dynamic key's column nil where a row has none. */
function asColumns(rows: Written[]): Record<string, unknown[] | Float32Array> {
  const block = new Float32Array(rows.length * DIM);
  rows.forEach((r, i) => block.set(r.vector, i * DIM));
  return { id: rows.map((r) => r.id), vector: block, tag: rows.map((r) => r.tag), n: rows.map((r) => r.n), color: rows.map((r) => r.color ?? null) };
}

const schema: { fields: FieldSchema[]; enable_dynamic_field: boolean } = {
  fields: [
    { name: "id", type: "Int64", is_primary: true },
    { name: "vector", type: "FloatVector", dim: DIM },
    { name: "tag", type: "VarChar", max_length: 8 },
    { name: "n", type: "Int32", nullable: true },
  ],
  enable_dynamic_field: true,
};

async function everyRow(c: VecbusClient, name: string): Promise<Row[]> {
  const rows = await c.query({ collection_name: name, filter: "id >= 0", output_fields: ["*"], limit: 16384, consistency_level: "Strong" });
  return rows.map((r): Row => ({ ...r, vector: Array.from(r.vector as number[]) })).sort((a, b) => (a.id as number) - (b.id as number));
}

/** What a query of "*" returns for a written row: every field, the dynamic key only where the row has it. */
const asRead = (rows: Written[]): Row[] => rows.map((r) => ({ id: r.id, vector: r.vector, tag: r.tag, n: r.n, ...(r.color === undefined ? {} : { color: r.color }) }));

describe("columns: insert and upsert as columns", () => {
  let env: TestEnv;
  before(async () => {
    env = await startEnv({ tag: "columns", seal: { sealIdleMs: 600_000 } });
  });
  after(async () => env?.close());

  test("columns - the same rows as columns and as row maps read back as written, on every shard and after a restart", { timeout: TEST_TIMEOUT_MS }, async () => {
    const c = env.client;
    const rows = written(1);
    for (const name of ["as_rows", "as_columns"]) await c.create_collection({ collection_name: name, schema, num_shards: 3, metric_type: "L2" });
    const viaRows = await c.insert({ collection_name: "as_rows", data: rows.map((r) => ({ ...r })) as unknown as Row[] });
    const viaColumns = await c.insert({ collection_name: "as_columns", columns: asColumns(rows) });
    assert.equal(viaColumns.insert_count, N);
    assert.deepEqual(viaColumns.ids, rows.map((r) => r.id));
    assert.deepEqual(viaRows.ids, viaColumns.ids);
    for (const name of ["as_rows", "as_columns"]) {
      assert.deepEqual(await everyRow(c, name), asRead(rows), name);
      const probe = [0, 7, 150, 299];
      const hits = await c.search({ collection_name: name, data: probe.map((id) => rows[id].vector), limit: 1, filter: 'tag != "none"', consistency_level: "Strong" });
      assert.deepEqual(hits.map((h) => [h[0].id, h[0].distance]), probe.map((id) => [id, 0]));
    }
    // Upsert as columns replaces rows, wherever they are.
    const replaced = written(2).slice(0, 50);
    await c.upsert({ collection_name: "as_columns", columns: asColumns(replaced) });
    const want = asRead([...replaced, ...rows.slice(50)]);
    assert.deepEqual(await everyRow(c, "as_columns"), want);
    // The WAL holds the batches as columns: a restart replays them into the same rows.
    await env.restart();
    assert.deepEqual(await everyRow(env.client, "as_columns"), want);
  });

  test("columns - concurrent inserts to one shard share WAL records, and every acked row is there once, also after a restart", { timeout: TEST_TIMEOUT_MS }, async () => {
    const c = env.client;
    await c.create_collection({ collection_name: "grouped", schema, num_shards: 1, metric_type: "L2" });
    const [shard] = (await c.status()).shards.filter((s) => s.collection_name === "grouped");
    const jsm = await jetstreamManager(env.admin);
    const records = async () => (await jsm.streams.info(shard.wal_stream)).state.messages;
    const before = await records();
    const INSERTS = 40;
    const rows = Array.from({ length: INSERTS }, (_, k) => written(10 + k, k * N).slice(0, 25));
    const replies = await Promise.all(rows.map((part, k) => (k % 2 ? c.insert({ collection_name: "grouped", columns: asColumns(part) }) : c.insert({ collection_name: "grouped", data: part as unknown as Row[] }))));
    replies.forEach((r, k) => assert.deepEqual(r.ids, rows[k].map((x) => x.id), `insert ${k}`));
    const appended = (await records()) - before;
    assert.ok(appended < INSERTS, `inserts that waited for an append went in one record: ${appended} records for ${INSERTS} inserts`);
    const want = asRead(rows.flat()).sort((a, b) => (a.id as number) - (b.id as number));
    assert.deepEqual(await everyRow(c, "grouped"), want);
    // Each insert is acked with its record's timestamp: a Session read after it sees the insert.
    for (const [k, r] of replies.entries()) {
      const got = await c.get({ collection_name: "grouped", ids: [rows[k][0].id], output_fields: ["tag"], consistency_level: "Session", guarantee_timestamp: r.timestamp });
      assert.equal(got.length, 1, `insert ${k} is visible at its timestamp`);
    }
    await env.restart();
    assert.deepEqual(await everyRow(env.client, "grouped"), want, "the grouped records replay into the same rows");
  });

  test("columns - auto ids and a partition key take columns", { timeout: TEST_TIMEOUT_MS }, async () => {
    const c = env.client;
    const rows = written(3);
    await c.create_collection({ collection_name: "auto", schema: { ...schema, fields: [{ ...schema.fields[0], auto_id: true }, ...schema.fields.slice(1)] }, metric_type: "L2" });
    const { id: _, ...noIds } = asColumns(rows);
    const { ids } = await c.insert({ collection_name: "auto", columns: noIds });
    assert.equal(new Set(ids).size, N, "one new id per row");
    const got = await c.get({ collection_name: "auto", ids, output_fields: ["tag", "n"], consistency_level: "Strong" });
    assert.deepEqual(got, rows.map((r, i) => ({ id: ids[i], tag: r.tag, n: r.n })));

    await c.create_collection({
      collection_name: "keyed",
      schema: { ...schema, fields: schema.fields.map((f) => (f.name === "tag" ? { ...f, is_partition_key: true } : f)) },
      num_partitions: 4,
      metric_type: "L2",
    });
    await c.insert({ collection_name: "keyed", columns: asColumns(rows) });
    const t2 = await c.query({ collection_name: "keyed", filter: 'tag == "t2"', output_fields: ["tag"], limit: 1000, consistency_level: "Strong" });
    assert.deepEqual(t2.map((r) => r.id).sort((a, b) => (a as number) - (b as number)), rows.filter((r) => r.tag === "t2").map((r) => r.id));
  });

  test("columns - malformed columns are refused, naming what is wrong, and nothing is written", { timeout: TEST_TIMEOUT_MS }, async () => {
    const c = env.client;
    await c.create_collection({ collection_name: "bad", schema, metric_type: "L2" });
    const good = asColumns(written(4).slice(0, 3));
    const call = (args: Record<string, unknown>) => c.insert({ collection_name: "bad", ...args } as never);
    await rejectsWith(call({ columns: good, data: [{ id: 1 }] }), "INVALID_ARGUMENT", /`data`.*or as `columns`.*not both/);
    await rejectsWith(call({ columns: { ...good, tag: ["a"] } }), "INVALID_ARGUMENT", /column "tag" has 1 rows but column "id" has 3/);
    await rejectsWith(call({ columns: { ...good, vector: new Float32Array(4 * 2) } }), "INVALID_ARGUMENT", /column "vector" has 2 rows/);
    await rejectsWith(call({ columns: { ...good, vector: new Uint8Array(10) } }), "INVALID_FIELD_VALUE", /not a whole number of 4-d float32 vectors/);
    await rejectsWith(call({ columns: { ...good, vector: new Float32Array([0, 0, 0, 0, 0, NaN, 0, 0, 0, 0, 0, 0]) } }), "INVALID_FIELD_VALUE", /row 1: field "vector": element 1 is not a finite number/);
    await rejectsWith(call({ columns: { ...good, n: [1, "x", 3] } }), "INVALID_FIELD_VALUE", /row 1: field "n" must be an integer/);
    await rejectsWith(call({ columns: { ...good, tag: [null, "a", "b"] } }), "MISSING_FIELD", /row 0: field "tag" \(VarChar\) is null/);
    await rejectsWith(call({ columns: [] }), "INVALID_ARGUMENT", /columns must be a map/);
    assert.deepEqual(await c.query({ collection_name: "bad", filter: "id >= 0", output_fields: ["count(*)"], consistency_level: "Strong" }), [{ "count(*)": 0 }]);
  });
});
