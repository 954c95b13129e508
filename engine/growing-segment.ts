// The in-memory segment a shard owner applies its WAL to, held as columns:
// each written batch's values are appended to one array per field, and its
// vectors are copied into fixed chunks of 32 MiB per vector field, so a
// write makes no object per row; sealing hands the columns over and copies
// the chunks once into the segment's column. Chunks, not the batches' own
// blocks: a block is a few hundred KB, which the allocator serves from its
// heap, and a segment's worth of them stayed resident after they were freed
// (~230 MB of 400k 128-d rows, measured); a chunk of 32 MiB is always its
// own mapping, returned when it is freed. Fixed chunks, not one buffer grown
// by half again (a fifth of the insert phase here: on this VM fresh memory
// is expensive to touch, and a grown buffer is touched ~3×).
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
import { Segment } from "./segment.js";

const FIRST_CAPACITY = 1024;

/** glibc maps an allocation of at least this much on its own (its largest mmap threshold on 64-bit), and unmaps it when it is freed. */
const CHUNK_BYTES = 32 << 20;
/** The first chunk starts at this size (1,024 rows of 128-d). */
const FIRST_CHUNK_BYTES = 512 << 10;

/**
 * One vector field's rows, slot s at chunk ⌊s / rows⌋, written once and in
 * slot order. The first chunk starts small and doubles up to a full one, so
 * a segment of a few rows holds a few rows.
 */
class VectorChunks {
  /** Rows per chunk. */
  readonly rows: number;
  private readonly chunks: Float32Array[] = [];

  constructor(readonly dim: number) {
    // At least CHUNK_BYTES: a chunk just under it could come from the heap after all.
    this.rows = Math.ceil(CHUNK_BYTES / 4 / dim);
  }

  /** Writes `count` rows of `block` at slots from..from+count-1 (the slots after the last written). */
  append(from: number, block: Float32Array, count: number): void {
    const dim = this.dim;
    for (let done = 0; done < count; ) {
      const slot = from + done;
      const c = Math.floor(slot / this.rows);
      const at = slot - c * this.rows;
      const n = Math.min(count - done, this.rows - at);
      this.room(c, at + n).set(block.subarray(done * dim, (done + n) * dim), at * dim);
      done += n;
    }
  }

  /** Chunk c with room for `rows` rows. */
  private room(c: number, rows: number): Float32Array {
    const have = this.chunks[c];
    if (have && have.length >= rows * this.dim) return have;
    const size = c > 0 ? this.rows : Math.min(this.rows, Math.max(rows, Math.ceil(FIRST_CHUNK_BYTES / 4 / this.dim), 2 * (have ? have.length / this.dim : 0)));
    const chunk = new Float32Array(size * this.dim);
    if (have) chunk.set(have);
    return (this.chunks[c] = chunk);
  }

  row(slot: number): Float32Array {
    const c = Math.floor(slot / this.rows);
    const at = (slot - c * this.rows) * this.dim;
    return this.chunks[c].subarray(at, at + this.dim);
  }

  /** The first n rows as one column. */
  column(n: number): Float32Array {
    const out = new Float32Array(n * this.dim);
    const chunkLength = this.rows * this.dim;
    for (let at = 0; at < out.length; at += chunkLength) out.set(this.chunks[at / chunkLength].subarray(0, out.length - at), at);
    return out;
  }
}

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
  private readonly slots = new Map<PrimaryKey, number>();

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
      const old = this.slots.get(pk);
      if (old !== undefined) this.dead[old] = 1;
      this.slots.set(pk, from + i);
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
      const slot = this.slots.get(id);
      if (slot === undefined) continue;
      this.dead[slot] = 1;
      this.slots.delete(id);
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
      let data: Float32Array;
      if (keep) this.gather(name, keep, 0, keep.length, (data = new Float32Array(keep.length * v.dim)));
      else data = v.column(n);
      columns.vectors.set(name, { dim: v.dim, data });
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
