// The pure parts of search that segments and the proxy share: one ranking
// order for hits, range-search bounds, top-k with offset across shards, and
// group-by within a segment and across shards. No I/O beyond the callbacks
// `groupedSearch` and `mergedSearch` are given, so each piece is unit-tested on its own.
import type { Hit } from "../protocol/api.js";
import type { GroupBy, SearchRange } from "../protocol/messages.js";
import type { PrimaryKey, Row } from "../protocol/rows.js";
import type { MetricType } from "../protocol/schema.js";
import { largerIsCloser } from "./distance.js";
import type { Order } from "./topk.js";

/** The output field that makes `query` count rows instead of returning them. */
export const COUNT_ALL = "count(*)";

export interface Ranked {
  distance: number;
  id: PrimaryKey;
}

export function comparePk(a: PrimaryKey, b: PrimaryKey): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Best distance first; equal distances by primary key. Segments and the proxy
 * rank with this one total order, so merging their top-k lists is exact.
 */
export function hitOrder(largerIsBetter: boolean): Order<Ranked> {
  const ahead = largerIsBetter ? -1 : 1;
  return (a, b) => (a.distance < b.distance ? -ahead : a.distance > b.distance ? ahead : comparePk(a.id, b.id));
}

/** Milvus's range-search rule: L2 keeps range_filter <= d < radius; IP and COSINE keep radius < d <= range_filter. */
export function inRange(metric: MetricType, r: SearchRange): (d: number) => boolean {
  const inner = r.range_filter;
  return largerIsCloser(metric)
    ? (d) => d > r.radius && (inner === undefined || d <= inner)
    : (d) => d < r.radius && (inner === undefined || d >= inner);
}

/** One query vector's hits from every shard (each shard sent its top offset + limit) → ranks offset..offset+limit-1. */
export function mergeTop<T extends Ranked>(lists: T[][], order: Order<Ranked>, offset: number, limit: number): T[] {
  return lists.flat().sort(order).slice(offset, offset + limit);
}

/** Rows from several sources (shards, segments), each in primary-key order → ranks offset..offset+limit-1 in primary-key order. */
export function mergeRows(parts: Row[][], pkField: string, offset: number, limit: number): Row[] {
  return parts
    .flat()
    .sort((a, b) => comparePk(a[pkField] as PrimaryKey, b[pkField] as PrimaryKey))
    .slice(offset, offset + limit);
}

/**
 * Walks items best first: a new key opens a group while fewer than `groups`
 * are open, and a group keeps its first `size` items. Groups come out ordered
 * by their best item.
 */
export function groupTop<T>(sorted: T[], key: (t: T) => unknown, groups: number, size: number): T[][] {
  const open = new Map<unknown, T[]>();
  for (const t of sorted) {
    const k = key(t);
    const g = open.get(k);
    if (g) {
      if (g.length < size) g.push(t);
    } else if (open.size < groups) {
      open.set(k, [t]);
    }
  }
  return [...open.values()];
}

export interface GroupWindow {
  /** The group a hit belongs to: its value of the group-by field. */
  key: (h: Hit) => unknown;
  order: Order<Ranked>;
  offset: number;
  limit: number;
  size: number;
}

/**
 * Cross-shard group-by for one query vector; each shard sent its best
 * offset + limit groups, flattened. The choice of groups is then exact: a
 * group's best hit is always in its shard's reply, else that shard alone has
 * offset + limit better groups. But a shard that filled its quota may hold
 * members of a chosen group that it did not send; `ask[s]` lists the chosen
 * groups shard s may still improve.
 */
export function reduceGroups(perShard: Hit[][], w: GroupWindow): { groups: Hit[][]; ask: unknown[][] } {
  const want = w.offset + w.limit;
  const groups = groupTop(perShard.flat().sort(w.order), w.key, want, w.size).slice(w.offset);
  const ask = perShard.map((hits) => {
    const sent = groupTop(hits, w.key, Infinity, Infinity);
    return sent.length < want ? [] : unsentGroups(sent, groups, w);
  });
  return { groups, ask };
}

