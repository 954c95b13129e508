import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { checkSchema, describeFields } from "../../protocol/collection.js";
import { VecbusError, type ErrorCode } from "../../protocol/errors.js";
import { checkRows, type Row } from "../../protocol/rows.js";
import { typeName, vectorFields, type CollectionSchema } from "../../protocol/schema.js";
import { pk, vec } from "./schema-cases.js";


/** A schema of the primary key, one vector field and the given fields. */
const schemaWith = (...fields: Record<string, unknown>[]): CollectionSchema => checkSchema({ fields: [pk, vec, ...fields] });

function fails(code: ErrorCode, run: () => unknown, ...fragments: string[]): void {
  assert.throws(run, (err: unknown) => {
    assert.ok(err instanceof VecbusError, String(err));
    assert.equal(err.code, code, err.message);
    for (const frag of fragments) assert.ok(err.message.includes(frag), `${JSON.stringify(err.message)} lacks ${JSON.stringify(frag)}`);
    return true;
  });
}

const schemaFails = (field: Record<string, unknown>, ...fragments: string[]): void => fails("SCHEMA_INVALID", () => schemaWith(field), ...fragments);

describe("schema: Array fields", () => {
  it("accepts an Array with element_type and max_capacity, in either spelling", () => {
    const s = schemaWith(
      { name: "tags", type: "Array", element_type: "Int64", max_capacity: 4 },
      { name: "words", type: "ARRAY", element_type: "VARCHAR", max_capacity: 4096, max_length: 8 },
      { name: "flags", type: "array", element_type: "bool", max_capacity: 1, dim: 3 },
    );
    assert.deepEqual(s.fields.slice(2), [
      { name: "tags", type: "Array", element_type: "Int64", max_capacity: 4 },
      { name: "words", type: "Array", element_type: "VarChar", max_capacity: 4096, max_length: 8 },
      { name: "flags", type: "Array", element_type: "Bool", max_capacity: 1 },
    ]);
    assert.equal(typeName(s.fields[3]), "Array<VarChar>");
  });

  it("accepts every scalar element type", () => {
    for (const t of ["Bool", "Int8", "Int16", "Int32", "Int64", "Float", "Double"]) {
      assert.equal(schemaWith({ name: "a", type: "Array", element_type: t, max_capacity: 2 }).fields[2].element_type, t);
    }
  });

  it("needs an element_type that is a scalar type", () => {
    schemaFails({ name: "tags", type: "Array", max_capacity: 4 }, 'Array field "tags" needs an element_type', "Bool, Int8");
    for (const t of ["JSON", "Array", "FloatVector", "FLOAT_VECTOR", "Text", 5]) {
      schemaFails({ name: "tags", type: "Array", element_type: t, max_capacity: 4 }, 'Array field "tags" needs an element_type', JSON.stringify(t));
    }
  });

  it("needs an integer max_capacity between 1 and 4096", () => {
    for (const cap of [undefined, 0, 4097, 1.5, "4"]) {
      schemaFails({ name: "tags", type: "Array", element_type: "Int64", max_capacity: cap }, 'Array field "tags" needs an integer max_capacity between 1 and 4096');
    }
  });

  it("needs max_length for VarChar elements", () => {
    schemaFails({ name: "words", type: "Array", element_type: "VarChar", max_capacity: 4 }, 'Array<VarChar> field "words" needs max_length');
    schemaFails({ name: "words", type: "Array", element_type: "VarChar", max_capacity: 4, max_length: 65536 }, "between 1 and 65535", "65536");
  });
});

describe("schema: nullable", () => {
  it("is kept on scalar, JSON and Array fields, and dropped when false", () => {
    const s = schemaWith(
      { name: "age", type: "Int32", nullable: true },
      { name: "meta", type: "JSON", nullable: true },
      { name: "tags", type: "Array", element_type: "Int8", max_capacity: 2, nullable: true },
      { name: "name", type: "VarChar", max_length: 4, nullable: false },
    );
    assert.deepEqual(
      s.fields.map((f) => f.nullable),
      [undefined, undefined, true, true, true, undefined],
    );
  });

  it("is refused on the primary key and on vector fields", () => {
    fails("SCHEMA_INVALID", () => checkSchema({ fields: [{ ...pk, nullable: true }, vec] }), 'primary field "id" cannot be nullable');
    fails("SCHEMA_INVALID", () => checkSchema({ fields: [pk, { ...vec, nullable: true }] }), 'vector field "vec" cannot be nullable');
  });

  it("must be a boolean", () => {
    schemaFails({ name: "age", type: "Int32", nullable: "yes" }, 'field "age": nullable must be true or false', '"yes"');
  });
});

