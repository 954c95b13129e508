import assert from "node:assert/strict";
import { test } from "node:test";
import { decode, decodeMap, encode } from "../../runtime/codec.js";
import { VecbusError } from "../../protocol/errors.js";
import { checkVector } from "../../protocol/rows.js";

test("codec - writes plain msgpack maps without record extensions", () => {
  const bytes = encode({ a: 1, b: "x" });
  // fixmap with 2 entries, no ext (0xd4..0xd8, 0xc7..0xc9) anywhere.
  assert.equal(bytes[0], 0x82);
  assert.ok(![...bytes].some((b) => b >= 0xc7 && b <= 0xc9) && ![...bytes].some((b) => b >= 0xd4 && b <= 0xd8));
  assert.deepEqual(decode(bytes), { a: 1, b: "x" });
});

test("codec - undefined is written as nil, not as a JS-only extension", () => {
  const bytes = encode({ a: undefined });
  assert.deepEqual([...bytes], [0x81, 0xa1, 0x61, 0xc0]);
});

test("codec - hybrid timestamps round-trip as bigint; small ints stay numbers", () => {
  const ts = (BigInt(Date.now()) << 18n) | 5n;
  const back = decode(encode({ ts, n: 42, big: 2 ** 40 })) as { ts: bigint; n: number; big: number };
  assert.equal(back.ts, ts);
  assert.equal(back.n, 42);
  assert.equal(back.big, 2 ** 40);
});

test("codec - Float32Array travels as bin and is rebuilt even when unaligned", () => {
  const v = new Float32Array([1.5, -2, 3.25]);
  const back = decode(encode({ pad: "x", v })) as { v: Uint8Array };
  assert.ok(back.v instanceof Uint8Array);
  const rebuilt = checkVector({ name: "v", type: "FloatVector", dim: 3 }, back.v, "v");
  assert.deepEqual([...rebuilt], [1.5, -2, 3.25]);
});

test("codec - malformed and non-map bodies are MALFORMED_REQUEST", () => {
  const bad = [[0xc1], [], [0xdc, 0xff], [0x93, 0x01], [...encode([1, 2])], [...encode("text")], [...new TextEncoder().encode('{"a":1}')]];
  for (const b of bad) {
    assert.throws(() => decodeMap(new Uint8Array(b)), (e: unknown) => e instanceof VecbusError && e.code === "MALFORMED_REQUEST", `bytes ${b}`);
  }
});