function unsentGroups(sent: Hit[][], chosen: Hit[][], w: GroupWindow): unknown[] {
  const keys = new Set(sent.map((g) => w.key(g[0])));
  // Whatever the shard holds of a group it did not send ranks after the best hit of its last group sent.
  const bar = sent[sent.length - 1][0];
  return chosen.filter((g) => !keys.has(w.key(g[0])) && (g.length < w.size || w.order(g[g.length - 1], bar) > 0)).map((g) => w.key(g[0]));
}

/**
 * Adds second-round hits to their groups, keeping each group's best `size`;
 * group order stays (their best hits cannot change). A row the first round
 * returned already is not added again: between the rounds it may have been
 * rewritten into another group.
 */
export function fillGroups(groups: Hit[][], extra: Hit[], w: GroupWindow): Hit[][] {
  if (extra.length === 0) return groups;
  const byKey = new Map(groups.map((g) => [w.key(g[0]), [...g]]));
  const seen = new Set(groups.flat().map((h) => h.id));
  for (const h of extra) {
    if (seen.has(h.id)) continue;
    seen.add(h.id);
    byKey.get(w.key(h))?.push(h);
  }
  return [...byKey.values()].map((g) => g.sort(w.order).slice(0, w.size));
}

/**
 * A group-by search over `shards`: a first round asks every shard for its
 * best groups, a second asks only the shards that may hold more members of
 * the chosen groups, for those groups alone. Returns, per query vector, the
 * chosen groups' hits flattened, groups in order.
 */
export async function groupedSearch(
  shards: number,
  search: (shard: number, values?: unknown[][]) => Promise<Hit[][]>,
  w: GroupWindow,
): Promise<Hit[][]> {
  const all = Array.from({ length: shards }, (_, s) => s);
  const first = await Promise.all(all.map((s) => search(s)));
  const reduced = first[0].map((_, q) => reduceGroups(first.map((r) => r[q]), w));
  const second = await Promise.all(
    all.map((s) => {
      const values = reduced.map((r) => r.ask[s]);
      return values.some((v) => v.length > 0) ? search(s, values) : Promise.resolve(undefined);
    }),
  );
  return reduced.map((r, q) => fillGroups(r.groups, second.flatMap((hits) => hits?.[q] ?? []), w).flat());
}

export interface MergeWindow {
  order: Order<Ranked>;
  offset: number;
  limit: number;
  group?: GroupBy;
}

/**
 * A search over several sources that rank with one order — the shards of a
 * collection, or the segments of a shard: each sends its best offset + limit
 * hits (or groups), merged by a top-k, or by `groupedSearch`'s two rounds;
 * `search` gets the second round's group-by, naming the groups it asks for.
 */
export async function mergedSearch(sources: number, search: (source: number, secondRound?: GroupBy) => Promise<Hit[][]>, w: MergeWindow): Promise<Hit[][]> {
  const group = w.group;
  if (group) {
    const window = { key: (h: Hit) => h.entity[group.field], order: w.order, offset: w.offset, limit: w.limit, size: group.size };
    return groupedSearch(sources, (s, values) => search(s, values && { ...group, values }), window);
  }
  const per = await Promise.all(Array.from({ length: sources }, (_, s) => search(s)));
  return per[0].map((_, q) => mergeTop(per.map((r) => r[q]), w.order, w.offset, w.limit));
}

/**
 * A search over the segments one node answers for (a shard owner's, a query
 * node's). A request that names its groups (a second round from above) asks
 * each segment for all it has of them, as many as the longest list names.
 */
export function segmentsSearch(
  sources: number,
  search: (source: number, secondRound?: GroupBy) => Promise<Hit[][]>,
  w: { metric: MetricType; limit: number; group?: GroupBy },
): Promise<Hit[][]> {
  const g = w.group;
  if (sources === 1 && !g?.values) return search(0);
  const limit = g?.values ? Math.max(0, ...g.values.map((v) => v.length)) : w.limit;
  return mergedSearch(sources, search, { order: hitOrder(largerIsCloser(w.metric)), offset: 0, limit, group: g });
}
