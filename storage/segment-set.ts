// A shard's rows: the growing segment that takes writes and the sealed
// segments before it. Invariant: a primary key is live in at most one of
// them, so a write of a key that lives in a sealed segment marks it dead
// there (last write wins) and reads can simply add up what each segment sees.
import type { Hit } from "../protocol/api.js";
import type { GroupBy } from "../protocol/messages.js";
import type { PrimaryKey, Row } from "../protocol/rows.js";
import { primaryField, type CollectionSchema } from "../protocol/schema.js";
import { largerIsCloser } from "./distance.js";
import type { RowPredicate } from "./filter-eval.js";
import { GrowingSegment } from "./growing-segment.js";
import type { Projection } from "./projection.js";
import { hitOrder, mergedSearch, mergeRows } from "./reduce.js";
import { SealedSegment } from "./sealed-segment.js";
import type { Segment, SegmentSearch } from "./segment.js";
import type { SegmentHead } from "./segment-format.js";

export class SegmentSet {
  private readonly pkField: string;
  private growing: GrowingSegment;

  constructor(
    private readonly schema: CollectionSchema,
    private sealed: SealedSegment[],
  ) {
    this.pkField = primaryField(schema).name;
    this.growing = new GrowingSegment(this.pkField);
  }

  get rowCount(): number {
    return this.all().reduce((n, s) => n + s.rowCount, 0);
  }

  get growingSize(): number {
    return this.growing.size;
  }

  get sealedSegments(): readonly SealedSegment[] {
    return this.sealed;
  }

  insert(rows: Row[], ts: bigint): void {
    const ids = rows.map((r) => r[this.pkField] as PrimaryKey);
    for (const s of this.sealed) s.delete(ids);
    this.growing.insert(rows, ts);
  }

  delete(ids: PrimaryKey[]): number {
    return this.all().reduce((n, s) => n + s.delete(ids), 0);
  }

  /**
   * Turns the growing rows into a sealed segment (none when no row is live)
   * and starts an empty growing segment; sealed segments with no live row
   * left are dropped.
   */
  seal(head: SegmentHead): void {
    const { rows, timestamps } = this.growing.live();
    this.growing = new GrowingSegment(this.pkField);
    this.sealed = this.sealed.filter((s) => s.rowCount > 0);
    if (rows.length > 0) this.sealed.push(SealedSegment.fromRows(head, this.schema, rows, timestamps));
  }

  async search(req: SegmentSearch): Promise<Hit[][]> {
    const all = this.all();
    if (all.length === 1) return all[0].search(req);
    const g = req.groupBy;
    // A second-round request names its groups per query vector: each segment returns all it has of them.
    const limit = g?.values ? Math.max(0, ...g.values.map((v) => v.length)) : req.limit;
    const search = async (i: number, second?: GroupBy) => all[i].search(second ? { ...req, groupBy: second } : req);
    return mergedSearch(all.length, search, { order: hitOrder(largerIsCloser(req.metric)), offset: 0, limit, group: g });
  }

  count(filter?: RowPredicate): number {
    return this.all().reduce((n, s) => n + s.count(filter), 0);
  }

  query(project: Projection, limit: number, filter?: RowPredicate): Row[] {
    return mergeRows(
      this.all().map((s) => s.query(project, limit, filter)),
      this.pkField,
      0,
      limit,
    );
  }

  matchingIds(filter: RowPredicate): PrimaryKey[] {
    return this.all().flatMap((s) => s.matchingIds(filter));
  }

  /** Each key is live in one segment at most, so the rows come back once each, grouped by segment. */
  get(ids: PrimaryKey[], project: Projection): Row[] {
    return this.all().flatMap((s) => s.get(ids, project));
  }

  private all(): Segment[] {
    return [this.growing, ...this.sealed];
  }
}
