// The rows a WAL record writes, as every reader of the WAL applies them: a
// shard owner (replay and its own appends) and an edge replica following it.
import type { CollectionSchema } from "./schema.js";
import { batchOfRows, checkStoredBatch, type ColumnBatch } from "./columns.js";
import type { WalRecord } from "./messages.js";
import { checkStoredRows } from "./rows.js";

/** An insert record's rows as batches, checked against the schema unless the caller checked them on their way in; none for other records. */
export function walRecordBatches(schema: CollectionSchema, rec: WalRecord, where: string, checked = false): ColumnBatch[] {
  if (rec.kind === "insert") return [batchOfRows(schema, checkStoredRows(schema, rec.rows, `${where} row`))];
  if (rec.kind !== "insert_columns") return [];
  return checked ? rec.batches : rec.batches.map((b, i) => checkStoredBatch(schema, b, `${where} batch ${i}`));
}
