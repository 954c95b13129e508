// Typed-array views of msgpack `bin` values. A decoded Buffer may start at any
// offset of the message buffer, and typed arrays need their element width as
// alignment, so unaligned bytes are copied once (with the constructor: a
// Buffer's `slice` would be another view).

/** `raw` itself when `width`-byte elements can view it in place, else an aligned copy. */
export function aligned(raw: Uint8Array, width: number): Uint8Array {
  return raw.byteOffset % width === 0 ? raw : new Uint8Array(raw);
}

/** The first `length` float32 values of `raw` (little-endian, as every platform Node runs vecbus on). */
export function float32View(raw: Uint8Array, length = raw.byteLength / 4): Float32Array {
  const a = aligned(raw, 4);
  return new Float32Array(a.buffer, a.byteOffset, length);
}

/**
 * The index of the first infinity or NaN in `a`, or -1. One pass sums
 * x × 0 (0 for every finite x, NaN otherwise) and only a block that fails is
 * searched for its first bad element: a million 128-d rows are checked
 * twice on their way in (proxy and shard), and a test of every element was
 * 5% of the insert phase. Four sums, so that no add waits for the one
 * before it: 128M elements in 512 KB blocks took 59-84 ms against 125-141
 * with one sum (116 ms for Number.isFinite per element).
 */
export function firstNonFinite(a: Float32Array): number {
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  const n = a.length - (a.length % 4);
  let j = 0;
  for (; j < n; j += 4) {
    s0 += a[j] * 0;
    s1 += a[j + 1] * 0;
    s2 += a[j + 2] * 0;
    s3 += a[j + 3] * 0;
  }
  for (; j < a.length; j++) s0 += a[j] * 0;
  if (s0 + s1 + s2 + s3 === 0) return -1;
  for (j = 0; j < a.length; j++) if (!Number.isFinite(a[j])) return j;
  return -1;
}
