// One byte per dimension of a vector column left in a segment file, held in
// memory so the rows of a selective filter are ranked without reading each
// from the file (~3 µs a scattered row: a 1% filter over 1M rows would read
// 10,000). The few best by code are then scored exactly from the file, so
// every distance returned is the float32 one.
//
// usearch's native exactSearch ranks the codes, int8 SIMD. Measured (`node
// scripts/vector-codes.mjs`, 1M × 128-d Gaussian mixture, every 100th row,
// limit 10): 0.8–0.86 ms a query on one thread, of which ~0.6 ms gathers the
// scattered rows, and recall@10 1.0 after the exact re-score of the best 40
// by code, against 30 ms reading the rows from the file.
//
// That gather is the cost that stays under load (1.3–1.8 ms a search on a
// busy search thread: each row 12.8 KB from the next, a cache and TLB miss
// apiece). So the codes are laid out in the order of one scalar index of
// the segment (the clustering key's, else the first declared), as Milvus's
// clustering compaction lays rows out by a clustering key: a filter on
// that field that its index lists (`category < 1`, `price in [..]`) then
// covers runs of neighbouring codes, copied as blocks (0.08 ms for the
// same 10,000 rows). Any other filter's rows are gathered one by one
// through the slot-to-place map, as before.
import fs from "node:fs";
import type { MetricType } from "../protocol/schema.js";
import { VecbusError } from "../protocol/errors.js";
import { usearchMetricKind } from "./distance.js";
import type { SearchThreads } from "./search-threads.js";

/** Bytes of float32 vectors read from the file at a time while coding (between reads the event loop runs). */
const READ_BYTES = 4 << 20;
/** Rows kept by code per hit wanted, and at least, for the exact re-score. */
const SHORTLIST_PER_HIT = 4;
const SHORTLIST_MIN = 40;
/** Growth of the shortlist when its cut falls inside rows of equal codes. */
const WIDEN = 4;

export class VectorCodes {
  private constructor(
    readonly dim: number,
    /** The metric the codes were made for (COSINE codes are of unit rows). */
    private readonly metric: MetricType,
    /** Codes per unit of the vectors' values (L2 and IP). */
    private readonly scale: number,
    /** In shared memory: the search threads rank rows from it. */
    private readonly codes: Int8Array,
    private readonly threads: SearchThreads,
    /** Where each slot's codes are, when laid out in another order than the slots. */
    private readonly placed?: Placement,
  ) {}

  get byteLength(): number {
    return this.codes.byteLength;
  }

  /**
   * Codes of `rows` float32 vectors of `dim` stored one after another at
   * `offset` in the file, for searches under `metric`, ranked on `threads`.
   * L2 and IP: one scale for the column, 127 over its largest magnitude, so
   * code distances stay proportional to the vectors' own. COSINE: each row
   * made unit length first, so a short row keeps its direction's precision.
   *
   * With `placed` (placement()), the codes are laid out in its order: the
   * rows a filter on its field passes then lie together, and a search thread
   * copies them as blocks instead of gathering them one by one
   * (engine/search-worker.ts).
   */
  static async read(fd: number, offset: number, rows: number, dim: number, metric: MetricType, threads: SearchThreads, placed?: Placement): Promise<VectorCodes> {
    const rowBytes = dim * 4;
    const chunkRows = Math.max(1, Math.floor(READ_BYTES / rowBytes));
    const chunk = new Float32Array(chunkRows * dim);
    const each = async (visit: (values: Float32Array, to: (r: number) => number) => void) => {
      for (let row = 0; row < rows; row += chunkRows) {
        const n = Math.min(chunkRows, rows - row);
        await readFully(fd, new Uint8Array(chunk.buffer, 0, n * rowBytes), offset + row * rowBytes);
        visit(chunk.subarray(0, n * dim), placed ? (r) => placed.place[row + r] * dim : (r) => (row + r) * dim);
      }
    };
    const codes = new Int8Array(new SharedArrayBuffer(rows * dim));
    if (metric === "COSINE") {
      await each((values, to) => {
        for (let r = 0; r * dim < values.length; r++) {
          const from = r * dim;
          const at = to(r);
          let norm = 0;
          for (let i = from; i < from + dim; i++) norm += values[i] * values[i];
          const scale = norm > 0 && Number.isFinite(norm) ? 127 / Math.sqrt(norm) : 0;
          for (let i = 0; i < dim; i++) codes[at + i] = toCode(values[from + i] * scale);
        }
      });
      return new VectorCodes(dim, metric, 1, codes, threads, placed);
    }
    let largest = 0;
    await each((values) => {
      for (let i = 0; i < values.length; i++) {
        const x = values[i];
        if (x > largest) largest = x;
        else if (-x > largest) largest = -x;
      }
    });
    const scale = largest > 0 && Number.isFinite(largest) ? 127 / largest : 0;
    await each((values, to) => {
      for (let r = 0; r * dim < values.length; r++) {
        const from = r * dim;
        const at = to(r);
        for (let i = 0; i < dim; i++) codes[at + i] = toCode(values[from + i] * scale);
      }
    });
    return new VectorCodes(dim, metric, scale, codes, threads, placed);
  }

