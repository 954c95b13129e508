// A sealed segment in memory: the rows a growing segment held when it was
// sealed, as columns (one Float32Array per vector field, one array per other
// field), with its keys (storage/segment-keys.ts): its rows never change,
// deletes since sealing only mark slots dead.
import { PARTITION_FIELD, partitionOf } from "../protocol/partitions.js";
import type { PrimaryKey, Row } from "../protocol/rows.js";
import { DYNAMIC_FIELD, primaryField, type CollectionSchema } from "../protocol/schema.js";
import type { DistanceFn } from "./distance.js";
import { Segment, type AnnIndex } from "./segment.js";
import { SegmentKeys } from "./segment-keys.js";
import { decodeSegment, encodeSegment, type SegmentColumns, type SegmentHead } from "./segment-format.js";

const SLOT = Symbol("slot");
/** Each segment's distinct partition labels, shared by every view of its columns. */
const LABELS = new WeakMap<SegmentColumns, ReadonlySet<string>>();

export class SealedSegment extends Segment {
  private readonly View: new (slot: number) => Row;

  /**
   * `dead`, on a query node, is the shard owner's list of dead slots as of
   * one request; without it the segment's own keys say which rows live.
   */
  constructor(
    readonly head: SegmentHead,
    private readonly columns: SegmentColumns,
    readonly keys: SegmentKeys = new SegmentKeys(columns.pk.values),
    private readonly dead?: { bitmap: Uint8Array; count: number },
    private readonly indexes?: ReadonlyMap<string, AnnIndex>,
  ) {
    super(columns.pk.field);
    this.View = rowView(columns);
  }

  /** Columns from a growing segment's live rows; every schema field, `$meta` with dynamic fields, and the partition label. */
  static fromRows(head: SegmentHead, schema: CollectionSchema, rows: Row[], timestamps: bigint[]): SealedSegment {
    const pk = primaryField(schema);
    const columns: SegmentColumns = {
      pk: { field: pk.name, type: pk.type === "VarChar" ? "VarChar" : "Int64", values: rows.map((r) => r[pk.name] as PrimaryKey) },
      timestamps: BigUint64Array.from(timestamps),
      scalars: new Map(),
      vectors: new Map(),
    };
    for (const f of schema.fields) {
      if (f.is_primary) continue;
      if (f.type !== "FloatVector") {
        columns.scalars.set(f.name, rows.map((r) => r[f.name] ?? null));
        continue;
      }
      const dim = f.dim!;
      const data = new Float32Array(rows.length * dim);
      rows.forEach((r, i) => data.set(r[f.name] as Float32Array, i * dim));
      columns.vectors.set(f.name, { dim, data });
    }
    if (schema.enable_dynamic_field) columns.scalars.set(DYNAMIC_FIELD, rows.map((r) => r[DYNAMIC_FIELD] ?? null));
    columns.scalars.set(PARTITION_FIELD, rows.map(partitionOf));
    return new SealedSegment(head, columns);
  }

  /** A blob's segment; `keys` carries the deletes of a segment already known under another form (a handoff reversed). */
  static decode(bytes: Uint8Array, keys?: SegmentKeys): SealedSegment {
    const { manifest, columns } = decodeSegment(bytes);
    const { segment_id, collection_id, shard, seq_from, seq_to } = manifest;
    return new SealedSegment({ segment_id, collection_id, shard, seq_from, seq_to }, columns, keys);
  }

  /** The same rows with the given slots dead instead of this segment's own deletes (shares the columns). */
  withDead(deadSlots: ArrayLike<number>): SealedSegment {
    if (deadSlots.length === 0 && !this.dead && this.keys.deletedCount === 0) return this;
    const bitmap = new Uint8Array(this.keys.slotCount);
    let count = 0;
    for (let i = 0; i < deadSlots.length; i++) {
      const s = deadSlots[i];
      if (s >= 0 && s < bitmap.length && bitmap[s] === 0) {
        bitmap[s] = 1;
        count++;
      }
    }
    return new SealedSegment(this.head, this.columns, this.keys, { bitmap, count }, this.indexes);
  }

  /** The same segment, searched through these vector indexes (by field) where they help. */
  withIndexes(indexes: ReadonlyMap<string, AnnIndex>): SealedSegment {
    return new SealedSegment(this.head, this.columns, this.keys, this.dead, indexes);
  }

  protected override annIndex(field: string): AnnIndex | undefined {
    return this.indexes?.get(field);
  }

  protected override partitionLabels(): ReadonlySet<string> {
    let labels = LABELS.get(this.columns);
    if (!labels) LABELS.set(this.columns, (labels = new Set(this.partitions as string[])));
    return labels;
  }

  encode(): ReturnType<typeof encodeSegment> {
    return encodeSegment(this.head, this.columns);
  }

  /** The partition label of every slot: what a shard owner keeps of a segment a query node serves. */
  get partitions(): unknown[] {
    return this.columns.scalars.get(PARTITION_FIELD)!;
  }

  get rowCount(): number {
    return this.dead ? this.keys.slotCount - this.dead.count : this.keys.liveCount;
  }

  get deletedCount(): number {
    return this.keys.deletedCount;
  }

  deletedPks(from: number, to: number): PrimaryKey[] {
    return this.keys.deletedPks(from, to);
  }

  delete(ids: PrimaryKey[]): number {
    return this.keys.delete(ids);
  }

  /** Rows at the given slots, live or not: a shard owner asks for slots it knows are live. */
  rowsAt(slots: number[], project: (row: Row) => Row): Row[] {
    return slots.filter((s) => s >= 0 && s < this.keys.slotCount).map((s) => project(this.rowAt(s)));
  }

  protected get slotCount(): number {
    return this.keys.slotCount;
  }

  protected isLive(slot: number): boolean {
    return this.dead ? this.dead.bitmap[slot] === 0 : this.keys.isLive(slot);
  }

  protected slotOf(pk: PrimaryKey): number | undefined {
    const slot = this.keys.liveSlot(pk);
    return slot !== undefined && this.isLive(slot) ? slot : undefined;
  }

  protected pkAt(slot: number): PrimaryKey {
    return this.columns.pk.values[slot];
  }

  protected rowAt(slot: number): Row {
    return new this.View(slot);
  }

  protected distanceTo(query: Float32Array, field: string, dist: DistanceFn): (slot: number) => number {
    const { dim, data } = this.columns.vectors.get(field)!;
    return (slot) => dist(query, data, slot * dim);
  }
}

/**
 * Rows as filters and projections read them, without copying a column:
 * a one-slot object whose prototype has a getter per column.
 */
function rowView(columns: SegmentColumns): new (slot: number) => Row {
  class View {
    [SLOT]: number;
    constructor(slot: number) {
      this[SLOT] = slot;
    }
  }
  const define = (name: string, read: (slot: number) => unknown) =>
    Object.defineProperty(View.prototype, name, {
      enumerable: true,
      get(this: View) {
        return read(this[SLOT]);
      },
    });
  define(columns.pk.field, (s) => columns.pk.values[s]);
  for (const [name, values] of columns.scalars) define(name, (s) => values[s]);
  for (const [name, { dim, data }] of columns.vectors) define(name, (s) => data.subarray(s * dim, (s + 1) * dim));
  return View as unknown as new (slot: number) => Row;
}
