// Column batches against the row form they transpose: for random rows, with
// and without one defect, `columns` must be checked exactly as `data` is
// (same rows, or the same error), and a batch must come back as the same rows
// after the wire, a split by shard and the owner's check.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { checkSchema } from "../../protocol/collection.js";
import { checkColumns, checkStoredBatch, columnRowCount, columnsOfRows, takeRows, type ColumnBatch } from "../../protocol/columns.js";
import { VecbusError, type ErrorCode } from "../../protocol/errors.js";
import { PARTITION_FIELD } from "../../protocol/partitions.js";
import { checkRows, type Row } from "../../protocol/rows.js";
import { DYNAMIC_FIELD } from "../../protocol/schema.js";
import { decode, encode } from "../../runtime/codec.js";
import { rng } from "../random.js";

const schema = checkSchema({
  fields: [
    { name: "id", type: "Int64", is_primary: true },
    { name: "vec", type: "FloatVector", dim: 3 },
    { name: "name", type: "VarChar", max_length: 5, nullable: true },
    { name: "age", type: "Int32", default_value: 18 },
    { name: "score", type: "Double" },
    { name: "ratio", type: "Float", nullable: true },
    { name: "flag", type: "Bool", nullable: true },
    { name: "doc", type: "JSON", nullable: true },
    { name: "tags", type: "Array", element_type: "Int16", max_capacity: 3 },
  ],
  enable_dynamic_field: true,
});
const closed = checkSchema({ ...schema, enable_dynamic_field: false });

const wire = <T>(v: T): T => decode(encode(v)) as T;

/** `data` as `columns`: a key a row leaves out is undefined in its column. */
function transpose(rows: Record<string, unknown>[]): Record<string, unknown[]> {
  const names = [...new Set(rows.flatMap((r) => Object.keys(r)))];
  return Object.fromEntries(names.map((n) => [n, rows.map((r) => r[n])]));
}

/** A batch back as rows, the transpose the other way: vectors cut out of the block, null dynamic keys left out, the partition under `$partition`. */
function rowsOfBatch(s: typeof schema, batch: ColumnBatch): Row[] {
  return Array.from({ length: batch.count }, (_, i) => {
    const row: Row = {};
    for (const [name, col] of Object.entries(batch.fields)) {
      if (col instanceof Float32Array) {
        const dim = s.fields.find((f) => f.name === name)!.dim!;
        row[name] = col.subarray(i * dim, (i + 1) * dim);
      } else if (name !== DYNAMIC_FIELD || col[i] !== null) row[name] = col[i];
    }
    row[PARTITION_FIELD] = typeof batch.partition === "string" ? batch.partition : batch.partition[i];
    return row;
  });
}

function randomRow(r: () => number, id: number): Record<string, unknown> {
  const row: Record<string, unknown> = { id, vec: [r(), r(), r()], score: r() * 100, tags: Array.from({ length: Math.floor(r() * 4) }, () => Math.floor(r() * 100)) };
  if (r() < 0.7) row.name = ["a", "bc", "def", null][Math.floor(r() * 4)];
  if (r() < 0.5) row.age = Math.floor(r() * 90);
  if (r() < 0.5) row.flag = r() < 0.5;
  if (r() < 0.5) row.ratio = Math.fround(r());
  if (r() < 0.5) row.doc = r() < 0.2 ? null : { k: Math.floor(r() * 5), s: "x" };
  if (r() < 0.4) row.color = ["red", "blue"][Math.floor(r() * 2)];
  if (r() < 0.3) row.n = Math.floor(r() * 9);
  return row;
}

/** One thing wrong in a row, each kind an error the row form reports. */
const DEFECTS: ((row: Record<string, unknown>) => void)[] = [
  (row) => (row.score = "high"),
  (row) => (row.ratio = Infinity),
  (row) => (row.score = -Infinity),
  (row) => (row.age = 2 ** 31),
  (row) => (row.name = "toolong"),
  (row) => (row.vec = [1, 2]),
  (row) => (row.vec = [1, NaN, 2]),
  (row) => (row.vec = "v"),
  (row) => delete row.score,
  (row) => (row.tags = [1, 2, 3, 4]),
  (row) => (row.tags = [1, 40000]),
  (row) => (row.flag = 1),
  (row) => (row.doc = { bad: Infinity }),
  (row) => (row[DYNAMIC_FIELD] = { a: 1 }),
  (row) => delete row.vec,
];

