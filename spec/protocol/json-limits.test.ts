// JSON and dynamic field values are bounded (README "Limits"): nesting depth,
// size as JSON text, finite numbers only. A value at a bound is stored as
// given; one past it is INVALID_FIELD_VALUE naming the row, field and limit.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { checkSchema } from "../../protocol/collection.js";
import { VecbusError } from "../../protocol/errors.js";
import { LIMITS } from "../../protocol/limits.js";
import { checkRows } from "../../protocol/rows.js";
import { DYNAMIC_FIELD } from "../../protocol/schema.js";
import { encode } from "../../runtime/codec.js";

const schema = checkSchema({
  fields: [
    { name: "id", type: "Int64", is_primary: true },
    { name: "vec", type: "FloatVector", dim: 2 },
    { name: "doc", type: "JSON", nullable: true },
  ],
  enable_dynamic_field: true,
});

/** Lists (even levels) and maps (odd levels) nested `levels` deep around 1. */
function nested(levels: number): unknown {
  let v: unknown = 1;
  for (let i = 0; i < levels; i++) v = i % 2 === 0 ? [v] : { k: v };
  return v;
}

function refused(row: Record<string, unknown>, ...fragments: string[]): void {
  assert.throws(
    () => checkRows(schema, [row]),
    (e: unknown) => {
      assert.ok(e instanceof VecbusError, String(e));
      assert.equal(e.code, "INVALID_FIELD_VALUE", e.message);
      for (const f of fragments) assert.ok(e.message.includes(f), `${JSON.stringify(e.message)} lacks ${JSON.stringify(f)}`);
      return true;
    },
  );
}

const DEPTH = LIMITS.jsonDepth.default;
const BYTES = LIMITS.jsonBytes.default;

describe("JSON limits", () => {
  it("nesting: the limit's depth is stored as given, one level more is refused, also far deeper", () => {
    const ok = checkRows(schema, [{ id: 1, vec: [0, 0], doc: nested(DEPTH) }]);
    assert.deepEqual(ok[0].doc, nested(DEPTH));
    // The dynamic field map itself is one level: its values may nest one level less.
    assert.deepEqual((checkRows(schema, [{ id: 1, vec: [0, 0], extra: nested(DEPTH - 1) }])[0][DYNAMIC_FIELD] as Record<string, unknown>).extra, nested(DEPTH - 1));
    refused({ id: 1, vec: [0, 0], doc: nested(DEPTH + 1) }, 'field "doc"', "nested too deeply", "VECBUS_JSON_MAX_DEPTH");
    refused({ id: 1, vec: [0, 0], extra: nested(DEPTH) }, 'dynamic field "extra"', "nested too deeply");
    // The attack: 3000 levels (which the reply encoder could not encode) and 100,000 (which overflowed the validator).
    refused({ id: 1, vec: [0, 0], extra: nested(3000) }, "nested too deeply");
    refused({ id: 1, vec: [0, 0], doc: nested(100_000) }, "nested too deeply");
  });

  it("non-finite numbers are refused at any depth, in JSON and dynamic fields", () => {
    for (const bad of [NaN, Infinity, -Infinity]) {
      refused({ id: 1, vec: [0, 0], doc: { a: [1, bad] } }, 'field "doc"', String(bad));
      refused({ id: 1, vec: [0, 0], extra: bad }, 'dynamic field "extra"', String(bad));
    }
  });

  it("size: a value of exactly the limit as JSON text is stored; one byte more is refused", () => {
    // {"s":"xxx..."} is 8 bytes around the string.
    const exact = { s: "x".repeat(BYTES - 8) };
    assert.equal(Buffer.byteLength(JSON.stringify(exact)), BYTES);
    assert.deepEqual(checkRows(schema, [{ id: 1, vec: [0, 0], doc: exact }])[0].doc, exact);
    refused({ id: 1, vec: [0, 0], doc: { s: "x".repeat(BYTES - 7) } }, 'field "doc"', `${BYTES + 1} bytes`, "VECBUS_JSON_MAX_BYTES");
    // Multi-byte characters count as their UTF-8 bytes, and the dynamic fields count together.
    refused({ id: 1, vec: [0, 0], doc: { s: "é".repeat(BYTES / 2) } }, 'field "doc"');
    refused({ id: 1, vec: [0, 0], a: "x".repeat(BYTES / 2), b: "x".repeat(BYTES / 2) }, "dynamic fields", "VECBUS_JSON_MAX_BYTES");
  });

  it("a stored value at the depth limit encodes for a reply", () => {
    const row = checkRows(schema, [{ id: 1, vec: [0, 0], doc: nested(DEPTH), extra: nested(DEPTH - 1) }])[0];
    assert.ok(encode(row).byteLength > 0);
  });
});
