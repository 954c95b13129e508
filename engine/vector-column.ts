// A vector field's rows, as a growing segment writes them (VectorChunks) and
// as a sealed segment reads them (VectorColumn). A growing segment copies
// each batch's vectors into fixed chunks of 32 MiB, and sealing hands the
// chunks over as they are: copying a million 128-d rows into one column
// took 2.3 s of the insert phase's 10 s at 1M (the last insert's reply
// waits for the seal it triggers), most of it faulting in 512 MB of fresh
// memory. Chunks, not the batches' own blocks: a block is a few hundred KB,
// which the allocator serves from its heap, and a segment's worth of them
// stayed resident after they were freed (~230 MB of 400k 128-d rows,
// measured); a chunk of 32 MiB is always its own mapping, returned when it
// is freed. Fixed chunks, not one buffer grown by half again (a fifth of
// the insert phase here: on this VM fresh memory is expensive to touch, and
// a grown buffer is touched ~3×).

import crypto from "node:crypto";

/** glibc maps an allocation of at least this much on its own (its largest mmap threshold on 64-bit), and unmaps it when it is freed. */
const CHUNK_BYTES = 32 << 20;
/** The first chunk starts at this size (1,024 rows of 128-d). */
const FIRST_CHUNK_BYTES = 512 << 10;

/** Row `slot` of rows laid out `chunkRows` to a chunk. */
function rowIn(chunks: readonly Float32Array[], chunkRows: number, dim: number, slot: number): Float32Array {
  const c = Math.floor(slot / chunkRows);
  const at = (slot - c * chunkRows) * dim;
  return chunks[c].subarray(at, at + dim);
}

/** Rows from..to-1 split where chunks of `chunkRows` end: `run(c, first, n, done)` for n rows from row `first` of chunk c, after `done` rows of the span. */
function eachRun(from: number, to: number, chunkRows: number, run: (c: number, first: number, n: number, done: number) => void): void {
  for (let slot = from; slot < to; ) {
    const c = Math.floor(slot / chunkRows);
    const first = slot - c * chunkRows;
    const n = Math.min(to - slot, chunkRows - first);
    run(c, first, n, slot - from);
    slot += n;
  }
}

/** `rows` vectors of `dim` float32, slot s at chunks[⌊s / chunkRows⌋]; every chunk but the last holds chunkRows rows. */
export class VectorColumn {
  private constructor(
    readonly dim: number,
    readonly rows: number,
    private readonly chunks: readonly Float32Array[],
    private readonly chunkRows: number,
  ) {}

  /** One block of rows × dim. */
  static of(dim: number, data: Float32Array): VectorColumn {
    const rows = data.length / dim;
    return new VectorColumn(dim, rows, [data], Math.max(rows, 1));
  }

  static chunked(dim: number, rows: number, chunks: readonly Float32Array[], chunkRows: number): VectorColumn {
    return new VectorColumn(dim, rows, chunks, chunkRows);
  }

  get byteLength(): number {
    return this.rows * this.dim * 4;
  }

  row(slot: number): Float32Array {
    return rowIn(this.chunks, this.chunkRows, this.dim, slot);
  }

  /** Copies rows from..to-1 into `out` from row `at` on. */
  copyRows(from: number, to: number, out: Float32Array, at: number): void {
    const dim = this.dim;
    eachRun(from, to, this.chunkRows, (c, first, n, done) => out.set(this.chunks[c].subarray(first * dim, (first + n) * dim), (at + done) * dim));
  }

  /** The rows as consecutive byte views, for writing out without joining them. */
  byteParts(): Uint8Array[] {
    const parts: Uint8Array[] = [];
    const chunkBytes = this.chunkRows * this.dim * 4;
    for (let c = 0, left = this.byteLength; left > 0; c++, left -= chunkBytes) {
      const chunk = this.chunks[c];
      parts.push(new Uint8Array(chunk.buffer, chunk.byteOffset, Math.min(left, chunkBytes)));
    }
    return parts;
  }

