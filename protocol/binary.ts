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