function outcome(f: () => Row[]): Row[] | { code: ErrorCode; message: string } {
  try {
    return f();
  } catch (e) {
    if (!(e instanceof VecbusError)) throw e;
    return { code: e.code, message: e.message };
  }
}

const placed = (rows: Row[], partition: string): Row[] => rows.map((r) => ({ ...r, [PARTITION_FIELD]: partition }));
const plain = (rows: Row[]): Row[] => rows.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, v instanceof Float32Array ? [...v] : v])));

describe("column batches", () => {
  it("check random columns exactly as the same rows, valid or with one defect", () => {
    const r = rng(11);
    for (let t = 0; t < 400; t++) {
      const rows = Array.from({ length: 1 + Math.floor(r() * 6) }, (_, i) => randomRow(r, t * 10 + i));
      // Without dynamic fields a dynamic key is the defect (two defects may be reported in either order).
      const s = t % 7 === 0 ? closed : schema;
      const defective = t % 2 === 1 && s === schema;
      if (defective) DEFECTS[Math.floor(r() * DEFECTS.length)](rows[Math.floor(r() * rows.length)]);
      const want = outcome(() => placed(checkRows(s, rows), "p"));
      const got = outcome(() => rowsOfBatch(s, { ...checkColumns(s, transpose(rows)), partition: "p" }));
      if (Array.isArray(want) && Array.isArray(got)) assert.deepEqual(plain(got), plain(want), `case ${t}`);
      else assert.deepEqual(got, want, `case ${t}: ${JSON.stringify(rows)}`);
      if (defective) assert.ok(!Array.isArray(want), `case ${t}: the defect is an error`);
    }
  });

  it("take auto ids in place of an absent primary key column, and refuse a given one", () => {
    const rows = [{ vec: [1, 2, 3], score: 1, tags: [] }, { vec: [4, 5, 6], score: 2, tags: [1] }];
    const got = rowsOfBatch(schema, { ...checkColumns(schema, transpose(rows), [70, 71]), partition: "p" });
    assert.deepEqual(plain(got), plain(placed(checkRows(schema, rows, [70, 71]), "p")));
    assert.throws(() => checkColumns(schema, transpose([{ ...rows[0], id: 5 }]), [70]), /"id" is an auto_id primary key/);
  });

  it("take a vector column as one block of float32, as bin or Float32Array, aligned or not", () => {
    const rows = [{ id: 1, vec: [1, 2, 3], score: 1, tags: [] }, { id: 2, vec: [4, 5, 6], score: 2, tags: [] }];
    const want = plain(placed(checkRows(schema, rows), "p"));
    const block = new Float32Array([1, 2, 3, 4, 5, 6]);
    const bytes = new Uint8Array(block.buffer);
    const unaligned = new Uint8Array(bytes.length + 1).subarray(1);
    unaligned.set(bytes);
    for (const vec of [block, bytes, unaligned, wire(block)]) {
      const cols = { ...transpose(rows), vec };
      assert.equal(columnRowCount(schema, cols), 2);
      assert.deepEqual(plain(rowsOfBatch(schema, { ...checkColumns(schema, cols), partition: "p" })), want);
    }
    // The block alone says how many rows there are.
    assert.equal(columnRowCount(schema, { vec: new Float32Array(9) }), 3);
  });

  it("refuse columns that do not line up, naming them", () => {
    const fails = (code: ErrorCode, columns: unknown, fragment: string) =>
      assert.throws(() => checkColumns(schema, columns), (e: unknown) => e instanceof VecbusError && e.code === code && e.message.includes(fragment));
    fails("INVALID_ARGUMENT", {}, "columns must be a map");
    fails("INVALID_ARGUMENT", [{ id: 1 }], "columns must be a map");
    fails("INVALID_ARGUMENT", { id: [1, 2], score: [1] }, 'column "score" has 1 rows but column "id" has 2');
    fails("INVALID_ARGUMENT", { id: [], vec: [] }, "columns hold no rows");
    fails("INVALID_ARGUMENT", { id: 5 }, 'column "id" must be a list of values');
    fails("INVALID_ARGUMENT", { vec: 5 }, 'column "vec" must be a list of vectors or one bin of float32');
    fails("INVALID_FIELD_VALUE", { id: [1], vec: new Uint8Array(13) }, "not a whole number of 3-d float32 vectors");
    fails("INVALID_ARGUMENT", { id: [1], vec: new Float32Array(6), score: [1], tags: [[]] }, 'column "vec" has 2 rows but column "id" has 1');
    fails("INVALID_FIELD_VALUE", { id: [1, 2], vec: new Float32Array([1, 2, 3, 4, Infinity, 6]), score: [1, 2], tags: [[], []] }, 'row 1: field "vec": element 1 is not a finite number');
    fails("INVALID_ARGUMENT", { id: [1], vec: [[1, 2, 3]], score: [1], tags: [[]], [DYNAMIC_FIELD]: [{}] }, `"${DYNAMIC_FIELD}" is reserved`);
  });

  it("come back as the same rows after the wire, a split by shard and the owner's check", () => {
    const r = rng(5);
    const rows = checkRows(schema, Array.from({ length: 40 }, (_, i) => randomRow(r, i)));
    const partitions = rows.map((_, i) => `p${i % 3}`);
    const batch: ColumnBatch = { ...columnsOfRows(schema, rows), partition: partitions };
    const pick = rows.map((_, i) => i).filter((i) => i % 4 !== 1);
    const part = takeRows(batch, pick);
    // On the wire the vector block becomes a bin, which the owner views as float32.
    const stored = checkStoredBatch(schema, wire(part), "batch");
    const want = pick.map((i) => ({ ...rows[i], [PARTITION_FIELD]: partitions[i] }));
    assert.deepEqual(plain(rowsOfBatch(schema, stored)), plain(want));
    // One partition for the whole batch.
    assert.deepEqual(plain(rowsOfBatch(schema, checkStoredBatch(schema, wire({ ...batch, partition: "q" }), "batch"))), plain(placed(rows, "q")));
  });

  it("are refused by the owner when forged: a missing, extra or short column, a bad value, a bad partition", () => {
    const rows = checkRows(schema, [randomRow(rng(2), 1), randomRow(rng(3), 2)]);
    const good: ColumnBatch = { ...columnsOfRows(schema, rows), partition: "p" };
    const forged = (change: (b: ColumnBatch) => void): ColumnBatch => {
      const b = structuredClone(good);
      change(b);
      return b;
    };
    const refused = (code: ErrorCode, b: ColumnBatch, fragment: string) =>
      assert.throws(() => checkStoredBatch(schema, b, "batch"), (e: unknown) => e instanceof VecbusError && e.code === code && e.message.includes(fragment));
    assert.equal(checkStoredBatch(schema, good, "batch").count, 2);
    refused("INVALID_ARGUMENT", forged((b) => (b.count = 0)), "at least one row");
    refused("MISSING_FIELD", forged((b) => delete b.fields.score), 'field "score" (Double) has no column of 2 values');
    refused("MISSING_FIELD", forged((b) => (b.fields.score = [1])), 'field "score" (Double) has no column of 2 values');
    refused("MISSING_FIELD", forged((b) => (b.fields.score = [1, null])), 'batch row 1: field "score" (Double) has no value');
    refused("INVALID_FIELD_VALUE", forged((b) => (b.fields.age = [1, "x"])), 'batch row 1: field "age" must be an integer');
    refused("INVALID_FIELD_VALUE", forged((b) => (b.fields.vec = new Float32Array(3))), "must be 2 × 3 float32");
    refused("INVALID_FIELD_VALUE", forged((b) => ((b.fields.vec as Float32Array)[4] = NaN)), "batch row 1: field \"vec\": element 1 is not a finite number");
    refused("FIELD_NOT_FOUND", forged((b) => (b.fields.extra = [1, 2])), 'field "extra" is not in the schema');
    refused("INVALID_FIELD_VALUE", forged((b) => (b.fields[DYNAMIC_FIELD] = [5, null])), "batch row 0: the dynamic fields must be a map");
    assert.throws(() => checkStoredBatch(closed, good, "batch"), new RegExp(`field "\\${DYNAMIC_FIELD}" is not in the schema`));
    refused("INVALID_FIELD_VALUE", forged((b) => (b.partition = ["p"])), "one name per row");
  });
});
