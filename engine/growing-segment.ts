// The in-memory segment a shard owner applies its WAL to, held as columns:
// each written batch's values are appended to one array per field, and its
// vectors to fixed chunks (engine/vector-column.ts), so a write makes no
// object per row and sealing hands the columns over.
// Rows are keyed by primary key: a later insert of the same key replaces the
// row (last write wins, in WAL order), which is also what makes upsert and
// replay idempotent.
// Slots are appended in write order; a replaced or deleted row leaves a dead
// slot behind until the segment is sealed.
import type { ColumnBatch } from "../protocol/columns.js";
import { PARTITION_FIELD } from "../protocol/partitions.js";
import type { PrimaryKey, Row } from "../protocol/rows.js";
import { DYNAMIC_FIELD, primaryField, type CollectionSchema } from "../protocol/schema.js";
import type { Columns } from "./filter-bits.js";
import type { SegmentColumns } from "./segment-format.js";
import { KeySlots } from "./key-slots.js";
import { Segment } from "./segment.js";
import { VectorChunks, VectorColumn } from "./vector-column.js";

const FIRST_CAPACITY = 1024;

export class GrowingSegment extends Segment {
  private readonly pkType: "Int64" | "VarChar";
  private readonly pks: PrimaryKey[] = [];
  /** Every other non-vector schema field, `$meta` with dynamic fields, and `$partition`: one value (or null) per slot. */
  private readonly scalars = new Map<string, unknown[]>();
  private readonly vectors = new Map<string, VectorChunks>();
  /** 1 per dead slot; its length is the capacity, slots past `pks.length` are 0. */
  private dead = new Uint8Array(FIRST_CAPACITY);
  /** Write timestamps, one per insert: slots from runStarts[i] on were written at runTs[i]. */
  private readonly runStarts: number[] = [];
  private readonly runTs: bigint[] = [];
  private readonly slots = new KeySlots();

  constructor(schema: CollectionSchema) {
    const pk = primaryField(schema);
    super(pk.name);
    this.pkType = pk.type === "VarChar" ? "VarChar" : "Int64";
    for (const f of schema.fields) {
      if (f.is_primary) continue;
      if (f.type === "FloatVector") this.vectors.set(f.name, new VectorChunks(f.dim!));
      else this.scalars.set(f.name, []);
    }
    if (schema.enable_dynamic_field) this.scalars.set(DYNAMIC_FIELD, []);
    this.scalars.set(PARTITION_FIELD, []);
  }

  get rowCount(): number {
    return this.slots.size;
  }

  /** Rows written since the segment began, dead ones included: what its memory grows with. */
  get size(): number {
    return this.pks.length;
  }

  /** Appends a checked batch (protocol/columns.ts checkStoredBatch) written at `ts`. */
  insert(batch: ColumnBatch, ts: bigint): void {
    const from = this.pks.length;
    const count = batch.count;
    this.reserve(from + count);
    const keys = batch.fields[this.pkField] as PrimaryKey[];
    for (let i = 0; i < count; i++) {
      const pk = keys[i];
      const old = this.slots.set(pk, from + i);
      if (old !== undefined) this.dead[old] = 1;
      this.pks.push(pk);
    }
    for (const [name, values] of this.scalars) {
      if (name === PARTITION_FIELD) {
        const { partition } = batch;
        for (let i = 0; i < count; i++) values.push(typeof partition === "string" ? partition : partition[i]);
        continue;
      }
      const col = batch.fields[name] as unknown[] | undefined;
      for (let i = 0; i < count; i++) values.push(col?.[i] ?? null);
    }
    for (const [name, v] of this.vectors) v.append(from, batch.fields[name] as Float32Array, count);
    this.runStarts.push(from);
    this.runTs.push(ts);
  }

  delete(ids: PrimaryKey[]): number {
    let n = 0;
    for (const id of ids) {
      const slot = this.slots.delete(id);
      if (slot === undefined) continue;
      this.dead[slot] = 1;
      n++;
    }
    return n;
  }

  /** The live rows' columns and write timestamps, in write order: what sealing keeps; undefined when none is live. The segment is not written to afterwards. */
  sealColumns(): SegmentColumns | undefined {
    const n = this.pks.length;
    const live = this.rowCount;
    if (live === 0) return undefined;
    const keep = live === n ? undefined : this.liveSlots();
    const pick = <T>(values: T[]): T[] => (keep ? keep.map((s) => values[s]) : values);
    const timestamps = new BigUint64Array(n);
    this.runStarts.forEach((start, i) => timestamps.fill(this.runTs[i], start, this.runStarts[i + 1] ?? n));
    const columns: SegmentColumns = {
      pk: { field: this.pkField, type: this.pkType, values: pick(this.pks) },
      timestamps: keep ? BigUint64Array.from(keep, (s) => timestamps[s]) : timestamps,
      scalars: new Map([...this.scalars].map(([name, values]) => [name, pick(values)])),
      vectors: new Map(),
    };
    for (const [name, v] of this.vectors) {
      if (!keep) {
        columns.vectors.set(name, v.column(n));
        continue;
      }
      const data = new Float32Array(keep.length * v.dim);
      this.gather(name, keep, 0, keep.length, data);
      columns.vectors.set(name, VectorColumn.of(v.dim, data));
    }
    return columns;
  }

  protected get slotCount(): number {
    return this.pks.length;
  }

  protected isLive(slot: number): boolean {
    return this.dead[slot] === 0;
  }

  protected slotOf(pk: PrimaryKey): number | undefined {
    return this.slots.get(pk);
  }

  protected pkAt(slot: number): PrimaryKey {
    return this.pks[slot];
  }

  protected rowAt(slot: number): Row {
    const row: Row = { [this.pkField]: this.pks[slot] };
    for (const [name, values] of this.scalars) {
      const v = values[slot];
      if (v !== null || name !== DYNAMIC_FIELD) row[name] = v;
    }
    for (const [name, v] of this.vectors) row[name] = v.row(slot);
    return row;
  }

  protected override scalarColumns(): Columns {
    return (name) => (name === this.pkField ? this.pks : this.scalars.get(name));
  }

  protected override deadSlotBytes(): { bytes: Uint8Array; count: number } {
    return { bytes: this.dead, count: this.pks.length - this.slots.size };
  }

  protected gather(field: string, slots: ArrayLike<number>, from: number, to: number, out: Float32Array): void {
    const v = this.vectors.get(field)!;
    for (let i = from; i < to; i++) out.set(v.row(slots[i]), (i - from) * v.dim);
  }

  /** Room for `rows` slots in the dead-slot bytes: grown by half again. */
  private reserve(rows: number): void {
    if (rows <= this.dead.length) return;
    const dead = new Uint8Array(Math.max(rows, Math.ceil(this.dead.length * 1.5)));
    dead.set(this.dead);
    this.dead = dead;
  }
}
