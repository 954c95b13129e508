// Bad input gets {ok: false} with a specific code and an actionable message;
// the actors keep serving and nothing already stored changes.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { decode, encode } from "../../runtime/codec.js";
import { startEnv, type TestEnv } from "../harness.js";
import { rejectsWith } from "../assert.js";
import { CLIENT_TIMEOUT_MS } from "../timeouts.js";

describe("errors", () => {
  let env: TestEnv;
  const C = "safe";
  const stored = async () => {
    const rows = await env.client.query({ collection_name: C, limit: 100, output_fields: ["*"] });
    return JSON.stringify(rows);
  };
  let before_: string;

  before(async () => {
    env = await startEnv({ tag: "errors" });
    await env.client.create_collection({
      collection_name: C,
      metric_type: "L2",
      schema: {
        enable_dynamic_field: false,
        fields: [
          { name: "id", type: "Int64", is_primary: true },
          { name: "age", type: "Int8" },
          { name: "name", type: "VarChar", max_length: 5 },
          { name: "v", type: "FloatVector", dim: 4 },
        ],
      },
    });
    await env.client.insert({ collection_name: C, data: [{ id: 1, age: 30, name: "ann", v: [1, 2, 3, 4] }] });
    before_ = await stored();
  });
  after(async () => {
    // Every bad request above left the stored rows exactly as they were.
    assert.equal(await stored(), before_);
    await env.close();
  });

  test("errors - wrong dimension names the row, field and dimension", async () => {
    await rejectsWith(env.client.insert({ collection_name: C, data: [{ id: 2, age: 1, name: "b", v: [1, 2, 3] }] }), "DIMENSION_MISMATCH", /row 0.*"v".*3 dimensions.*dimension is 4/);
    await rejectsWith(env.client.search({ collection_name: C, data: [[1, 2]] }), "DIMENSION_MISMATCH", /data\[0\]/);
    await rejectsWith(env.client.insert({ collection_name: C, data: [{ id: 2, age: 1, name: "b", v: new Float32Array(5) as unknown as number[] }] }), "DIMENSION_MISMATCH");
  });

  test("errors - a bad row anywhere in a batch rejects the whole batch", async () => {
    const data = [
      { id: 10, age: 1, name: "ok", v: [0, 0, 0, 1] },
      { id: 11, age: 1, name: "ok", v: [0, 0, 1, 0] },
      { id: 12, age: 1, name: "ok", v: [0, "x", 1, 0] },
    ];
    await rejectsWith(env.client.insert({ collection_name: C, data: data as never }), "INVALID_FIELD_VALUE", /row 2.*element 1/);
    assert.deepEqual(await env.client.get({ collection_name: C, ids: [10, 11, 12], output_fields: ["id"] }), [], "none of the batch's rows was stored");
  });

  test("errors - unknown collection", async () => {
    await rejectsWith(env.client.insert({ collection_name: "nope", data: [{ id: 1 }] }), "COLLECTION_NOT_FOUND", /"nope" does not exist/);
    await rejectsWith(env.client.search({ collection_name: "nope", data: [[1]] }), "COLLECTION_NOT_FOUND");
    await rejectsWith(env.client.drop_collection({ collection_name: "nope" }), "COLLECTION_NOT_FOUND");
    await rejectsWith(env.client.describe_collection({ collection_name: "nope" }), "COLLECTION_NOT_FOUND");
  });

  test("errors - missing primary key and missing fields", async () => {
    await rejectsWith(env.client.insert({ collection_name: C, data: [{ age: 1, name: "x", v: [1, 1, 1, 1] }] }), "MISSING_FIELD", /row 0: field "id"/);
    await rejectsWith(env.client.insert({ collection_name: C, data: [{ id: 3, name: "x", v: [1, 1, 1, 1] }] }), "MISSING_FIELD", /"age"/);
  });

  test("errors - out-of-range, wrong-typed, too-long and unknown fields", async () => {
    const row = { id: 3, age: 1, name: "x", v: [1, 1, 1, 1] };
    await rejectsWith(env.client.insert({ collection_name: C, data: [{ ...row, age: 300 }] }), "INVALID_FIELD_VALUE", /"age".*\[-128, 127\]/);
    await rejectsWith(env.client.insert({ collection_name: C, data: [{ ...row, name: 5 }] }), "INVALID_FIELD_VALUE", /"name" must be a string/);
    await rejectsWith(env.client.insert({ collection_name: C, data: [{ ...row, name: "toolong" }] }), "INVALID_FIELD_VALUE", /at most 5/);
    await rejectsWith(env.client.insert({ collection_name: C, data: [{ ...row, extra: 1 }] }), "FIELD_NOT_FOUND", /"extra".*dynamic fields are off/);
    await rejectsWith(env.client.query({ collection_name: C, filter: "id > 0", output_fields: ["nope"] }), "FIELD_NOT_FOUND");
  });

  test("errors - duplicate collection", async () => {
    await rejectsWith(env.client.create_collection({ collection_name: C, dimension: 4 }), "COLLECTION_ALREADY_EXISTS", /already exists/);
  });

  test("errors - invalid names, schemas and arguments", async () => {
    await rejectsWith(env.client.create_collection({ collection_name: "bad name", dimension: 4 }), "INVALID_ARGUMENT", /letters, digits/);
    await rejectsWith(env.client.create_collection({ collection_name: "x" }), "INVALID_ARGUMENT", /dimension/);
    await rejectsWith(env.client.create_collection({ collection_name: "x", dimension: 0 }), "SCHEMA_INVALID", /dim/);
    await rejectsWith(env.client.create_collection({ collection_name: "x", schema: { fields: [{ name: "a", type: "Int64" }] } }), "SCHEMA_INVALID", /is_primary/);
    await rejectsWith(env.client.create_collection({ collection_name: "x", schema: { fields: [{ name: "a", type: "Nope" as never, is_primary: true }] } }), "SCHEMA_INVALID", /unknown type/);
    await rejectsWith(env.client.search({ collection_name: C, data: [[1, 2, 3, 4]], limit: 0 }), "INVALID_ARGUMENT", /limit/);
    await rejectsWith(env.client.delete({ collection_name: C }), "INVALID_ARGUMENT", /ids.*filter/);
    await rejectsWith(env.client.query({ collection_name: C }), "INVALID_ARGUMENT", /filter/);
    assert.equal(await env.client.has_collection({ collection_name: "x" }), false);
  });

  test("errors - bad filter syntax names the position; type errors name the field", async () => {
    await rejectsWith(env.client.query({ collection_name: C, filter: "age >" }), "FILTER_SYNTAX", /position/);
    await rejectsWith(env.client.query({ collection_name: C, filter: "age == 1 and and" }), "FILTER_SYNTAX", /position/);
    await rejectsWith(env.client.search({ collection_name: C, data: [[1, 2, 3, 4]], filter: "(age > 1" }), "FILTER_SYNTAX");
    await rejectsWith(env.client.delete({ collection_name: C, filter: "age >> 1" }), "FILTER_SYNTAX");
    await rejectsWith(env.client.query({ collection_name: C, filter: "name > 5" }), "FILTER_TYPE", /name/);
    await rejectsWith(env.client.query({ collection_name: C, filter: "ghost == 1" }), "FIELD_NOT_FOUND", /ghost/);
  });

  test("errors - non-msgpack body and unknown method over raw NATS", async () => {
    const nc = env.client.nc;
    const garbage = await nc.request("vecbus.api.v1.insert", new TextEncoder().encode('{"collection_name":"safe"}'), { timeout: CLIENT_TIMEOUT_MS });
    const r1 = decode(garbage.data) as { ok: boolean; error: { code: string; message: string } };
    assert.equal(r1.ok, false);
    assert.equal(r1.error.code, "MALFORMED_REQUEST");
    assert.match(r1.error.message, /MessagePack map/);
    const r2 = decode((await nc.request("vecbus.api.v1.frobnicate", encode({}), { timeout: CLIENT_TIMEOUT_MS })).data) as { ok: boolean; error: { code: string } };
    assert.equal(r2.error.code, "UNKNOWN_METHOD");
    const r3 = decode((await nc.request("vecbus.api.v1.insert", new Uint8Array([0xc1]), { timeout: CLIENT_TIMEOUT_MS })).data) as { ok: boolean; error: { code: string } };
    assert.equal(r3.error.code, "MALFORMED_REQUEST");
  });

  test("errors - a request over max_payload is refused before it is sent", async () => {
    const max = env.client.nc.info!.max_payload;
    const rows = Array.from({ length: Math.ceil(max / (4 * 4)) + 10 }, (_, i) => ({ id: 1000 + i, age: 1, name: "x", v: new Float32Array(4) as unknown as number[] }));
    await rejectsWith(env.client.insert({ collection_name: C, data: rows }), "PAYLOAD_TOO_LARGE", /fewer rows/);
  });

  test("errors - a reply over max_payload becomes PAYLOAD_TOO_LARGE", async () => {
    const c = env.client;
    await c.create_collection({ collection_name: "wide", dimension: 4096, metric_type: "L2" });
    const v = new Float32Array(4096).fill(0.5);
    for (let b = 0; b < 3; b++) {
      await c.insert({ collection_name: "wide", data: Array.from({ length: 100 }, (_, i) => ({ id: b * 100 + i, vector: v as unknown as number[] })) });
    }
    await rejectsWith(c.query({ collection_name: "wide", limit: 300, output_fields: ["vector"] }), "PAYLOAD_TOO_LARGE", /limit|output_fields/);
    // Still serving: the same query without vectors works.
    assert.deepEqual(
      (await c.query({ collection_name: "wide", limit: 300, output_fields: ["id"] })).map((r) => r.id),
      Array.from({ length: 300 }, (_, i) => i),
    );
  });
});
