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

export function encode(value: unknown): Uint8Array {
  return packr.pack(value);
}

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

/** Decodes a body that must be a map (the shape of every request). */
export function decodeMap(bytes: Uint8Array): Record<string, unknown> {
  const v = decode(bytes);
  if (!isMap(v)) {
    throw new VecbusError("MALFORMED_REQUEST", "the request body must be a MessagePack map of named fields");
  }
  return v as Record<string, unknown>;
}
