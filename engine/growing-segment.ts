// The in-memory segment a shard owner applies its WAL to. Rows are keyed by
// primary key: a later insert of the same key replaces the row (last write
// wins, in WAL order), which is also what makes upsert and replay idempotent.
// Slots are appended in write order; a replaced or deleted row leaves a dead
// slot behind until the segment is sealed.
import type { PrimaryKey, Row } from "../protocol/rows.js";
import { Segment } from "./segment.js";

export class GrowingSegment extends Segment {
  private readonly rows: (Row | undefined)[] = [];
  private readonly timestamps: bigint[] = [];
  private readonly slots = new Map<PrimaryKey, number>();

  get rowCount(): number {
    return this.slots.size;
  }

  /** Rows written since the segment began, dead ones included: what its memory grows with. */
  get size(): number {
    return this.rows.length;
  }

  insert(rows: Row[], ts: bigint): void {
    for (const row of rows) {
      const pk = row[this.pkField] as PrimaryKey;
      const old = this.slots.get(pk);
      if (old !== undefined) this.rows[old] = undefined;
      this.slots.set(pk, this.rows.length);
      this.rows.push(row);
      this.timestamps.push(ts);
    }
  }

  delete(ids: PrimaryKey[]): number {
    let n = 0;
    for (const id of ids) {
      const slot = this.slots.get(id);
      if (slot === undefined) continue;
      this.rows[slot] = undefined;
      this.slots.delete(id);
      n++;
    }
    return n;
  }

  /** The live rows and their write timestamps, in write order: what sealing keeps. */
  live(): { rows: Row[]; timestamps: bigint[] } {
    const rows: Row[] = [];
    const timestamps: bigint[] = [];
    this.rows.forEach((row, slot) => {
      if (row === undefined) return;
      rows.push(row);
      timestamps.push(this.timestamps[slot]);
    });
    return { rows, timestamps };
  }

  protected get slotCount(): number {
    return this.rows.length;
  }

  protected isLive(slot: number): boolean {
    return this.rows[slot] !== undefined;
  }

  protected slotOf(pk: PrimaryKey): number | undefined {
    return this.slots.get(pk);
  }

  protected pkAt(slot: number): PrimaryKey {
    return this.rows[slot]![this.pkField] as PrimaryKey;
  }

  protected rowAt(slot: number): Row {
    return this.rows[slot]!;
  }

  protected gather(field: string, slots: ArrayLike<number>, from: number, to: number, out: Float32Array): void {
    for (let i = from; i < to; i++) {
      const v = this.rows[slots[i]]![field] as Float32Array;
      out.set(v, (i - from) * v.length);
    }
  }
}
