// What every segment answers — search, query, get, count, matching ids —
// written once over numbered row slots. A segment only says how its slots
// are stored (a row map per slot while growing, columns once sealed) and
// which are live; a deleted row keeps its slot, dead.
import type { Hit } from "../protocol/api.js";
import type { GroupBy, SearchRange } from "../protocol/messages.js";
import type { PrimaryKey, Row } from "../protocol/rows.js";
import type { MetricType } from "../protocol/schema.js";
import { distanceFn, largerIsCloser, type DistanceFn } from "./distance.js";
import type { RowPredicate } from "./filter-eval.js";
import type { Projection } from "./projection.js";
import { comparePk, groupTop, hitOrder, inRange, type Ranked } from "./reduce.js";
import { TopK, type Order } from "./topk.js";
import { annSearch } from "./ann-search.js";
import { EF_DEFAULT } from "./vector-index.js";

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
  /** HNSW search breadth where a vector index is used. */
  ef?: number;
}

/** A vector index over a segment's slots (storage/vector-index.ts). */
export interface AnnIndex {
  /** Up to k slots, nearest first, searched with breadth ef. */
  search(query: Float32Array, k: number, ef: number): ArrayLike<number>;
}

interface Candidate extends Ranked {
  slot: number;
}

export abstract class Segment {
  constructor(protected readonly pkField: string) {}

  /** Live rows. */
  abstract get rowCount(): number;

  /** Marks the keys' rows dead; returns how many were live here. */
  abstract delete(ids: PrimaryKey[]): number;

  protected abstract get slotCount(): number;
  protected abstract isLive(slot: number): boolean;
  /** The live slot holding a key, if any. */
  protected abstract slotOf(pk: PrimaryKey): number | undefined;
  protected abstract pkAt(slot: number): PrimaryKey;
  /** The row as filters and projections read it. */
  protected abstract rowAt(slot: number): Row;
  /** Scores slots against one query vector. */
  protected abstract distanceTo(query: Float32Array, field: string, dist: DistanceFn): (slot: number) => number;

  /**
   * With a vector index on the field, a plain top-k goes through annSearch
   * (exact over the passing rows when few pass, else the index with
   * oversampling); group-by and range searches, and segments without an
   * index, score every live row that passes the filter.
   */
  search(req: SegmentSearch): Hit[][] {
    const slots = this.matching(req.filter);
    const order = hitOrder(largerIsCloser(req.metric));
    const index = req.groupBy || req.range ? undefined : this.annIndex(req.field);
    const ef = req.ef ?? EF_DEFAULT;
    return req.queries.map((query, q) => {
      const picked = req.groupBy
        ? this.bestGroups(slots, query, req, req.groupBy, q, order)
        : index
          ? annSearch({
              // Only a share of the candidates pass the filter: search as much wider, up to 4×, to keep recall.
              candidates: (k) => index.search(query, k, ef * Math.min(4, Math.max(1, this.slotCount / Math.max(1, slots.length)))),
              slotCount: this.slotCount,
              passing: slots,
              limit: req.limit,
              rank: (some) => this.best(some, query, req, order),
            }).hits
          : this.best(slots, query, req, order);
      return picked.map((c) => ({ id: c.id, distance: c.distance, entity: req.project(this.rowAt(c.slot)) }));
    });
  }

  count(filter?: RowPredicate): number {
    return filter ? this.matching(filter).length : this.rowCount;
  }

  /** Rows passing the filter in primary-key order, at most `limit`. */
  query(project: Projection, limit: number, filter?: RowPredicate): Row[] {
    const slots = this.matching(filter);
    slots.sort((a, b) => comparePk(this.pkAt(a), this.pkAt(b)));
    return slots.slice(0, limit).map((s) => project(this.rowAt(s)));
  }

  matchingIds(filter: RowPredicate): PrimaryKey[] {
    return this.matching(filter).map((s) => this.pkAt(s));
  }

  get(ids: PrimaryKey[], project: Projection): Row[] {
    const out: Row[] = [];
    for (const id of ids) {
      const slot = this.slotOf(id);
      if (slot !== undefined) out.push(project(this.rowAt(slot)));
    }
    return out;
  }

  /** The segment's index of a vector field, if it has one loaded. */
  protected annIndex(_field: string): AnnIndex | undefined {
    return undefined;
  }

  private best(slots: ArrayLike<number>, query: Float32Array, req: SegmentSearch, order: Order<Ranked>): Candidate[] {
    const top = new TopK<Candidate>(req.limit, order);
    this.score(slots, query, req, (c) => top.offer(c));
    return top.sorted();
  }

  /** Groups need the whole ranking: a group's members can be anywhere in it. */
  private bestGroups(slots: number[], query: Float32Array, req: SegmentSearch, g: GroupBy, q: number, order: Order<Ranked>): Candidate[] {
    const only = g.values && new Set(g.values[q]);
    const groupOf = (slot: number) => this.rowAt(slot)[g.field];
    const ranked: Candidate[] = [];
    this.score(only ? slots.filter((s) => only.has(groupOf(s))) : slots, query, req, (c) => ranked.push(c));
    return groupTop(ranked.sort(order), (c) => groupOf(c.slot), only ? only.size : req.limit, g.size).flat();
  }

  /** Visits every slot within the search's range with its distance to the query. */
  private score(slots: ArrayLike<number>, query: Float32Array, req: SegmentSearch, visit: (c: Candidate) => void): void {
    const distance = this.distanceTo(query, req.field, distanceFn(req.metric));
    const keep = req.range ? inRange(req.metric, req.range) : () => true;
    for (let i = 0; i < slots.length; i++) {
      const slot = slots[i];
      const d = distance(slot);
      if (keep(d)) visit({ distance: d, id: this.pkAt(slot), slot });
    }
  }

  private matching(filter?: RowPredicate): number[] {
    const out: number[] = [];
    const n = this.slotCount;
    for (let s = 0; s < n; s++) if (this.isLive(s) && (!filter || filter(this.rowAt(s)))) out.push(s);
    return out;
  }
}
