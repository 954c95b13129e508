// Every actor parses what it receives with a checked decoder, and a shard
// checks rows against its schema itself: the forged messages are
// refused with a named reason before any handler or store sees them.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { checkSchema } from "../../protocol/collection.js";
import { DATA_FORMAT, stamped, unstamped } from "../../protocol/data-format.js";
import { VecbusError, type ErrorCode } from "../../protocol/errors.js";
import { coordinatorMsg, queryNodeMsg, shardMsg, task, walRecord } from "../../protocol/message-checks.js";
import { PARTITION_FIELD } from "../../protocol/partitions.js";
import { checkRows, checkStoredRows } from "../../protocol/rows.js";
import { DYNAMIC_FIELD } from "../../protocol/schema.js";
import { decode, encode } from "../../runtime/codec.js";

function refused(code: ErrorCode, run: () => unknown, ...fragments: string[]): void {
  assert.throws(run, (e: unknown) => {
    assert.ok(e instanceof VecbusError, String(e));
    assert.equal(e.code, code, e.message);
    for (const f of fragments) assert.ok(e.message.includes(f), `${JSON.stringify(e.message)} lacks ${JSON.stringify(f)}`);
    return true;
  });
}

/** As the wire gives it to the actor. */
const wire = (v: unknown) => decode(encode(v));

const schema = checkSchema({
  fields: [
    { name: "id", type: "Int64", is_primary: true },
    { name: "vec", type: "FloatVector", dim: 2 },
    { name: "name", type: "VarChar", max_length: 8 },
    { name: "doc", type: "JSON", nullable: true },
  ],
  enable_dynamic_field: true,
});

