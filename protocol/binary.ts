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

/** Float32 exponent bits: all of them set is an infinity or a NaN. */
const EXPONENT = 0x7f800000;

/**
 * The index of the first infinity or NaN in `a`, or -1. Reads the bits: a
 * million 128-d rows are checked twice on their way in (proxy and shard),
 * and Number.isFinite on every element was 5% of the insert phase.
 */
export function firstNonFinite(a: Float32Array): number {
  const bits = new Int32Array(a.buffer, a.byteOffset, a.length);
  let bad = 0;
  for (let j = 0; j < bits.length; j++) bad |= ~bits[j] & EXPONENT ? 0 : 1;
  if (bad === 0) return -1;
  for (let j = 0; j < bits.length; j++) if ((bits[j] & EXPONENT) === EXPONENT) return j;
  return -1;
}
