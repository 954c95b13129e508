// A sealed segment made as a shard owner makes one: rows written to a
// growing segment (row i at timestamps[i]), then sealed.
import type { SegmentHead } from "../engine/segment-format.js";
import { GrowingSegment } from "../engine/growing-segment.js";
import { SealedSegment } from "../engine/sealed-segment.js";
import { batchOfRows } from "../protocol/columns.js";
import type { Row } from "../protocol/rows.js";
import type { CollectionSchema } from "../protocol/schema.js";

export function sealedOf(head: SegmentHead, schema: CollectionSchema, rows: Row[], timestamps: bigint[]): SealedSegment {
  const growing = new GrowingSegment(schema);
  rows.forEach((row, i) => growing.insert(batchOfRows(schema, [row]), timestamps[i]));
  return new SealedSegment(head, growing.sealColumns()!);
}