describe("message checks", () => {
  it("valid messages of each actor pass as sent", () => {
    const batch = { count: 2, fields: { id: [1, 2], vec: new Float32Array([1, 2, 3, 4]), name: ["a", "b"], doc: [null, { a: 1 }] }, partition: "_default" };
    // Columns stay as the wire gives them, a vector block viewed as float32, until the owner checks them against its schema.
    const insert = shardMsg(wire({ kind: "insert", batch }), "message") as unknown as { batch: typeof batch };
    assert.deepEqual({ ...insert.batch, fields: { ...insert.batch.fields, vec: [...insert.batch.fields.vec] } }, { ...batch, fields: { ...batch.fields, vec: [1, 2, 3, 4] } });
    assert.ok(insert.batch.fields.vec instanceof Float32Array);
    const record = { kind: "insert_columns", ts: 7n, epoch: 1, batches: [batch, { ...batch, partition: ["p", "q"] }] };
    assert.deepEqual((walRecord(wire(record), "record") as typeof record).batches.map((b) => b.partition), ["_default", ["p", "q"]]);
    // A WAL record of data format 1 (rows) still passes: the owner replays it.
    const rows = { kind: "insert", ts: 7n, epoch: 1, rows: [{ id: 1, vec: new Float32Array([1, 2]), name: "a", doc: null }] };
    assert.deepEqual(walRecord(wire(rows), "record"), { ...(wire(rows) as object), ts: 7n });
    const get = { kind: "get", ids: [1, "x"], output_fields: ["id"], partition_names: ["p"], guarantee_ts: 1n << 60n };
    assert.deepEqual(shardMsg(wire(get), "message"), get);
    const search = { kind: "search", collection_id: 3, segments: [{ shard: 0, segment_id: 9, dead: [1] }], vectors: [new Float32Array([0, 1])], anns_field: "vec", limit: 5, output_fields: [], filter: "id > 1" };
    assert.deepEqual(queryNodeMsg(wire(search), "message"), search);
    const fence = { kind: "fence", ts: 5n, epoch: 2 };
    assert.deepEqual(walRecord(wire(fence), "record"), fence);
    const compact = { kind: "compact", collection_id: 1, shard: 0, sources: [1, 2], target: 2 ** 40 };
    assert.deepEqual(task(wire(compact), "task"), compact);
  });

  it("a wrong or missing field, an unknown kind, a non-map: MALFORMED_REQUEST naming where", () => {
    refused("MALFORMED_REQUEST", () => shardMsg(wire({ kind: "frobnicate" }), "message"), "message.kind", "insert");
    refused("MALFORMED_REQUEST", () => shardMsg(wire({ kind: "insert" }), "message"), "message.batch", "a map");
    refused("MALFORMED_REQUEST", () => shardMsg(wire({ kind: "insert", batch: { count: 1, fields: { id: 5 }, partition: "p" } }), "message"), "message.batch.fields.id");
    refused("MALFORMED_REQUEST", () => shardMsg(wire({ kind: "insert", batch: { count: 1, fields: {}, partition: [5] } }), "message"), "message.batch.partition[0]");
    refused("MALFORMED_REQUEST", () => walRecord(wire({ kind: "insert", ts: 1n, epoch: 1, rows: [5] }), "record"), "record.rows[0]", "a map");
    refused("MALFORMED_REQUEST", () => shardMsg(wire({ kind: "get", ids: [{}], output_fields: [] }), "message"), "message.ids[0]");
    refused("MALFORMED_REQUEST", () => shardMsg(wire({ kind: "query", output_fields: [], limit: -1 }), "message"), "message.limit");
    refused("MALFORMED_REQUEST", () => shardMsg(wire({ kind: "search", vectors: ["x"], anns_field: "vec", limit: 1, output_fields: [] }), "message"), "message.vectors[0]");
    refused("MALFORMED_REQUEST", () => shardMsg(wire([1, 2]), "message"), "message", "a map");
    // The forged fence of the issue, as a WAL record with a bad epoch, and as a shard message (no such kind).
    refused("MALFORMED_REQUEST", () => walRecord(wire({ kind: "fence", ts: 1, epoch: "999999" }), "record"), "record.epoch");
    refused("MALFORMED_REQUEST", () => shardMsg(wire({ kind: "fence", epoch: 999999 }), "message"), "message.kind");
    refused("MALFORMED_REQUEST", () => task(wire({ kind: "build_index", collection_id: 1 }), "task"), "task.shard");
  });

  it("persisted values carry their data format: stamped on write, a newer one refused on read, none read as format 1", () => {
    const rec = { kind: "fence", ts: 5n, epoch: 2 };
    assert.deepEqual(stamped(rec), { ...rec, format: DATA_FORMAT });
    assert.deepEqual(unstamped(wire(rec), "record"), wire(rec));
    assert.deepEqual(unstamped(wire(stamped(rec)), "record"), wire(rec), "the stamp is not handed on");
    assert.deepEqual(unstamped(5, "record"), 5);
    refused("MALFORMED_REQUEST", () => unstamped(wire({ ...rec, format: DATA_FORMAT + 1 }), "record 7"), "record 7", `data format ${DATA_FORMAT + 1}`);
    refused("MALFORMED_REQUEST", () => unstamped(wire({ ...rec, format: "one" }), "record 7"), "data format one");
  });

  it("fields a message type does not have are dropped, not handed on", () => {
    assert.deepEqual(shardMsg(wire({ kind: "stats", evil: true }), "message"), { kind: "stats" });
  });

  it("the issue's create_collection with no fields is SCHEMA_INVALID at the coordinator", () => {
    const msg = { kind: "create_collection", name: "x", schema: { fields: [] }, num_shards: 1, metric_type: "L2", consistency_level: "Bounded", partitions: ["_default"] };
    refused("SCHEMA_INVALID", () => coordinatorMsg(wire(msg), "message"), "fields");
  });

  it("a shard stores only rows that fit its schema: the issue's string key and over-long VarChar are refused", () => {
    const good = checkRows(schema, [{ id: 1, vec: [1, 2], name: "ok", extra: { a: 1 } }]);
    const stored = checkStoredRows(schema, wire(good) as never, "row");
    assert.deepEqual(stored, good);
    const forged = (over: Record<string, unknown>) => wire([{ id: 1, vec: new Float32Array([1, 2]), name: "a", doc: null, ...over }]) as never;
    refused("INVALID_FIELD_VALUE", () => checkStoredRows(schema, forged({ id: "evil" }), "row"), 'row 0: field "id"', "integer");
    refused("INVALID_FIELD_VALUE", () => checkStoredRows(schema, forged({ name: "x".repeat(1000) }), "row"), 'field "name"', "at most 8");
    refused("DIMENSION_MISMATCH", () => checkStoredRows(schema, forged({ vec: new Float32Array([1, 2, 3]) }), "row"), 'field "vec"');
    refused("MISSING_FIELD", () => checkStoredRows(schema, forged({ name: null }), "row"), 'field "name"');
    refused("FIELD_NOT_FOUND", () => checkStoredRows(schema, forged({ ghost: 1 }), "row"), '"ghost"');
    refused("INVALID_FIELD_VALUE", () => checkStoredRows(schema, forged({ [PARTITION_FIELD]: 7 }), "row"), "partition");
    let deep: unknown = 1;
    for (let i = 0; i < 3000; i++) deep = { k: deep };
    refused("INVALID_FIELD_VALUE", () => checkStoredRows(schema, [{ id: 1, vec: new Float32Array([1, 2]), name: "a", doc: null, [DYNAMIC_FIELD]: { x: deep } }], "row"), "nested too deeply");
  });
});
