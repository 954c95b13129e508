// Reads: search, hybrid_search, query and get check their arguments, fan out
// to the shards and reduce the answers (the reduce and ranker logic itself
// lives in engine/reduce.ts and engine/rankers.ts).
import type { Hit } from "../../protocol/api.js";
import { bothFilters, optBool, optFilter, optInt, optString, optStringList, type Args } from "../../protocol/args.js";
import { checkMetric, LIMITS, type CollectionMeta } from "../../protocol/collection.js";
import { VecbusError } from "../../protocol/errors.js";
import type { ReadScope, SearchRange, ShardMsg } from "../../protocol/messages.js";
import { checkIds, checkVector, type PrimaryKey, type Row } from "../../protocol/rows.js";
import { describeFields, primaryField, typeName, vectorFields, type DataType, type FieldSchema, type MetricType } from "../../protocol/schema.js";
import { groupByShard } from "../../protocol/sharding.js";
import { largerIsCloser } from "../../engine/distance.js";
import { checkRanker, fuse } from "../../engine/rankers.js";
import { COUNT_ALL, hitOrder, mergedSearch, mergeRows } from "../../engine/reduce.js";
import { formatLiteral } from "../../protocol/filter/ast.js";
import { fieldMetric } from "../../protocol/indexes.js";
import type { ProxyCore } from "./core.js";

/** One checked vector search: a `search` request, or one entry of hybrid_search's `reqs`. */
interface SearchPlan {
  field: string;
  vectors: Float32Array[];
  limit: number;
  offset: number;
  filter?: string;
  output_fields: string[];
  range?: SearchRange;
  group?: { field: string; size: number };
  ef?: number;
}

/** Milvus groups search hits by fields whose values compare exactly. */
const GROUPABLE: readonly DataType[] = ["Bool", "Int8", "Int16", "Int32", "Int64", "VarChar"];

export async function search(core: ProxyCore, args: Args): Promise<Hit[][]> {
  const meta = await core.collection(args);
  const field = annsField(meta, args);
  const plan: SearchPlan = {
    field: field.name,
    vectors: queryVectors(field, await searchData(core, meta, field, args)),
    ...page(withSearchOffset(args), 10),
    filter: optFilter(args),
    output_fields: optStringList(args, "output_fields"),
    range: searchRange(fieldMetric(meta, field.name), args.search_params, "search_params"),
    group: groupBy(meta, args),
    ef: searchEf(args.search_params, "search_params"),
  };
  if (plan.range && plan.group) {
    throw invalid("a range search (search_params.params.radius) cannot also group by a field, as in Milvus; leave out one of the two");
  }
  const decimals = optInt(args, "round_decimal", -1, -1, 6);
  const hits = await runSearch(core, meta, plan, await core.readScope(meta, args));
  return decimals < 0 ? hits : hits.map((q) => q.map((h) => ({ ...h, distance: roundTo(h.distance, decimals) })));
}

/** The query vectors: `data`, or (as Milvus 2.5) the stored vectors of the rows `ids` names, in that order. */
async function searchData(core: ProxyCore, meta: CollectionMeta, field: FieldSchema, args: Args): Promise<unknown> {
  if (args.ids === undefined || args.ids === null) return args.data;
  if (args.data !== undefined && args.data !== null) throw invalid("give a search's query vectors as `data` or name rows by `ids`, not both");
  const ids = checkIds(meta.schema, args.ids);
  const rows = await get(core, { ...args, ids, output_fields: [field.name] });
  const pk = primaryField(meta.schema).name;
  const found = new Map(rows.map((r) => [r[pk] as PrimaryKey, r[field.name]]));
  const missing = ids.filter((id) => !found.has(id));
  if (missing.length > 0) throw invalid(`ids names rows that do not exist: ${formatLiteral(missing.slice(0, 10))}${missing.length > 10 ? " …" : ""}`);
  return ids.map((id) => found.get(id));
}

/** round_decimal, as Milvus: each distance rounded to that many decimals (-1: as computed). */
function roundTo(v: number, decimals: number): number {
  const f = 10 ** decimals;
  return Math.round(v * f) / f;
}

