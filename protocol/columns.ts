// Column batches: how written rows travel from the proxy to a shard owner and
// sit in its WAL (one message per batch and shard, each vector field's values
// as one float32 block), and the `columns` form of insert and upsert for
// clients that can send it. A batch is the transpose of the rows it stands
// for: row i is { name: fields[name][i] }, checked by the same rules as a row
// (protocol/rows.ts), with the same error messages.
import { firstNonFinite, float32View } from "./binary.js";
import { isMap } from "./check.js";
import { VecbusError } from "./errors.js";
import { partitionOf } from "./partitions.js";
import { checkJsonSize, checkVector, describeValue, fieldValue, isStoredAsIs, normalizeJson, storedValue, type PrimaryKey, type Row } from "./rows.js";
import { describeFields, DYNAMIC_FIELD, primaryField, typeName, type CollectionSchema, type FieldSchema } from "./schema.js";

/** A field's values in row order; a FloatVector field's as one block of count × dim float32. */
export type Column = unknown[] | Float32Array;

export interface ColumnBatch {
  count: number;
  /** Every schema field, and `$meta` (each row's dynamic keys, null for none) when the schema has dynamic fields. */
  fields: Record<string, Column>;
  /** Every row's partition: one name for all of them, or one per row. */
  partition: string | string[];
}

export type CheckedColumns = Omit<ColumnBatch, "partition">;

/** Rows in a request's `columns`: every list column's length, and each vector block's bytes ÷ (4 × dim), must agree. */
export function columnRowCount(schema: CollectionSchema, columns: unknown): number {
  if (!isMap(columns) || Object.keys(columns).length === 0) {
    throw new VecbusError("INVALID_ARGUMENT", "columns must be a map of field name to a list of values (or, for a vector field, one bin of float32)");
  }
  let count: number | undefined;
  let first = "";
  for (const [name, col] of Object.entries(columns)) {
    const f = schema.fields.find((x) => x.name === name);
    let n: number;
    if (Array.isArray(col)) n = col.length;
    else if (f?.type === "FloatVector" && (col instanceof Uint8Array || col instanceof Float32Array)) {
      const per = 4 * f.dim!;
      if (col.byteLength % per !== 0) {
        throw new VecbusError("INVALID_FIELD_VALUE", `column "${name}" is ${col.byteLength} bytes, not a whole number of ${f.dim}-d float32 vectors (${per} bytes each)`);
      }
      n = col.byteLength / per;
    } else {
      const want = f?.type === "FloatVector" ? "a list of vectors or one bin of float32" : "a list of values";
      throw new VecbusError("INVALID_ARGUMENT", `column "${name}" must be ${want}, got ${describeValue(col)}`);
    }
    if (count === undefined) [count, first] = [n, name];
    else if (n !== count) throw new VecbusError("INVALID_ARGUMENT", `column "${name}" has ${n} rows but column "${first}" has ${count}; every column holds one value per row`);
  }
  if (count === 0) throw new VecbusError("INVALID_ARGUMENT", "columns hold no rows; send at least one");
  return count!;
}

/**
 * A request's `columns` checked as checkRows checks the same rows: absent
 * values take the field's default or null, columns not in the schema become
 * dynamic keys (or are refused), and with `autoIds` the primary key column
 * must be absent and is filled in.
 */
