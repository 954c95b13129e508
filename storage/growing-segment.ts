// The in-memory segment a shard owner applies its WAL to. Rows are keyed by
// primary key: a later insert of the same key replaces the row (last write
// wins, in WAL order), which is also what makes upsert and replay idempotent.
import type { Hit } from "../protocol/api.js";
import type { GroupBy, SearchRange } from "../protocol/messages.js";
import type { PrimaryKey, Row } from "../protocol/rows.js";
import type { MetricType } from "../protocol/schema.js";
import { distanceFn, largerIsCloser } from "./distance.js";
import type { RowPredicate } from "./filter-eval.js";
import type { Projection } from "./projection.js";
import { comparePk, groupTop, hitOrder, inRange, type Ranked } from "./reduce.js";
import { TopK, type Order } from "./topk.js";

interface Stored {
  row: Row;
  ts: bigint;
}

export interface SegmentSearch {
  queries: Float32Array[];
  /** The vector field searched. */
  field: string;
  metric: MetricType;
  /** Hits per query vector, or groups per query vector with groupBy. */
  limit: number;
  project: Projection;
  filter?: RowPredicate;
  range?: SearchRange;
  groupBy?: GroupBy;
}

interface Candidate extends Ranked {
  row: Row;
}

export class GrowingSegment {
  private readonly rows = new Map<PrimaryKey, Stored>();

  constructor(private readonly pkField: string) {}

  get rowCount(): number {
    return this.rows.size;
  }

  insert(rows: Row[], ts: bigint): void {
    for (const row of rows) this.rows.set(row[this.pkField] as PrimaryKey, { row, ts });
  }

  /** Removes the given keys; returns how many were present. */
  delete(ids: PrimaryKey[]): number {
    let n = 0;
    for (const id of ids) if (this.rows.delete(id)) n++;
    return n;
  }

  /** Exact search: every live row that passes the filter is scored. */
  search(req: SegmentSearch): Hit[][] {
    const rows = this.matching(req.filter);
    const order = hitOrder(largerIsCloser(req.metric));
    return req.queries.map((query, q) => {
      const picked = req.groupBy ? this.bestGroups(rows, query, req, req.groupBy, q, order) : this.best(rows, query, req, order);
      return picked.map((c) => ({ id: c.id, distance: c.distance, entity: req.project(c.row) }));
    });
  }

  count(filter?: RowPredicate): number {
    return filter ? this.matching(filter).length : this.rows.size;
  }

  /** Rows passing the filter in primary-key order, at most `limit`. */
  query(project: Projection, limit: number, filter?: RowPredicate): Row[] {
    const hits = this.matching(filter);
    hits.sort((a, b) => comparePk(a[this.pkField] as PrimaryKey, b[this.pkField] as PrimaryKey));
    return hits.slice(0, limit).map(project);
  }

  matchingIds(filter: RowPredicate): PrimaryKey[] {
    const ids: PrimaryKey[] = [];
    for (const [id, { row }] of this.rows) if (filter(row)) ids.push(id);
    return ids;
  }

  get(ids: PrimaryKey[], project: Projection): Row[] {
    const out: Row[] = [];
    for (const id of ids) {
      const s = this.rows.get(id);
      if (s) out.push(project(s.row));
    }
    return out;
  }

  private best(rows: Row[], query: Float32Array, req: SegmentSearch, order: Order<Ranked>): Candidate[] {
    const top = new TopK<Candidate>(req.limit, order);
    this.score(rows, query, req, (c) => top.offer(c));
    return top.sorted();
  }

  /** Groups need the whole ranking: a group's members can be anywhere in it. */
  private bestGroups(rows: Row[], query: Float32Array, req: SegmentSearch, g: GroupBy, q: number, order: Order<Ranked>): Candidate[] {
    const only = g.values && new Set(g.values[q]);
    const ranked: Candidate[] = [];
    this.score(only ? rows.filter((r) => only.has(r[g.field])) : rows, query, req, (c) => ranked.push(c));
    return groupTop(ranked.sort(order), (c) => c.row[g.field], only ? only.size : req.limit, g.size).flat();
  }

  /** Visits every row within the search's range with its distance to the query. */
  private score(rows: Row[], query: Float32Array, req: SegmentSearch, visit: (c: Candidate) => void): void {
    const dist = distanceFn(req.metric);
    const keep = req.range ? inRange(req.metric, req.range) : () => true;
    for (const row of rows) {
      const distance = dist(query, row[req.field] as Float32Array);
      if (keep(distance)) visit({ distance, id: row[this.pkField] as PrimaryKey, row });
    }
  }

  private matching(filter?: RowPredicate): Row[] {
    const out: Row[] = [];
    for (const { row } of this.rows.values()) if (!filter || filter(row)) out.push(row);
    return out;
  }
}