/** pymilvus sends a search's offset inside search_params; a top-level offset wins when both are given. */
function withSearchOffset(args: Args): Args {
  if (args.offset !== undefined && args.offset !== null) return args;
  const sp = args.search_params;
  if (sp === undefined || sp === null) return args;
  const offset = asMap(sp, "search_params").offset;
  return offset === undefined || offset === null ? args : { ...args, offset };
}

/** Each entry of `reqs` is a search of its own; the ranker fuses their hits per query vector. */
export async function hybridSearch(core: ProxyCore, args: Args): Promise<Hit[][]> {
  const meta = await core.collection(args);
  if (args.group_by_field !== undefined && args.group_by_field !== null) {
    throw invalid("hybrid_search does not group by a field yet; use search with group_by_field on one vector field");
  }
  const plans = subSearches(meta, args);
  const ranker = checkRanker(args.ranker, plans.length);
  const { limit, offset } = page(args, 10);
  const scope = await core.readScope(meta, args);
  const results = await Promise.all(plans.map((p) => runSearch(core, meta, p, scope)));
  const metrics = plans.map((p) => fieldMetric(meta, p.field));
  return results[0].map((_, q) => fuse(ranker, results.map((r) => r[q]), metrics, offset, limit));
}

/**
 * Shards rank with the same total order as the proxy, so each sending its
 * top offset + limit (or its best offset + limit groups) makes the merge exact.
 */
async function runSearch(core: ProxyCore, meta: CollectionMeta, plan: SearchPlan, scope: ReadScope): Promise<Hit[][]> {
  const msg: Extract<ShardMsg, { kind: "search" }> = {
    kind: "search",
    vectors: plan.vectors,
    anns_field: plan.field,
    limit: plan.offset + plan.limit,
    filter: plan.filter,
    output_fields: plan.output_fields,
    range: plan.range,
    group_by: plan.group,
    ef: plan.ef,
    metric_type: fieldMetric(meta, plan.field),
    ...scope,
  };
  return mergedSearch(meta.num_shards, (shard, second) => core.toShard(meta, shard, second ? { ...msg, group_by: second } : msg), {
    order: hitOrder(largerIsCloser(fieldMetric(meta, plan.field))),
    offset: plan.offset,
    limit: plan.limit,
    group: plan.group,
  });
}

function subSearches(meta: CollectionMeta, args: Args): SearchPlan[] {
  if (!Array.isArray(args.reqs) || args.reqs.length === 0) {
    throw invalid("reqs must be a non-empty list of searches, each {data, anns_field, limit, filter?, param?}");
  }
  const outputFields = optStringList(args, "output_fields");
  const plans = args.reqs.map((raw: unknown, i) => naming(`reqs[${i}]`, () => subSearch(meta, raw, outputFields)));
  const nq = plans[0].vectors.length;
  const other = plans.findIndex((p) => p.vectors.length !== nq);
  if (other >= 0) {
    throw invalid(`every entry of reqs needs the same number of query vectors: reqs[0] has ${nq}, reqs[${other}] has ${plans[other].vectors.length}`);
  }
  return plans;
}

function subSearch(meta: CollectionMeta, raw: unknown, outputFields: string[]): SearchPlan {
  const r = asMap(raw, "the entry");
  const field = annsField(meta, r);
  return {
    field: field.name,
    vectors: queryVectors(field, r.data),
    limit: optInt(r, "limit", 10, 1, LIMITS.topKMax),
    offset: 0,
    filter: optFilter(r),
    output_fields: outputFields,
    // pymilvus's AnnSearchRequest calls it `param`; accept `params` too.
    range: searchRange(fieldMetric(meta, field.name), r.param ?? r.params, "param"),
    ef: searchEf(r.param ?? r.params, "param"),
  };
}

/** Prefixes errors with where in the request they come from, e.g. `reqs[1]: data[0] has 3 dimensions...`. */
function naming<T>(where: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof VecbusError) throw new VecbusError(e.code, `${where}: ${e.message}`);
    throw e;
  }
}

/** The vector field to search: `anns_field`, which may be left out when there is only one. */
function annsField(meta: CollectionMeta, args: Args): FieldSchema {
  const name = optString(args, "anns_field");
  const fields = vectorFields(meta.schema);
  const names = fields.map((f) => `"${f.name}"`).join(", ");
  if (name === undefined) {
    if (fields.length === 1) return fields[0];
    throw invalid(`anns_field is required: collection "${meta.name}" has ${fields.length} vector fields (${names}); name the one to search`);
  }
  const field = fields.find((f) => f.name === name);
  if (!field) throw new VecbusError("FIELD_NOT_FOUND", `anns_field "${name}" is not a vector field of "${meta.name}"; its vector fields are ${names}`);
  return field;
}