export function checkColumns(schema: CollectionSchema, columns: unknown, autoIds?: number[]): CheckedColumns {
  const count = columnRowCount(schema, columns);
  const given = columns as Record<string, unknown[] | Uint8Array>;
  // The first row holding a value of a column that should not be there: the row form's message names it.
  const firstRow = (name: string) => Math.max(0, Array.isArray(given[name]) ? (given[name] as unknown[]).findIndex((v) => v !== undefined) : 0);
  const extra = Object.keys(given).filter((k) => !schema.fields.some((f) => f.name === k));
  if (extra.length > 0 && !schema.enable_dynamic_field) {
    throw new VecbusError("FIELD_NOT_FOUND", `row ${firstRow(extra[0])}: field "${extra[0]}" is not in the schema (${describeFields(schema)}) and dynamic fields are off`);
  }
  if (extra.includes(DYNAMIC_FIELD)) {
    throw new VecbusError("INVALID_ARGUMENT", `row ${firstRow(DYNAMIC_FIELD)}: "${DYNAMIC_FIELD}" is reserved; put dynamic keys at the top level of the row`);
  }
  const fields: Record<string, Column> = {};
  for (const f of schema.fields) {
    const col = given[f.name];
    if (f.is_primary && autoIds) {
      if (col !== undefined) throw new VecbusError("INVALID_ARGUMENT", `row ${firstRow(f.name)}: "${f.name}" is an auto_id primary key; leave it out and vecbus assigns it`);
      fields[f.name] = autoIds;
    } else if (f.type === "FloatVector") fields[f.name] = vectorBlock(f, col, count);
    else fields[f.name] = keptOrChecked(f, col, count, (v, i) => fieldValue(f, v, i));
  }
  if (extra.length > 0) {
    // Dynamic keys are sparse: a nil in a dynamic column is a row without that key (a row map leaves it out).
    fields[DYNAMIC_FIELD] = Array.from({ length: count }, (_, i) => {
      const present = extra.filter((k) => (given[k] as unknown[])[i] !== undefined && (given[k] as unknown[])[i] !== null);
      if (present.length === 0) return null;
      const meta: Record<string, unknown> = {};
      for (const k of present) meta[k] = normalizeJson((given[k] as unknown[])[i], `row ${i}: dynamic field "${k}"`, 1);
      return checkJsonSize(meta, `row ${i}: the dynamic fields`);
    });
  }
  return { count, fields };
}

/** Checked rows (checkRows' output) as columns, so every write reaches the shards and the WAL in one form. */
export function columnsOfRows(schema: CollectionSchema, rows: Row[]): CheckedColumns {
  const fields: Record<string, Column> = {};
  for (const f of schema.fields) {
    if (f.type !== "FloatVector") fields[f.name] = rows.map((r) => r[f.name]);
    else {
      const block = new Float32Array(rows.length * f.dim!);
      rows.forEach((r, i) => block.set(r[f.name] as Float32Array, i * f.dim!));
      fields[f.name] = block;
    }
  }
  if (schema.enable_dynamic_field) fields[DYNAMIC_FIELD] = rows.map((r) => r[DYNAMIC_FIELD] ?? null);
  return { count: rows.length, fields };
}

/**
 * The owner's check of a batch the proxy prepared: every schema field with
 * one value per row, nothing else but `$meta`, the partition names. A shard
 * stores only rows that fit its schema, whoever sent them. Throws naming
 * `where` and the row.
 */
export function checkStoredBatch(schema: CollectionSchema, batch: ColumnBatch, where: string): ColumnBatch {
  const { count } = batch;
  if (!Number.isSafeInteger(count) || count < 1) throw new VecbusError("INVALID_ARGUMENT", `${where}: a batch holds at least one row, not ${describeValue(count)}`);
  const given = batch.fields;
  const fields: Record<string, Column> = {};
  for (const f of schema.fields) {
    const col = given[f.name];
    if (f.type === "FloatVector") {
      fields[f.name] = vectorBlock(f, col, count, where);
      continue;
    }
    if (!Array.isArray(col) || col.length !== count) throw new VecbusError("MISSING_FIELD", `${where}: field "${f.name}" (${typeName(f)}) has no column of ${count} values`);
    fields[f.name] = keptOrChecked(f, col, count, (v, i) => storedValue(f, v, `${where} row ${i}`));
  }
  for (const k of Object.keys(given)) {
    if (k in fields) continue;
    const col = given[k];
    if (k !== DYNAMIC_FIELD || !schema.enable_dynamic_field) throw new VecbusError("FIELD_NOT_FOUND", `${where}: field "${k}" is not in the schema (${describeFields(schema)})`);
    if (!Array.isArray(col) || col.length !== count) throw new VecbusError("INVALID_FIELD_VALUE", `${where}: "${DYNAMIC_FIELD}" must hold ${count} values`);
    fields[k] = col.map((meta, i) => {
      if (meta === null || meta === undefined) return null;
      const at = `${where} row ${i}: the dynamic fields`;
      if (!isMap(meta)) throw new VecbusError("INVALID_FIELD_VALUE", `${at} must be a map`);
      return checkJsonSize(normalizeJson(meta, at, 0), at);
    });
  }
  const { partition } = batch;
  const named = typeof partition === "string" || (Array.isArray(partition) && partition.length === count && partition.every((p) => typeof p === "string"));
  if (!named) throw new VecbusError("INVALID_FIELD_VALUE", `${where}: the partition must be one name, or one name per row`);
  return { count, fields, partition };
}

