// The primary keys of a sealed segment and which of its rows are dead. A
// sealed segment's rows never change, only die; this is the part of it a
// shard owner needs to route deletes and replacements even when the rows
// themselves are served by a query node. The same object moves between the
// local and the remote form of a segment at handoff, so no delete is lost
// or applied twice in between.
import type { PrimaryKey } from "../protocol/rows.js";

export class SegmentKeys {
  private readonly slots = new Map<PrimaryKey, number>();
  private readonly dead: Uint8Array;
  /** Dead slots in the order they died: each flush logs the ones the previous flush did not. */
  private readonly deletions: number[] = [];

  constructor(readonly pks: PrimaryKey[]) {
    pks.forEach((pk, slot) => this.slots.set(pk, slot));
    this.dead = new Uint8Array(pks.length);
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

  /** The live slot holding a key, if any. */
  liveSlot(pk: PrimaryKey): number | undefined {
    const slot = this.slots.get(pk);
    return slot !== undefined && this.dead[slot] === 0 ? slot : undefined;
  }
}
