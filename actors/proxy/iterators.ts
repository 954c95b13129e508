// query_iterator and search_iterator (pymilvus's QueryIterator and
// SearchIterator) as a cursor API: each call returns one batch and the
// cursor for the next, and the cursor carries the whole state, so any proxy
// (one restarted meanwhile, another in the queue group) continues it.
// Queries page by primary key (rows come in key order); searches page by
// distance, with the ids already returned at the last distance left out.
// Like the rest of vecbus (and unlike Milvus) there is no snapshot: a batch
// sees the writes acknowledged before it, as its consistency level says.
import type { Hit } from "../../protocol/api.js";
import { bothFilters, optFilter, optInt, type Args } from "../../protocol/args.js";
import { LIMITS, type CollectionMeta } from "../../protocol/collection.js";
import { VecbusError } from "../../protocol/errors.js";
import { formatLiteral } from "../../protocol/filter/ast.js";
import { isMap } from "../../protocol/check.js";
import { fieldMetric } from "../../protocol/indexes.js";
import { checkIds, type PrimaryKey, type Row } from "../../protocol/rows.js";
import { primaryField, vectorFields } from "../../protocol/schema.js";
import { largerIsCloser } from "../../engine/distance.js";
import type { ProxyCore } from "./core.js";
import { query, search } from "./reads.js";

/** The state of a query iterator between batches. */
export interface QueryCursor {
  last_pk: PrimaryKey;
  returned: number;
}

/** The state of a search iterator between batches: the last distance returned and the ids returned at it. */
export interface SearchCursor {
  distance: number;
  ids: PrimaryKey[];
  returned: number;
}

export async function queryIterator(core: ProxyCore, args: Args): Promise<{ rows: Row[]; cursor: QueryCursor | null }> {
  const meta = await core.collection(args);
  const pk = primaryField(meta.schema).name;
  const { cursor, returned, take, limit } = nextBatch(args, (raw) => checkQueryCursor(meta, raw));
  if (take <= 0) return { rows: [], cursor: null };
  const after = cursor === undefined ? undefined : `${pk} > ${formatLiteral(cursor.last_pk)}`;
  const filter = bothFilters(optFilter(args), after);
  const { cursor: _c, batch_size: _b, limit: _l, expr: _e, ...rest } = args;
  const rows = await query(core, { ...rest, filter, limit: take, offset: 0 });
  const done = rows.length < take || returned + rows.length >= limit;
  return { rows, cursor: done ? null : { last_pk: rows[rows.length - 1][pk] as PrimaryKey, returned: returned + rows.length } };
}

export async function searchIterator(core: ProxyCore, args: Args): Promise<{ hits: Hit[]; cursor: SearchCursor | null }> {
  const meta = await core.collection(args);
  if (!Array.isArray(args.data) || args.data.length !== 1) throw invalid("search_iterator takes one query vector in `data`");
  const pk = primaryField(meta.schema).name;
  const { cursor, returned, take, limit } = nextBatch(args, (raw) => checkSearchCursor(meta, raw));
  if (take <= 0) return { hits: [], cursor: null };
  const field = typeof args.anns_field === "string" ? args.anns_field : vectorFields(meta.schema)[0]?.name;
  const larger = largerIsCloser(fieldMetric(meta, field));
  const { cursor: _c, batch_size: _b, limit: _l, offset: _o, expr: _e, ...rest } = args;
  let filter = optFilter(args);
  let searchParams = rest.search_params;
  if (cursor) {
    // From the last distance on (it included), without the ids already returned at it.
    const beyond = Number.MAX_VALUE;
    const sp = isMap(searchParams) ? searchParams : {};
    const params = isMap(sp.params) ? sp.params : {};
    // A radius the caller gave still bounds the far side.
    searchParams = { ...sp, params: { ...params, radius: params.radius ?? (larger ? -beyond : beyond), range_filter: cursor.distance } };
    if (cursor.ids.length > 0) filter = bothFilters(filter, `${pk} not in ${formatLiteral(cursor.ids)}`);
  }
  const hits = (await search(core, { ...rest, filter, search_params: searchParams, limit: take }))[0];
  if (hits.length < take || returned + hits.length >= limit) return { hits, cursor: null };
  const last = hits[hits.length - 1].distance;
  const atLast = hits.filter((h) => h.distance === last).map((h) => h.id);
  const carried = cursor && cursor.distance === last ? cursor.ids : [];
  return { hits, cursor: { distance: last, ids: [...carried, ...atLast], returned: returned + hits.length } };
}

/**
 * Where a batch stands: the cursor sent (checked by `check`), the rows
 * returned before it, and how many it takes: batch_size (1–16384, default
 * 1000, as pymilvus), no more than limit (absent or -1: every row) allows.
 */
function nextBatch<C extends { returned: number }>(args: Args, check: (raw: unknown) => C): { cursor: C | undefined; returned: number; take: number; limit: number } {
  const batch = optInt(args, "batch_size", 1000, 1, LIMITS.topKMax);
  const given = optInt(args, "limit", -1, -1, Number.MAX_SAFE_INTEGER);
  if (given === 0) throw invalid("limit must be -1 (every row) or at least 1");
  const limit = given === -1 ? Number.MAX_SAFE_INTEGER : given;
  const cursor = args.cursor === undefined || args.cursor === null ? undefined : check(args.cursor);
  const returned = cursor?.returned ?? 0;
  return { cursor, returned, take: Math.min(batch, limit - returned), limit };
}

function checkQueryCursor(meta: CollectionMeta, raw: unknown): QueryCursor {
  if (!isMap(raw)) throw invalid("cursor must be the map the previous batch returned");
  const [last_pk] = checkIds(meta.schema, [raw.last_pk]);
  return { last_pk, returned: optInt(raw, "returned", 0, 0, Number.MAX_SAFE_INTEGER) };
}

function checkSearchCursor(meta: CollectionMeta, raw: unknown): SearchCursor {
  if (!isMap(raw) || typeof raw.distance !== "number" || !Number.isFinite(raw.distance)) throw invalid("cursor must be the map the previous batch returned");
  const ids = Array.isArray(raw.ids) && raw.ids.length > 0 ? checkIds(meta.schema, raw.ids) : [];
  if (ids.length > LIMITS.topKMax) throw invalid(`cursor.ids holds more than ${LIMITS.topKMax} ids`);
  return { distance: raw.distance, ids, returned: optInt(raw, "returned", 0, 0, Number.MAX_SAFE_INTEGER) };
}

function invalid(message: string): VecbusError {
  return new VecbusError("INVALID_ARGUMENT", message);
}