describe("schema: default_value", () => {
  it("is checked and normalized as a row value of the field's type", () => {
    const s = schemaWith(
      { name: "b", type: "Bool", default_value: false },
      { name: "i8", type: "Int8", default_value: -128 },
      { name: "i64", type: "Int64", default_value: 9007199254740991n },
      { name: "f", type: "Float", default_value: 0.1 },
      { name: "d", type: "Double", default_value: 0.1 },
      { name: "s", type: "VarChar", max_length: 6, default_value: "active" },
    );
    assert.deepEqual(
      s.fields.slice(2).map((f) => f.default_value),
      [false, -128, 9007199254740991, Math.fround(0.1), 0.1, "active"],
    );
  });

  it("must be valid for the field's type", () => {
    schemaFails({ name: "i8", type: "Int8", default_value: 128 }, 'default_value of field "i8" must be an integer in [-128, 127], got number 128');
    schemaFails({ name: "age", type: "Int32", default_value: "18" }, 'default_value of field "age" must be an integer');
    schemaFails({ name: "s", type: "VarChar", max_length: 3, default_value: "active" }, 'default_value of field "s" must be a string of at most 3 characters');
    schemaFails({ name: "b", type: "Bool", default_value: 0 }, 'default_value of field "b" must be a boolean');
    schemaFails({ name: "f", type: "Float", default_value: Infinity }, 'default_value of field "f" must be a finite number');
  });

  it("may not be null", () => {
    schemaFails({ name: "age", type: "Int32", nullable: true, default_value: null }, 'field "age" cannot have a default_value', "may not be null");
  });

  it("is refused on the primary key and on vector, JSON and Array fields", () => {
    fails("SCHEMA_INVALID", () => checkSchema({ fields: [{ ...pk, default_value: 1 }, vec] }), 'field "id" cannot have a default_value: it is the primary key');
    fails("SCHEMA_INVALID", () => checkSchema({ fields: [pk, { ...vec, default_value: [1, 2] }] }), 'field "vec" cannot have a default_value', "FloatVector");
    schemaFails({ name: "meta", type: "JSON", default_value: {} }, 'field "meta" cannot have a default_value', "JSON");
    schemaFails({ name: "tags", type: "Array", element_type: "Int64", max_capacity: 2, default_value: [1] }, 'field "tags" cannot have a default_value', "Array<Int64>");
  });
});

describe("schema: vector fields", () => {
  const vectors = (n: number) => Array.from({ length: n }, (_, i) => ({ name: `v${i}`, type: "FLOAT_VECTOR", dim: i + 1 }));

  it("allows one to four FloatVector fields", () => {
    for (const n of [1, 2, 4]) {
      const s = checkSchema({ fields: [pk, ...vectors(n)] });
      assert.deepEqual(vectorFields(s).map((f) => f.dim), vectors(n).map((f) => f.dim));
    }
  });

  it("needs at least one and at most four", () => {
    fails("SCHEMA_INVALID", () => checkSchema({ fields: [pk] }), "needs a FloatVector field");
    fails("SCHEMA_INVALID", () => checkSchema({ fields: [pk, ...vectors(5)] }), "at most 4 FloatVector fields; got 5");
  });

  it("still lists field names for messages", () => {
    assert.equal(describeFields(checkSchema({ fields: [pk, ...vectors(2)] })), "id, v0, v1");
  });
});

const rowSchema = schemaWith(
  { name: "tags", type: "Array", element_type: "Int8", max_capacity: 3 },
  { name: "words", type: "Array", element_type: "VarChar", max_capacity: 2, max_length: 3, nullable: true },
  { name: "ratios", type: "Array", element_type: "Float", max_capacity: 2, nullable: true },
  { name: "nick", type: "VarChar", max_length: 8, nullable: true },
  { name: "age", type: "Int32", default_value: 18 },
  { name: "status", type: "VarChar", max_length: 8, nullable: true, default_value: "new" },
  { name: "vec2", type: "FloatVector", dim: 3 },
);

const base = { id: 1, vec: [1, 2], tags: [1], vec2: [1, 2, 3] };
const one = (row: Record<string, unknown>): Row => checkRows(rowSchema, [row])[0];
const rowFails = (code: ErrorCode, row: Record<string, unknown>, ...fragments: string[]): void => fails(code, () => checkRows(rowSchema, [base, row]), ...fragments);