  /**
   * The slots worth scoring exactly for the best `limit` of `slots`: the
   * best SHORTLIST_PER_HIT × limit by code, ascending, ranked on a search
   * thread. Where rows with equal codes straddle the cut (equal vectors: the
   * exact order breaks their tie by primary key, and could pick one the
   * shortlist left out), the cut moves WIDEN× further out and the rows are
   * ranked again, instead of scoring every row: a 1% filter's 10,000 rows
   * of 1M read from the file take ~30 ms, and code distances are integers
   * (2 of 200 searches tied at the cut in a probe). All of `slots` when
   * there are few, and when the codes were made for another metric or
   * cannot code the query.
   */
  async shortlist(slots: ArrayLike<number>, query: Float32Array, metric: MetricType, limit: number): Promise<ArrayLike<number>> {
    const coded = metric === this.metric && this.scale > 0 ? this.code(query) : undefined;
    if (!coded) return slots;
    const placed = this.placed;
    // Rows of codes to rank: a slot's place where the codes are laid out in another order than the slots (a loop: Int32Array.from with a map function took ~40% of the event loop).
    const all = new Int32Array(slots.length);
    for (let i = 0; i < all.length; i++) all[i] = placed ? placed.place[slots[i]] : slots[i];
    for (let keep = Math.max(SHORTLIST_MIN, SHORTLIST_PER_HIT * limit); keep < slots.length; keep *= WIDEN) {
      // One more than kept from each chunk: whether the row after the cut ties with the last one kept.
      const found = await this.threads.rank({ codes: this.codes, dim: this.dim, slots: all.slice(), query: coded.slice(), metric: usearchMetricKind(metric), keep: keep + 1 });
      const d = found.distances;
      const order = Array.from(found.slots.keys()).sort((a, b) => d[a] - d[b]);
      if (order.length > keep && d[order[keep - 1]] === d[order[keep]]) continue;
      return Int32Array.from(order.slice(0, keep), (i) => (placed ? placed.slotAt[found.slots[i]] : found.slots[i])).sort();
    }
    return slots;
  }

  /**
   * The query in codes: at the column's scale for L2 (undefined when a value
   * lies beyond the column's largest, which a code cannot hold); at its own
   * for IP and COSINE, whose ranking no positive scale changes.
   */
  private code(query: Float32Array): Int8Array | undefined {
    let largest = 0;
    for (let i = 0; i < query.length; i++) largest = Math.max(largest, Math.abs(query[i]));
    const scale = this.metric === "L2" ? this.scale : largest > 0 ? 127 / largest : 0;
    if (largest * scale > 127.5) return undefined;
    const out = new Int8Array(query.length);
    for (let i = 0; i < query.length; i++) out[i] = toCode(query[i] * scale);
    return out;
  }
}

/** Where each slot's codes are (in rows of codes), and the slot at each place. */
export interface Placement {
  place: Int32Array;
  slotAt: Int32Array;
}

/** Bytes a row of a Placement takes. */
export const PLACE_BYTES = 8;

/**
 * Places for the slots in `order` first, in that order, then for the others
 * in slot order (an order naming a slot twice, or none, places it once);
 * undefined when that is the slots' own order.
 */
export function placement(rows: number, order: ArrayLike<number>): Placement | undefined {
  const place = new Int32Array(rows).fill(-1);
  const slotAt = new Int32Array(rows);
  let next = 0;
  const put = (slot: number) => {
    if (slot < 0 || slot >= rows || place[slot] !== -1) return;
    place[slot] = next;
    slotAt[next++] = slot;
  };
  for (let i = 0; i < order.length; i++) put(order[i]);
  for (let slot = 0; slot < rows; slot++) put(slot);
  for (let slot = 0; slot < rows; slot++) if (place[slot] !== slot) return { place, slotAt };
  return undefined;
}

/** A value already scaled into [-127.5, 127.5], rounded half away from zero (without Math.round's call: 1M rows of 128-d coded in about half the time). */
function toCode(y: number): number {
  return y < 0 ? -((0.5 - y) | 0) : (y + 0.5) | 0;
}

async function readFully(fd: number, into: Uint8Array, position: number): Promise<void> {
  for (let done = 0; done < into.byteLength; ) {
    const read = await new Promise<number>((resolve, reject) => fs.read(fd, into, done, into.byteLength - done, position + done, (e, n) => (e ? reject(e) : resolve(n))));
    if (read === 0) throw new VecbusError("INTERNAL", `segment file ends ${into.byteLength - done} bytes early`);
    done += read;
  }
}
