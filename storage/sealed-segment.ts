// A sealed segment in memory: the rows a growing segment held when it was
// sealed, as columns (one Float32Array per vector field, one array per other
// field), with a primary-key index. Its rows never change; deletes since
// sealing only mark slots dead, and are remembered in the order they came so
// that each flush can log the ones the previous flush did not.
import { PARTITION_FIELD, partitionOf } from "../protocol/partitions.js";
import type { PrimaryKey, Row } from "../protocol/rows.js";
import { DYNAMIC_FIELD, primaryField, type CollectionSchema } from "../protocol/schema.js";
import type { DistanceFn } from "./distance.js";
import { Segment } from "./segment.js";
import { decodeSegment, encodeSegment, type SegmentColumns, type SegmentHead } from "./segment-format.js";

const SLOT = Symbol("slot");

export class SealedSegment extends Segment {
  private readonly index = new Map<PrimaryKey, number>();
  private readonly dead: Uint8Array;
  private readonly deletions: number[] = [];
  private readonly View: new (slot: number) => Row;

  constructor(
    readonly head: SegmentHead,
    private readonly columns: SegmentColumns,
  ) {
    super(columns.pk.field);
    columns.pk.values.forEach((pk, slot) => this.index.set(pk, slot));
    this.dead = new Uint8Array(columns.pk.values.length);
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

  static decode(bytes: Uint8Array): SealedSegment {
    const { manifest, columns } = decodeSegment(bytes);
    const { segment_id, collection_id, shard, seq_from, seq_to } = manifest;
    return new SealedSegment({ segment_id, collection_id, shard, seq_from, seq_to }, columns);
  }

  encode(): ReturnType<typeof encodeSegment> {
    return encodeSegment(this.head, this.columns);
  }

  get rowCount(): number {
    return this.dead.length - this.deletions.length;
  }

  /** Deletes since sealing; `deletedPks(a, b)` names the a-th to (b-1)-th of them. */
  get deletedCount(): number {
    return this.deletions.length;
  }

  deletedPks(from: number, to: number): PrimaryKey[] {
    return this.deletions.slice(from, to).map((s) => this.pkAt(s));
  }

  delete(ids: PrimaryKey[]): number {
    let n = 0;
    for (const id of ids) {
      const slot = this.index.get(id);
      if (slot === undefined || this.dead[slot]) continue;
      this.dead[slot] = 1;
      this.deletions.push(slot);
      n++;
    }
    return n;
  }

  protected get slotCount(): number {
    return this.dead.length;
  }

  protected isLive(slot: number): boolean {
    return this.dead[slot] === 0;
  }

  protected slotOf(pk: PrimaryKey): number | undefined {
    const slot = this.index.get(pk);
    return slot !== undefined && this.dead[slot] === 0 ? slot : undefined;
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