/**
 * A scalar column as it is when every value is stored as given (the common
 * case: no copy, no message built per value), else each value through `check`.
 */
function keptOrChecked(f: FieldSchema, col: unknown, count: number, check: (v: unknown, i: number) => unknown): unknown[] {
  if (Array.isArray(col) && col.length === count) {
    let i = 0;
    while (i < count && isStoredAsIs(f, col[i])) i++;
    if (i === count) return col;
  }
  return Array.from({ length: count }, (_, i) => check((col as unknown[] | undefined)?.[i], i));
}

/**
 * A vector column as one block of count × dim finite float32: given as a bin
 * (viewed in place when aligned) or a Float32Array, or as a list of vectors
 * (each checked as a row's vector is, then copied in).
 */
function vectorBlock(f: FieldSchema, col: unknown, count: number, where = ""): Float32Array {
  const at = (i: number) => `${where ? `${where} ` : ""}row ${i}: field "${f.name}"`;
  const dim = f.dim!;
  if (col === undefined || col === null) throw new VecbusError("MISSING_FIELD", `${at(0)} (${typeName(f)}) is missing`);
  if (Array.isArray(col)) {
    if (col.length !== count) throw new VecbusError("INVALID_ARGUMENT", `${at(0)}: column "${f.name}" has ${col.length} rows, not ${count}`);
    const block = new Float32Array(count * dim);
    col.forEach((v, i) => {
      if (v === null || v === undefined) throw new VecbusError("MISSING_FIELD", `${at(i)} (${typeName(f)}) is ${v === null ? "null, and the field is not nullable" : "missing"}`);
      block.set(checkVector(f, v, at(i)), i * dim);
    });
    return block;
  }
  if (!(col instanceof Uint8Array || col instanceof Float32Array) || col.byteLength !== count * dim * 4) {
    throw new VecbusError("INVALID_FIELD_VALUE", `${at(0)}: column "${f.name}" must be ${count} × ${dim} float32 (${count * dim * 4} bytes), got ${describeValue(col)}`);
  }
  const block = col instanceof Float32Array ? col : float32View(col);
  const j = firstNonFinite(block);
  if (j >= 0) throw new VecbusError("INVALID_FIELD_VALUE", `${at(Math.floor(j / dim))}: element ${j % dim} is not a finite number`);
  return block;
}

/** The primary keys of a batch, in row order. */
export function batchKeys(schema: CollectionSchema, batch: CheckedColumns): PrimaryKey[] {
  return batch.fields[primaryField(schema).name] as PrimaryKey[];
}

/** Checked rows as a batch for a shard: columns, and each row's partition. */
export function batchOfRows(schema: CollectionSchema, rows: Row[]): ColumnBatch {
  return { ...columnsOfRows(schema, rows), partition: rows.map(partitionOf) };
}

/** The batch's rows at `indices` (ascending), as a batch of their own. */
export function takeRows(batch: ColumnBatch, indices: number[]): ColumnBatch {
  const fields: Record<string, Column> = {};
  for (const [name, col] of Object.entries(batch.fields)) {
    if (Array.isArray(col)) fields[name] = indices.map((i) => col[i]);
    else {
      const dim = col.length / batch.count;
      const block = new Float32Array(indices.length * dim);
      indices.forEach((i, j) => block.set(col.subarray(i * dim, (i + 1) * dim), j * dim));
      fields[name] = block;
    }
  }
  const { partition } = batch;
  return { count: indices.length, fields, partition: typeof partition === "string" ? partition : indices.map((i) => partition[i]) };
}
