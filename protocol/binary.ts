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
 * 5% of the insert phase (this sum: 88 ms per 128M elements in a loop of
 * its own, against 116 ms for Number.isFinite per element).
 */
export function firstNonFinite(a: Float32Array): number {
  let sum = 0;
  for (let j = 0; j < a.length; j++) sum += a[j] * 0;
  if (sum === 0) return -1;
  for (let j = 0; j < a.length; j++) if (!Number.isFinite(a[j])) return j;
  return -1;
}
