// An independent model of a shard's rows for storage tests: a plain map from
// primary key to the row last written, and every read written out the slow
// way from Milvus's definitions (brute-force distances, sort + slice, grouping,
// range bounds). It imports nothing from engine/ or storage/, so it can judge them.
import assert from "node:assert/strict";
import type { Hit } from "../../protocol/api.js";
import type { PrimaryKey, Row } from "../../protocol/rows.js";
import type { MetricType } from "../../protocol/schema.js";

/** Milvus's distances: L2 is the squared Euclidean distance; IP the dot product; COSINE the dot product of the normalised vectors. */
export function refDistance(metric: MetricType, a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length, "vectors of one dimension");
  let dot = 0;
  let aa = 0;
  let bb = 0;
  let l2 = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i] * b[i];
    aa += a[i] * a[i];
    bb += b[i] * b[i];
    l2 += (a[i] - b[i]) ** 2;
  }
  if (metric === "L2") return l2;
  if (metric === "IP") return dot;
  return aa === 0 || bb === 0 ? 0 : dot / (Math.sqrt(aa) * Math.sqrt(bb));
}

/** Best first: smallest L2, largest IP / COSINE; equal distances by primary key, smaller first. */
export function refRank<T extends { distance: number; id: PrimaryKey }>(metric: MetricType, items: T[]): T[] {
  const sign = metric === "L2" ? 1 : -1;
  return [...items].sort((x, y) => (x.distance !== y.distance ? sign * (x.distance - y.distance) : x.id < y.id ? -1 : x.id > y.id ? 1 : 0));
}

/** Milvus's range search: L2 keeps range_filter <= d < radius; IP and COSINE keep radius < d <= range_filter. */
export function refInRange(metric: MetricType, radius: number, rangeFilter?: number): (d: number) => boolean {
  if (metric === "L2") return (d) => d < radius && (rangeFilter === undefined || d >= rangeFilter);
  return (d) => d > radius && (rangeFilter === undefined || d <= rangeFilter);
}

/**
 * Group-by the slow way over hits best first: the first `groups` distinct
 * keys open groups, each keeps its first `size` hits; groups in the order
 * they opened, flattened.
 */
export function refGroups<T>(ranked: T[], key: (t: T) => unknown, groups: number, size: number): T[] {
  const opened: unknown[] = [];
  const members = new Map<unknown, T[]>();
  for (const t of ranked) {
    const k = key(t);
    if (!members.has(k)) {
      if (opened.length >= groups) continue;
      opened.push(k);
      members.set(k, []);
    }
    const m = members.get(k)!;
    if (m.length < size) m.push(t);
  }
  return opened.flatMap((k) => members.get(k)!);
}

export interface RefSearch {
  query: Float32Array;
  field: string;
  metric: MetricType;
  limit: number;
  filter?: (row: Row) => boolean;
  partitions?: string[];
  range?: { radius: number; range_filter?: number };
  /** With `values`: only those groups, every one of them (a second round's request). */
  groupBy?: { field: string; size: number; values?: unknown[] };
}

/** The rows of one shard as a map, fed the same writes as the code under test. */
export class RefStore {
  readonly rows = new Map<PrimaryKey, Row>();

  /** `entity` is what an output_fields ["*"] reply carries for a stored row. */
  constructor(
    private readonly pkField: string,
    private readonly entity: (row: Row) => Row,
  ) {}

  /** Last write wins. */
  insert(rows: Row[]): void {
    for (const row of rows) this.rows.set(row[this.pkField] as PrimaryKey, row);
  }

  /** How many of the keys were live. */
  delete(ids: PrimaryKey[]): number {
    let n = 0;
    for (const id of ids) if (this.rows.delete(id)) n++;
    return n;
  }

  /** Live rows passing the filter, in the given partitions (all when undefined). */
  scoped(filter?: (row: Row) => boolean, partitions?: string[]): Row[] {
    return [...this.rows.values()].filter((row) => (!partitions || partitions.includes(partitionOf(row))) && (!filter || filter(row)));
  }

  /** One query vector's hits. */
  search(s: RefSearch): Hit[] {
    const keep = s.range ? refInRange(s.metric, s.range.radius, s.range.range_filter) : () => true;
    const g = s.groupBy;
    const scored = this.scoped(s.filter, s.partitions)
      .filter((row) => !g?.values || g.values.includes(row[g.field]))
      .map((row) => ({ id: row[this.pkField] as PrimaryKey, distance: refDistance(s.metric, s.query, row[s.field] as Float32Array), row }))
      .filter((h) => keep(h.distance));
    const ranked = refRank(s.metric, scored);
    const picked = g ? refGroups(ranked, (h) => h.row[g.field], g.values ? g.values.length : s.limit, g.size) : ranked.slice(0, s.limit);
    return picked.map(({ id, distance, row }) => ({ id, distance, entity: this.entity(row) }));
  }

  /** Rows in scope in primary-key order, the first `limit`. */
  query(limit: number, filter?: (row: Row) => boolean, partitions?: string[]): Row[] {
    const pk = (row: Row) => row[this.pkField] as PrimaryKey;
    return this.scoped(filter, partitions)
      .sort((a, b) => (pk(a) < pk(b) ? -1 : pk(a) > pk(b) ? 1 : 0))
      .slice(0, limit)
      .map(this.entity);
  }

  get(ids: PrimaryKey[], partitions?: string[]): Row[] {
    return ids.flatMap((id) => {
      const row = this.rows.get(id);
      return row && (!partitions || partitions.includes(partitionOf(row))) ? [this.entity(row)] : [];
    });
  }
}

/** The partition a stored row was written to: its `$partition` label, `_default` without one. */
export function partitionOf(row: Row): string {
  return (row.$partition as string | undefined) ?? "_default";
}

/**
 * Distances from two independent computations agree to float rounding:
 * vecbus scores in float32 (usearch's kernel, as Milvus does), this
 * reference in float64, so they agree to float32's precision.
 */
export function near(a: number, b: number): boolean {
  return Math.abs(a - b) <= 1e-5 * Math.max(1, Math.abs(a), Math.abs(b));
}

/**
 * Hits against the reference's: the same number, distances equal to float
 * rounding position by position, and the same ids with the same entities
 * wherever the reference's distances are separated. Within a run of
 * (near-)equal distances the two sides may rank differently, so a run
 * compares as a set — except a run at the end of the list, where the cut
 * itself may fall differently: there only the distances are compared.
 */
export function assertSameHits(got: Hit[], want: Hit[], where: string): void {
  const ids = (hs: Hit[]) => hs.map((h) => h.id);
  assert.equal(got.length, want.length, `${where}: hit count (got ${ids(got)}, want ${ids(want)})`);
  got.forEach((h, i) =>
    assert.ok(near(h.distance, want[i].distance), `${where}: distance at rank ${i}: got ${h.id} at ${h.distance}, want ${want[i].id} at ${want[i].distance}`),
  );
  for (let a = 0; a < want.length; ) {
    let b = a + 1;
    while (b < want.length && near(want[b - 1].distance, want[b].distance)) b++;
    if (b - a === 1 || b < want.length) {
      const byId = (hs: Hit[]) => hs.map(({ id, entity }) => ({ id, entity })).sort((x, y) => (x.id < y.id ? -1 : x.id > y.id ? 1 : 0));
      assert.deepEqual(byId(got.slice(a, b)), byId(want.slice(a, b)), `${where}: ranks ${a}..${b - 1}`);
    }
    a = b;
  }
}
