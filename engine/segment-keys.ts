// The primary keys of a sealed segment and which of its rows are dead. A
// sealed segment's rows never change, only die; this is the part of it a
// shard owner needs to route deletes and replacements even when the rows
// themselves are served by a query node. The same object moves between the
// local and the remote form of a segment at handoff, so no delete is lost
// or applied twice in between.
import type { PrimaryKey } from "../protocol/rows.js";

export class SegmentKeys {
  /** Made on first use: a query node, which reads by slot, never needs it, nor a segment no key falls in the range of. */
  private slotsByPk: Map<PrimaryKey, number> | undefined;
  private readonly dead: Uint8Array;
  /** Dead slots in the order they died: each flush logs the ones the previous flush did not. */
  private readonly deletions: number[] = [];

  constructor(readonly pks: PrimaryKey[]) {
    this.dead = new Uint8Array(pks.length);
  }

  /** The smallest and largest key: most keys of a write or delete fall outside most segments' ranges. */
  private bounds: [PrimaryKey, PrimaryKey] | undefined;

  private mayHold(pk: PrimaryKey): boolean {
    if (this.pks.length === 0) return false;
    if (!this.bounds) {
      let min = this.pks[0];
      let max = min;
      for (const k of this.pks) {
        if (k < min) min = k;
        if (k > max) max = k;
      }
      this.bounds = [min, max];
    }
    return pk >= this.bounds[0] && pk <= this.bounds[1];
  }

  private get slots(): Map<PrimaryKey, number> {
    if (!this.slotsByPk) {
      this.slotsByPk = new Map();
      this.pks.forEach((pk, slot) => this.slotsByPk!.set(pk, slot));
    }
    return this.slotsByPk;
  }

  get slotCount(): number {
    return this.pks.length;
  }

  get liveCount(): number {
    return this.pks.length - this.deletions.length;
  }

  get deletedCount(): number {
    return this.deletions.length;
  }

  /** The a-th to (b-1)-th keys deleted since sealing. */
  deletedPks(from: number, to: number): PrimaryKey[] {
    return this.deletions.slice(from, to).map((s) => this.pks[s]);
  }

  /** Every dead slot, as of now: what a query node needs to answer for this moment. */
  deadSlots(): number[] {
    return this.deletions.slice();
  }

  delete(ids: PrimaryKey[]): number {
    let n = 0;
    for (const id of ids) {
      if (!this.mayHold(id)) continue;
      const slot = this.slots.get(id);
      if (slot === undefined || this.dead[slot]) continue;
      this.dead[slot] = 1;
      this.deletions.push(slot);
      n++;
    }
    return n;
  }

  isLive(slot: number): boolean {
    return this.dead[slot] === 0;
  }

  /** 1 per dead slot (read only: deletes go through delete()). */
  get deadBytes(): Uint8Array {
    return this.dead;
  }

  /** The live slot holding a key, if any. */
  liveSlot(pk: PrimaryKey): number | undefined {
    if (!this.mayHold(pk)) return undefined;
    const slot = this.slots.get(pk);
    return slot !== undefined && this.dead[slot] === 0 ? slot : undefined;
  }
}
