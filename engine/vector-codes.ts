// One byte per dimension of a vector column left in a segment file, held in
// memory so the rows of a selective filter are ranked without reading each
// from the file (~3 µs a scattered row: a 1% filter over 1M rows would read
// 10,000). The few best by code are then scored exactly from the file, so
// every distance returned is the float32 one.
//
// One scale for the whole column (127 over its largest magnitude) keeps the
// code distances proportional to the vectors' own for L2 and IP, and COSINE
// ignores scale. usearch's native exactSearch ranks the codes, int8 SIMD.
// Measured (`node scripts/vector-codes.mjs`, 1M × 128-d Gaussian mixture,
// every 100th row, limit 10): 0.8 ms a query on one thread, of which ~0.6 ms
// gathers the scattered rows, and recall@10 1.0 after the exact re-score
// of the best 40 by code, against 30 ms reading the rows from the file.
import fs from "node:fs";
import { exactSearch, type Matches } from "usearch";
import type { MetricType } from "../protocol/schema.js";
import { VecbusError } from "../protocol/errors.js";
import { usearchMetricKind } from "./distance.js";

/** Bytes of float32 vectors read from the file at a time while coding (between reads the event loop runs). */
const READ_BYTES = 4 << 20;
/** Rows gathered for one exactSearch call: 4 MiB of 128-d codes. */
const GATHER_BYTES = 4 << 20;
/** Rows kept by code per hit wanted, and at least, for the exact re-score. */
const SHORTLIST_PER_HIT = 4;
const SHORTLIST_MIN = 40;

/** The rows being ranked, reused by every search (ranking is synchronous). */
let gathered = new Int8Array(0);

export class VectorCodes {
  private constructor(
    readonly dim: number,
    private readonly scale: number,
    private readonly codes: Int8Array,
  ) {}

  get byteLength(): number {
    return this.codes.byteLength;
  }

  /** Codes of `rows` float32 vectors of `dim` stored one after another at `offset` in the file. */
  static async read(fd: number, offset: number, rows: number, dim: number): Promise<VectorCodes> {
    const rowBytes = dim * 4;
    const chunkRows = Math.max(1, Math.floor(READ_BYTES / rowBytes));
    const chunk = new Float32Array(chunkRows * dim);
    const each = async (visit: (values: Float32Array, at: number) => void) => {
      for (let row = 0; row < rows; row += chunkRows) {
        const n = Math.min(chunkRows, rows - row);
        await readFully(fd, new Uint8Array(chunk.buffer, 0, n * rowBytes), offset + row * rowBytes);
        visit(chunk.subarray(0, n * dim), row * dim);
      }
    };
    let largest = 0;
    await each((values) => {
      for (let i = 0; i < values.length; i++) largest = Math.max(largest, Math.abs(values[i]));
    });
    const scale = largest > 0 && Number.isFinite(largest) ? 127 / largest : 0;
    const codes = new Int8Array(rows * dim);
    await each((values, at) => {
      for (let i = 0; i < values.length; i++) codes[at + i] = Math.round(values[i] * scale);
    });
    return new VectorCodes(dim, scale, codes);
  }

  /**
   * The slots worth scoring exactly for the best `limit` of `slots`: the
   * best SHORTLIST_PER_HIT × limit by code, ascending. All of `slots` when
   * there are few, and when the codes cannot tell the last one kept from
   * the limit-th (rows with equal codes: the exact order breaks their tie
   * by primary key, and could pick one the shortlist left out).
   */
  shortlist(slots: ArrayLike<number>, query: Float32Array, metric: MetricType, limit: number): ArrayLike<number> {
    const keep = Math.max(SHORTLIST_MIN, SHORTLIST_PER_HIT * limit);
    if (slots.length <= keep || this.scale === 0) return slots;
    const q = this.code(query, metric);
    const dim = this.dim;
    const per = Math.max(1, Math.floor(GATHER_BYTES / dim));
    if (gathered.length < Math.min(per, slots.length) * dim) gathered = new Int8Array(Math.min(per, slots.length) * dim);
    const best: { slot: number; d: number }[] = [];
    for (let from = 0; from < slots.length; from += per) {
      const n = Math.min(per, slots.length - from);
      for (let i = 0; i < n; i++) {
        const at = slots[from + i] * dim;
        gathered.set(this.codes.subarray(at, at + dim), i * dim);
      }
      // exactSearch reads from the start of the buffer (see distance.ts): gathered always starts there.
      const found = exactSearch(gathered.subarray(0, n * dim), q, dim, Math.min(keep, n), usearchMetricKind(metric), 1) as Matches;
      for (let i = 0; i < found.keys.length; i++) best.push({ slot: slots[from + Number(found.keys[i])], d: found.distances[i] });
    }
    best.sort((a, b) => a.d - b.d);
    if (best[keep - 1].d === best[limit - 1].d) return slots;
    return best
      .slice(0, keep)
      .map((b) => b.slot)
      .sort((a, b) => a - b);
  }

  /** The query in the column's codes: its scale for L2; its own for IP and COSINE, whose ranking no positive scale changes. */
  private code(query: Float32Array, metric: MetricType): Int8Array {
    let scale = this.scale;
    if (metric !== "L2") {
      let largest = 0;
      for (let i = 0; i < query.length; i++) largest = Math.max(largest, Math.abs(query[i]));
      scale = largest > 0 ? 127 / largest : 0;
    }
    const out = new Int8Array(query.length);
    for (let i = 0; i < query.length; i++) out[i] = Math.max(-127, Math.min(127, Math.round(query[i] * scale)));
    return out;
  }
}

async function readFully(fd: number, into: Uint8Array, position: number): Promise<void> {
  for (let done = 0; done < into.byteLength; ) {
    const read = await new Promise<number>((resolve, reject) => fs.read(fd, into, done, into.byteLength - done, position + done, (e, n) => (e ? reject(e) : resolve(n))));
    if (read === 0) throw new VecbusError("INTERNAL", `segment file ends ${into.byteLength - done} bytes early`);
    done += read;
  }
}
