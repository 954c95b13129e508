// The rows a WAL record writes, as every reader of the WAL applies them: a
// shard owner (replay and its own appends) and an edge replica following it.
import type { CollectionSchema } from "./schema.js";
import { checkStoredBatch, rowsOf } from "./columns.js";
import type { WalRecord } from "./messages.js";
import { checkStoredRows, type Row } from "./rows.js";

/** An insert record's rows, checked against the schema unless the caller checked them on their way in; none for other records. */
export function walRecordRows(schema: CollectionSchema, rec: WalRecord, where: string, checked = false): Row[] {
  if (rec.kind === "insert") return checkStoredRows(schema, rec.rows, `${where} row`);
  if (rec.kind !== "insert_columns") return [];
  return rec.batches.flatMap((b, i) => rowsOf(schema, checked ? b : checkStoredBatch(schema, b, `${where} batch ${i}`)));
}