describe("rows: nullable and default_value", () => {
  it("stores a missing or null value of a nullable field as null", () => {
    assert.equal(one(base).nick, null);
    assert.equal(one({ ...base, nick: null }).nick, null);
    assert.equal(one({ ...base, words: null }).words, null);
    assert.equal(one({ ...base, nick: "ann" }).nick, "ann");
  });

  it("fills in the default for a missing or null value, also on a nullable field", () => {
    assert.equal(one(base).age, 18);
    assert.equal(one({ ...base, age: null }).age, 18);
    assert.equal(one({ ...base, age: 40 }).age, 40);
    assert.equal(one(base).status, "new");
    assert.equal(one({ ...base, status: null }).status, "new");
  });

  it("checks a value given for a field with a default", () => {
    rowFails("INVALID_FIELD_VALUE", { ...base, age: "x" }, 'row 1: field "age" must be an integer');
  });

  it("rejects a missing or null value of any other field, naming row and field", () => {
    rowFails("MISSING_FIELD", { id: 2, vec: [1, 2], vec2: [1, 2, 3] }, 'row 1: field "tags" (Array<Int8>) is missing');
    rowFails("MISSING_FIELD", { ...base, tags: null }, 'row 1: field "tags" (Array<Int8>) is null, and the field is not nullable');
    rowFails("MISSING_FIELD", { ...base, vec2: null }, 'row 1: field "vec2" (FloatVector) is null');
    // A vector sent as float32 (a bin or a Float32Array) is checked for infinities and NaN after it is read.
    const bin = (xs: number[]) => new Uint8Array(Float32Array.from(xs).buffer);
    rowFails("INVALID_FIELD_VALUE", { ...base, vec2: bin([1, NaN, 3]) }, 'row 1: field "vec2": element 1 is not a finite number');
    rowFails("INVALID_FIELD_VALUE", { ...base, vec2: Float32Array.from([1, 2, -Infinity]) }, 'row 1: field "vec2": element 2 is not a finite number');
  });
});

describe("rows: Array values", () => {
  it("normalizes elements as scalar values of the element type", () => {
    const row = one({ ...base, tags: [127n, -128, 0], words: ["", "abc"], ratios: [0.1, 2] });
    assert.deepEqual(row.tags, [127, -128, 0]);
    assert.deepEqual(row.words, ["", "abc"]);
    assert.deepEqual(row.ratios, [Math.fround(0.1), 2]);
    assert.deepEqual(one({ ...base, tags: [] }).tags, []);
  });

  it("must be a list of at most max_capacity elements", () => {
    rowFails("INVALID_FIELD_VALUE", { ...base, tags: 1 }, 'row 1: field "tags" must be a list of Int8, got number 1');
    rowFails("INVALID_FIELD_VALUE", { ...base, tags: "abc" }, 'row 1: field "tags" must be a list of Int8');
    rowFails("INVALID_FIELD_VALUE", { ...base, tags: [1, 2, 3, 4] }, 'row 1: field "tags" holds 4 elements; its max_capacity is 3');
  });

  it("names the row, the field and the element of a bad element", () => {
    rowFails("INVALID_FIELD_VALUE", { ...base, tags: [1, 128] }, 'row 1: field "tags" element 1 must be an integer in [-128, 127], got number 128');
    rowFails("INVALID_FIELD_VALUE", { ...base, tags: [1.5] }, 'row 1: field "tags" element 0 must be an integer');
    rowFails("INVALID_FIELD_VALUE", { ...base, tags: [null] }, 'row 1: field "tags" element 0 must be an integer', "got nothing");
    rowFails("INVALID_FIELD_VALUE", { ...base, words: ["ab", "abcd"] }, 'row 1: field "words" element 1 must be a string of at most 3 characters');
    rowFails("INVALID_FIELD_VALUE", { ...base, words: [1] }, 'row 1: field "words" element 0 must be a string');
    rowFails("INVALID_FIELD_VALUE", { ...base, ratios: [NaN] }, 'row 1: field "ratios" element 0 must be a finite number');
  });
});

describe("rows: several vector fields", () => {
  it("checks and converts every vector field", () => {
    const row = one(base);
    assert.ok(row.vec instanceof Float32Array && row.vec2 instanceof Float32Array);
    assert.deepEqual(Array.from(row.vec2 as Float32Array), [1, 2, 3]);
  });

  it("names the vector field whose dimension is wrong", () => {
    rowFails("DIMENSION_MISMATCH", { ...base, vec2: [1, 2] }, 'row 1: field "vec2" has 2 dimensions but field "vec2"\'s dimension is 3');
    rowFails("DIMENSION_MISMATCH", { ...base, vec: [1, 2, 3] }, 'row 1: field "vec" has 3 dimensions');
    rowFails("INVALID_FIELD_VALUE", { ...base, vec2: [1, "2", 3] }, 'row 1: field "vec2": element 1');
  });

  it("fills defaults with auto ids too", () => {
    const s = checkSchema({ fields: [{ ...pk, auto_id: true }, vec, { name: "age", type: "Int32", default_value: 7 }] });
    assert.deepEqual(checkRows(s, [{ vec: [0, 0] }], [42]).map((r) => [r.id, r.age]), [[42, 7]]);
  });
});
