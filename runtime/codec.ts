// The wire codec: plain MessagePack that any language's msgpack library reads.
// msgpackr's records (ext 0x72) and its `undefined` extension are JS-only, so
// both are switched off here and nowhere else encodes messages.
import { Packr } from "msgpackr";
import { isMap } from "../protocol/check.js";
import { VecbusError } from "../protocol/errors.js";

const packr = new Packr({
  useRecords: false,
  encodeUndefinedAsNil: true,
  // Hybrid timestamps exceed 2^53: they decode as bigint, small int64s as numbers.
  int64AsType: "auto" as "bigint",
  mapsAsObjects: true,
  variableMapSize: true,
});

/** msgpackr's own buffer, which it grows by copying; useBuffer is in its code but not its typings. */
const sizedPackr = packr as Packr & { useBuffer(buffer: Uint8Array): void };

/**
 * `sizeBound` (encodedBytesBound) lets a large value be written into a
 * buffer of its size: msgpackr otherwise grows its buffer to four times the
 * value and copies the old one's tail over (an 8 MB WAL record cost three
 * copies of itself).
 */
export function encode(value: unknown, sizeBound = 0): Uint8Array {
  if (sizeBound <= LARGE_VALUE_BYTES) return packr.pack(value);
  sizedPackr.useBuffer(Buffer.allocUnsafeSlow(sizeBound + 64));
  const bytes = packr.pack(value);
  // Small values that follow go into a small buffer again, not one the size of this.
  sizedPackr.useBuffer(Buffer.allocUnsafeSlow(LARGE_VALUE_BYTES));
  return bytes;
}

/** Values below this size go into msgpackr's shared buffer. */
const LARGE_VALUE_BYTES = 64 << 10;

export function decode(bytes: Uint8Array): unknown {
  if (bytes.length === 0) {
    throw new VecbusError("MALFORMED_REQUEST", "the request body is empty; send a MessagePack map");
  }
  try {
    return packr.unpack(bytes);
  } catch (e) {
    throw new VecbusError(
      "MALFORMED_REQUEST",
      `the request body is not valid MessagePack (${(e as Error).message}); send a MessagePack map`,
    );
  }
}

/** An upper bound on a value's MessagePack size: what a record may hold is known before it is encoded. */
export function encodedBytesBound(v: unknown): number {
  if (v === null || v === undefined || typeof v === "boolean") return 1;
  if (typeof v === "string") return 5 + 3 * v.length;
  if (ArrayBuffer.isView(v)) return 5 + v.byteLength;
  if (Array.isArray(v)) return v.reduce((n: number, x) => n + encodedBytesBound(x), 5);
  if (typeof v === "object") return Object.entries(v).reduce((n, [k, x]) => n + 5 + 3 * k.length + encodedBytesBound(x), 5);
  return 9;
}

/** Decodes a body that must be a map (the shape of every request). */
export function decodeMap(bytes: Uint8Array): Record<string, unknown> {
  return asMap(decode(bytes));
}

/** A decoded body that must be a map. */
export function asMap(v: unknown): Record<string, unknown> {
  if (!isMap(v)) {
    throw new VecbusError("MALFORMED_REQUEST", "the request body must be a MessagePack map of named fields");
  }
  return v as Record<string, unknown>;
}