function queryVectors(field: FieldSchema, data: unknown): Float32Array[] {
  if (!Array.isArray(data) || data.length === 0) throw invalid("data must be a non-empty list of query vectors");
  if (data.length > LIMITS.nqMax) throw invalid(`data holds ${data.length} query vectors; a search takes at most ${LIMITS.nqMax}`);
  return data.map((v, i) => checkVector(field, v, `data[${i}]`));
}

/** `limit` and `offset`: the results ranked offset..offset+limit-1, within Milvus's window of 16384. */
function page(args: Args, defaultLimit: number): { limit: number; offset: number } {
  const limit = optInt(args, "limit", defaultLimit, 1, LIMITS.topKMax);
  const offset = optInt(args, "offset", 0, 0, LIMITS.topKMax);
  if (limit + offset > LIMITS.topKMax) throw invalid(`limit + offset must be at most ${LIMITS.topKMax}; got ${limit} + ${offset}`);
  return { limit, offset };
}

/** `params.ef`: how wide HNSW searches (Milvus's range; vecbus searches at most 512 wide). */
function searchEf(raw: unknown, name: string): number | undefined {
  if (raw === undefined || raw === null) return undefined;
  const sp = asMap(raw, name);
  if (sp.params === undefined || sp.params === null) return undefined;
  const params = asMap(sp.params, `${name}.params`);
  return params.ef === undefined || params.ef === null ? undefined : optInt(params, "ef", 64, 1, 32768);
}

/**
 * `{metric_type?, params: {radius?, range_filter?}}`: a range search when
 * radius is given. Other params (nprobe, ...) tune index types vecbus does not
 * have, so they are ignored.
 */
function searchRange(metric: MetricType, raw: unknown, name: string): SearchRange | undefined {
  if (raw === undefined || raw === null) return undefined;
  const sp = asMap(raw, name);
  if (sp.metric_type !== undefined && sp.metric_type !== null && checkMetric(sp.metric_type) !== metric) {
    throw invalid(`${name}.metric_type ${String(sp.metric_type)} does not match the metric of the field's index, ${metric}`);
  }
  const params = sp.params === undefined || sp.params === null ? {} : asMap(sp.params, `${name}.params`);
  const radius = optNumber(params, `${name}.params`, "radius");
  const rangeFilter = optNumber(params, `${name}.params`, "range_filter");
  if (radius === undefined) {
    if (rangeFilter !== undefined) throw invalid(`${name}.params.range_filter needs a radius: a range search keeps the hits between the two`);
    return undefined;
  }
  if (rangeFilter === undefined) return { radius };
  checkRangeOrder(metric, radius, rangeFilter, `${name}.params`);
  return { radius, range_filter: rangeFilter };
}

function checkRangeOrder(metric: MetricType, radius: number, rangeFilter: number, name: string): void {
  const similarity = largerIsCloser(metric);
  if (similarity ? rangeFilter > radius : rangeFilter < radius) return;
  const rule = similarity
    ? `${metric} is a similarity (larger is closer), so range_filter must be greater than radius: the hits kept have radius < distance <= range_filter`
    : `L2 is a distance (smaller is closer), so range_filter must be less than radius: the hits kept have range_filter <= distance < radius`;
  throw invalid(`${name}: ${rule}; got radius ${radius} and range_filter ${rangeFilter}`);
}

function groupBy(meta: CollectionMeta, args: Args): { field: string; size: number } | undefined {
  const name = optString(args, "group_by_field");
  if (!name) return undefined;
  const field = meta.schema.fields.find((f) => f.name === name);
  if (!field) throw new VecbusError("FIELD_NOT_FOUND", `group_by_field "${name}" is not a field of "${meta.name}" (${describeFields(meta.schema)})`);
  if (!GROUPABLE.includes(field.type)) {
    throw invalid(`group_by_field "${name}" is a ${typeName(field)} field; search groups by ${GROUPABLE.join(", ")} fields only`);
  }
  // Exact search always fills each group with its best group_size hits, so strict_group_size need only be well-formed.
  optBool(args, "strict_group_size", false);
  return { field: name, size: optInt(args, "group_size", 1, 1, LIMITS.groupSizeMax) };
}

