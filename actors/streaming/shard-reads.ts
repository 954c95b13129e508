// Reads of a shard's segment set, as its owner and an edge replica answer
// them: the request's vectors checked against the schema, then the set asked.
import { match } from "ts-pattern";
import type { CollectionMeta } from "../../protocol/collection.js";
import { VecbusError } from "../../protocol/errors.js";
import type { ShardRead, ShardReplies } from "../../protocol/messages.js";
import { checkVector } from "../../protocol/rows.js";
import { vectorFields } from "../../protocol/schema.js";
import { COUNT_ALL } from "../../engine/reduce.js";
import { fieldMetric } from "../../protocol/indexes.js";
import type { SegmentSet } from "./segment-set.js";

/** `reading` wraps each read that may reach query nodes (the owner re-plans it when one is gone). */
export function readSegments(
  segments: SegmentSet,
  meta: CollectionMeta,
  msg: ShardRead,
  reading: <T>(read: () => Promise<T>) => Promise<T> = (read) => read(),
): Promise<ShardReplies[ShardRead["kind"]]> {
  return match(msg)
    .with({ kind: "search" }, (m) => {
      const field = vectorFields(meta.schema).find((f) => f.name === m.anns_field);
      if (!field) throw new VecbusError("FIELD_NOT_FOUND", `"${m.anns_field}" is not a vector field of "${meta.name}"`);
      const vectors = m.vectors.map((v, i) => checkVector(field, v, `data[${i}]`));
      return reading(() =>
        segments.search({
          vectors,
          field: field.name,
          metric: m.metric_type ?? fieldMetric(meta, field.name),
          limit: m.limit,
          output_fields: m.output_fields,
          filter: m.filter,
          partition_names: m.partition_names,
          range: m.range,
          groupBy: m.group_by,
          ef: m.ef,
        }),
      );
    })
    .with({ kind: "query" }, (m) => reading(async () => (m.count ? [{ [COUNT_ALL]: await segments.count(m) }] : segments.query(m.output_fields, m.limit, m))))
    .with({ kind: "get" }, (m) => reading(() => segments.get(m.ids, m.output_fields, m.partition_names)))
    .exhaustive();
}
