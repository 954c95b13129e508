// Primary key → slot for a growing segment, which looks up and sets one key
// per written row. Number keys (every Int64 key within 2^53) sit in an
// open-addressing table of typed arrays: no heap object per key for the
// garbage collector to walk, and one probe finds a key and places it. With a
// Map of a million keys, its get and set were ~10% of the insert phase's busy
// thread at 1M rows. Other keys (strings, bigints) go to a Map.
import type { PrimaryKey } from "../protocol/rows.js";

const EMPTY = -1;
const REMOVED = -2;
const FIRST_CAPACITY = 1 << 12;

export class KeySlots {
  private keys = new Float64Array(FIRST_CAPACITY);
  private slots = new Int32Array(FIRST_CAPACITY).fill(EMPTY);
  /** Table entries holding a key or a removal mark: kept at most half the capacity, so probes stay short. */
  private taken = 0;
  private numbers = 0;
  private readonly others = new Map<string | bigint, number>();

  get size(): number {
    return this.numbers + this.others.size;
  }

  get(pk: PrimaryKey): number | undefined {
    if (typeof pk !== "number") return this.others.get(pk);
    const at = this.find(pk);
    return this.slots[at] >= 0 ? this.slots[at] : undefined;
  }

  /** Gives `pk` the slot; returns the slot it had, if any. */
  set(pk: PrimaryKey, slot: number): number | undefined {
    if (typeof pk !== "number") {
      const old = this.others.get(pk);
      this.others.set(pk, slot);
      return old;
    }
    const mask = this.keys.length - 1;
    let reuse = -1;
    for (let i = hash(pk) & mask; ; i = (i + 1) & mask) {
      const s = this.slots[i];
      if (s === EMPTY) {
        if (reuse < 0) {
          reuse = i;
          this.taken++;
        }
        break;
      }
      if (s === REMOVED) {
        if (reuse < 0) reuse = i;
      } else if (this.keys[i] === pk) {
        this.slots[i] = slot;
        return s;
      }
    }
    this.keys[reuse] = pk;
    this.slots[reuse] = slot;
    this.numbers++;
    if (this.taken * 2 > this.keys.length) this.rehash();
    return undefined;
  }

  /** Removes `pk`; returns the slot it had, if any. */
  delete(pk: PrimaryKey): number | undefined {
    if (typeof pk !== "number") {
      const old = this.others.get(pk);
      this.others.delete(pk);
      return old;
    }
    const at = this.find(pk);
    const old = this.slots[at];
    if (old < 0) return undefined;
    this.slots[at] = REMOVED;
    this.numbers--;
    return old;
  }

  /** The entry holding `pk`, or the empty one ending its probe. */
  private find(pk: number): number {
    const mask = this.keys.length - 1;
    for (let i = hash(pk) & mask; ; i = (i + 1) & mask) {
      const s = this.slots[i];
      if (s === EMPTY || (s >= 0 && this.keys[i] === pk)) return i;
    }
  }

  /** More than twice the room for the live keys, removal marks dropped. */
  private rehash(): void {
    const { keys, slots } = this;
    const capacity = Math.max(FIRST_CAPACITY, 2 ** Math.ceil(Math.log2(this.numbers * 2 + 1)));
    this.keys = new Float64Array(capacity);
    this.slots = new Int32Array(capacity).fill(EMPTY);
    const mask = capacity - 1;
    for (let j = 0; j < slots.length; j++) {
      if (slots[j] < 0) continue;
      let i = hash(keys[j]) & mask;
      while (this.slots[i] !== EMPTY) i = (i + 1) & mask;
      this.keys[i] = keys[j];
      this.slots[i] = slots[j];
    }
    this.taken = this.numbers;
  }
}

/** Mixes an integer's two 32-bit halves (keys are often consecutive: linear probing needs them spread). */
function hash(k: number): number {
  let h = (k >>> 0) ^ Math.imul(Math.floor(k / 0x1_0000_0000) | 0, 0x9e3779b1);
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return h ^ (h >>> 16);
}