export async function query(core: ProxyCore, args: Args): Promise<Row[]> {
  const meta = await core.collection(args);
  const filter = withIds(meta, args, optFilter(args));
  if (countRequested(args)) {
    const parts = await core.allShards(meta, { kind: "query", filter, limit: 0, output_fields: [], count: true, ...(await core.readScope(meta, args)) });
    return [{ [COUNT_ALL]: parts.reduce((n, rows) => n + (rows[0][COUNT_ALL] as number), 0) }];
  }
  const { limit, offset } = queryPage(args, filter);
  const pk = primaryField(meta.schema).name;
  const msg = { kind: "query" as const, filter, limit: offset + limit, output_fields: rowFields(args), ...(await core.readScope(meta, args)) };
  return mergeRows(await core.allShards(meta, msg), pk, offset, limit);
}

/** query's `ids` (as pymilvus's query(ids=...)): the rows with those primary keys, and the filter's if both are given. */
function withIds(meta: CollectionMeta, args: Args, filter: string | undefined): string | undefined {
  if (args.ids === undefined || args.ids === null) return filter;
  const ids = checkIds(meta.schema, args.ids);
  return bothFilters(filter, `${primaryField(meta.schema).name} in ${formatLiteral(ids)}`);
}

/** `output_fields: ["count(*)"]` counts the matching rows instead of returning them; as in Milvus it cannot be paged. */
function countRequested(args: Args): boolean {
  const fields = optStringList(args, "output_fields");
  if (!fields.includes(COUNT_ALL)) return false;
  if (fields.length > 1) throw invalid(`"${COUNT_ALL}" must be the only output field; got ${JSON.stringify(fields)}`);
  if ((args.limit !== undefined && args.limit !== null) || optInt(args, "offset", 0, 0, LIMITS.topKMax) !== 0) {
    throw invalid(`"${COUNT_ALL}" counts every matching row: leave out limit and offset`);
  }
  return true;
}

/** Without a limit a query returns up to 16384 rows, and then an offset would have no window to page in. */
function queryPage(args: Args, filter: string | undefined): { limit: number; offset: number } {
  if (args.limit !== undefined && args.limit !== null) return page(args, LIMITS.topKMax);
  if (filter === undefined) throw invalid("query needs a `filter`, or a `limit` to read rows without one");
  if (optInt(args, "offset", 0, 0, LIMITS.topKMax) > 0) throw invalid("offset needs a limit: give both to page through the rows");
  return { limit: LIMITS.topKMax, offset: 0 };
}

/** Rows come back in the order of the ids asked for; missing ids are left out. */
export async function get(core: ProxyCore, args: Args): Promise<Row[]> {
  const meta = await core.collection(args);
  const ids = checkIds(meta.schema, args.ids);
  const pk = primaryField(meta.schema).name;
  const outputFields = rowFields(args);
  const scope = await core.readScope(meta, args);
  const groups = groupByShard(ids, (id) => id, meta.num_shards);
  const parts = await Promise.all([...groups].map(([shard, part]) => core.toShard(meta, shard, { kind: "get", ids: part, output_fields: outputFields, ...scope })));
  const byId = new Map<PrimaryKey, Row>();
  for (const row of parts.flat()) byId.set(row[pk] as PrimaryKey, row);
  return ids.flatMap((id) => (byId.has(id) ? [byId.get(id)!] : []));
}

/** query and get return every field unless output_fields names some, as MilvusClient does (an empty list names none). */
function rowFields(args: Args): string[] {
  const fields = args.output_fields === undefined || args.output_fields === null ? [] : optStringList(args, "output_fields");
  return fields.length === 0 ? ["*"] : fields;
}

function optNumber(m: Args, where: string, key: string): number | undefined {
  const v = m[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "number" || !Number.isFinite(v)) throw invalid(`${where}.${key} must be a number; got ${JSON.stringify(v)}`);
  return v;
}

function asMap(v: unknown, name: string): Args {
  if (typeof v !== "object" || v === null || Array.isArray(v)) throw invalid(`${name} must be a map`);
  return v as Args;
}

function invalid(message: string): VecbusError {
  return new VecbusError("INVALID_ARGUMENT", message);
}
