// The in-memory segment a shard owner applies its WAL to. Rows are keyed by
// primary key: a later insert of the same key replaces the row (last write
// wins, in WAL order), which is also what makes upsert and replay idempotent.
import type { Hit } from "../protocol/api.js";
import type { PrimaryKey, Row } from "../protocol/rows.js";
import type { MetricType } from "../protocol/schema.js";
import { distanceFn, largerIsCloser } from "./distance.js";
import type { RowPredicate } from "./filter-eval.js";
import type { Projection } from "./projection.js";
import { scoreOrder, TopK } from "./topk.js";

interface Stored {
  row: Row;
  ts: bigint;
}

export class GrowingSegment {
  private readonly rows = new Map<PrimaryKey, Stored>();

  constructor(
    private readonly pkField: string,
    private readonly vectorField: string,
  ) {}

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
  search(queries: Float32Array[], limit: number, metric: MetricType, project: Projection, filter?: RowPredicate): Hit[][] {
    const dist = distanceFn(metric);
    const order = scoreOrder(largerIsCloser(metric));
    const tops = queries.map(() => new TopK<Row>(limit, order));
    for (const { row } of this.rows.values()) {
      if (filter && !filter(row)) continue;
      const v = row[this.vectorField] as Float32Array;
      for (let q = 0; q < queries.length; q++) tops[q].offer(dist(queries[q], v), row);
    }
    return tops.map((t) =>
      t.sorted().map(({ score, item }) => ({ id: item[this.pkField] as PrimaryKey, distance: score, entity: project(item) })),
    );
  }

  /** Rows passing the filter in primary-key order, at most `limit`. */
  query(project: Projection, limit: number, filter?: RowPredicate): Row[] {
    const hits: Row[] = [];
    for (const { row } of this.rows.values()) if (!filter || filter(row)) hits.push(row);
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
}

export function comparePk(a: PrimaryKey, b: PrimaryKey): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
