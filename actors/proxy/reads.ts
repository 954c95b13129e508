// Reads: search, query and get fan out to the shards and are reduced here.
import type { Hit } from "../../protocol/api.js";
import { optFilter, optInt, optString, optStringList, type Args } from "../../protocol/args.js";
import { checkMetric, LIMITS } from "../../protocol/collection.js";
import { VecbusError } from "../../protocol/errors.js";
import type { ShardMsg } from "../../protocol/messages.js";
import { checkIds, checkVector, type PrimaryKey, type Row } from "../../protocol/rows.js";
import { primaryField, vectorFields } from "../../protocol/schema.js";
import { groupByShard } from "../../protocol/sharding.js";
import { largerIsCloser } from "../../storage/distance.js";
import { comparePk } from "../../storage/growing-segment.js";
import { scoreOrder, TopK } from "../../storage/topk.js";
import type { ProxyCore } from "./core.js";

export async function search(core: ProxyCore, args: Args): Promise<Hit[][]> {
  const meta = await core.collection(args);
  const field = vectorFields(meta.schema)[0];
  const annsField = optString(args, "anns_field");
  if (annsField !== undefined && annsField !== field.name) {
    throw new VecbusError("FIELD_NOT_FOUND", `anns_field "${annsField}" is not a vector field of "${meta.name}"; its vector field is "${field.name}"`);
  }
  const params = args.search_params as { metric_type?: unknown } | undefined;
  if (params?.metric_type !== undefined && checkMetric(params.metric_type) !== meta.metric_type) {
    throw new VecbusError("INVALID_ARGUMENT", `search_params.metric_type ${String(params.metric_type)} does not match the collection's metric ${meta.metric_type}`);
  }
  if (!Array.isArray(args.data) || args.data.length === 0) {
    throw new VecbusError("INVALID_ARGUMENT", "data must be a non-empty list of query vectors");
  }
  if (args.data.length > LIMITS.nqMax) throw new VecbusError("INVALID_ARGUMENT", `at most ${LIMITS.nqMax} query vectors per search`);
  const vectors = args.data.map((v, i) => checkVector(field, v, `data[${i}]`));
  const limit = optInt(args, "limit", 10, 1, LIMITS.topKMax);
  const msg: ShardMsg = { kind: "search", vectors, limit, filter: optFilter(args), output_fields: optStringList(args, "output_fields") };
  const perShard = await core.allShards(meta, msg);
  if (perShard.length === 1) return perShard[0];
  const order = scoreOrder(largerIsCloser(meta.metric_type));
  return vectors.map((_, q) => {
    const top = new TopK<Hit>(limit, order);
    for (const hits of perShard) for (const h of hits[q]) top.offer(h.distance, h);
    return top.sorted().map((x) => x.item);
  });
}

export async function query(core: ProxyCore, args: Args): Promise<Row[]> {
  const meta = await core.collection(args);
  const filter = optFilter(args);
  if (filter === undefined && (args.limit === undefined || args.limit === null)) {
    throw new VecbusError("INVALID_ARGUMENT", "query needs a `filter`, or a `limit` to read rows without one");
  }
  const limit = optInt(args, "limit", LIMITS.topKMax, 1, LIMITS.topKMax);
  const pk = primaryField(meta.schema).name;
  const parts = await core.allShards(meta, { kind: "query", filter, limit, output_fields: rowFields(args) });
  return parts
    .flat()
    .sort((a, b) => comparePk(a[pk] as PrimaryKey, b[pk] as PrimaryKey))
    .slice(0, limit);
}

/** Rows come back in the order of the ids asked for; missing ids are left out. */
export async function get(core: ProxyCore, args: Args): Promise<Row[]> {
  const meta = await core.collection(args);
  const ids = checkIds(meta.schema, args.ids);
  const pk = primaryField(meta.schema).name;
  const outputFields = rowFields(args);
  const groups = groupByShard(ids, (id) => id, meta.num_shards);
  const parts = await Promise.all([...groups].map(([shard, part]) => core.toShard(meta, shard, { kind: "get", ids: part, output_fields: outputFields })));
  const byId = new Map<PrimaryKey, Row>();
  for (const row of parts.flat()) byId.set(row[pk] as PrimaryKey, row);
  return ids.flatMap((id) => (byId.has(id) ? [byId.get(id)!] : []));
}

/** query and get return every field unless output_fields is given, as MilvusClient does. */
function rowFields(args: Args): string[] {
  return args.output_fields === undefined || args.output_fields === null ? ["*"] : optStringList(args, "output_fields");
}