  /** The rows as one block: the column's own when it is one, else a copy. */
  toBlock(): Float32Array {
    const whole = this.rows * this.dim;
    if (this.chunks.length === 1) return this.chunks[0].length === whole ? this.chunks[0] : this.chunks[0].subarray(0, whole);
    const out = new Float32Array(whole);
    this.copyRows(0, this.rows, out, 0);
    return out;
  }
}

/**
 * A fresh chunk whose pages the thread pool writes (with random bytes: a
 * write from user space; reading /dev/zero or a file into it left most of
 * the cost to the first write after, measured) while the loop fills the
 * chunk before it. The first write to a fresh page costs a fault, and on
 * this VM faults made copying 512 MB of vectors into fresh chunks 1.3 s
 * instead of 25 ms, on the thread every write waits for.
 */
function writtenAhead(length: number): { chunk: Float32Array; ready: boolean } {
  const spare = { chunk: new Float32Array(length), ready: false };
  crypto.randomFill(spare.chunk, (err) => {
    spare.ready = !err;
  });
  return spare;
}

/**
 * One vector field's rows in a growing segment, written once and in slot
 * order. The first chunk starts small and doubles up to a full one, so a
 * segment of a few rows holds a few rows.
 */
export class VectorChunks {
  /** Rows per chunk. */
  readonly rows: number;
  private readonly chunks: Float32Array[] = [];
  /** The next full chunk, its pages being written on the thread pool. */
  private spare?: { chunk: Float32Array; ready: boolean };

  constructor(readonly dim: number) {
    // At least CHUNK_BYTES: a chunk just under it could come from the heap after all.
    this.rows = Math.ceil(CHUNK_BYTES / 4 / dim);
  }

  /** Writes `count` rows of `block` at slots from..from+count-1 (the slots after the last written). */
  append(from: number, block: Float32Array, count: number): void {
    const dim = this.dim;
    eachRun(from, from + count, this.rows, (c, at, n, done) => this.room(c, at + n).set(block.subarray(done * dim, (done + n) * dim), at * dim));
  }

  /** Chunk c with room for `rows` rows. */
  private room(c: number, rows: number): Float32Array {
    const have = this.chunks[c];
    if (have && have.length >= rows * this.dim) return have;
    const size = c > 0 ? this.rows : Math.min(this.rows, Math.max(rows, Math.ceil(FIRST_CHUNK_BYTES / 4 / this.dim), 2 * (have ? have.length / this.dim : 0)));
    let chunk: Float32Array;
    if (size === this.rows && this.spare?.ready) {
      chunk = this.spare.chunk;
      this.spare = undefined;
    } else chunk = new Float32Array(size * this.dim);
    // A spare still being written stays for the next chunk.
    if (size === this.rows && !this.spare) this.spare = writtenAhead(size * this.dim);
    if (have) chunk.set(have);
    return (this.chunks[c] = chunk);
  }

  row(slot: number): Float32Array {
    return rowIn(this.chunks, this.rows, this.dim, slot);
  }

  /**
   * The first n rows, sharing the chunks: nothing is appended afterwards. A
   * last chunk less than half used is copied to its used rows, so that a
   * sealed segment does not hold up to 32 MiB of room no row will take
   * while a shard owner serves it (for a whole index build, at 1M rows
   * beside the build's own memory); fuller ones are kept whole, as copying
   * them would cost more than they hold free.
   */
  column(n: number): VectorColumn {
    const chunks = [...this.chunks];
    const last = chunks.length - 1;
    const used = (n - last * this.rows) * this.dim;
    if (last >= 0 && chunks[last].length === this.rows * this.dim && used * 2 <= chunks[last].length) chunks[last] = chunks[last].slice(0, used);
    return VectorColumn.chunked(this.dim, n, chunks, this.rows);
  }
}
