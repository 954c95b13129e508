// firstNonFinite reads float32 bits instead of asking Number.isFinite: every
// value that is not finite must be found at its index, and no finite one,
// checked against Number.isFinite element by element.
import assert from "node:assert/strict";
import { test } from "node:test";
import { firstNonFinite } from "../../protocol/binary.js";
import { rng } from "../random.js";

function reference(a: Float32Array): number {
  return a.findIndex((x) => !Number.isFinite(x));
}

test("firstNonFinite - finds infinities and every NaN bit pattern, and passes every finite value", () => {
  const bits = (u: number) => new Float32Array(new Uint32Array([u]).buffer)[0];
  const finite = [0, -0, 1, -1, 3.4028234663852886e38, -3.4028234663852886e38, 1.401298464324817e-45, bits(0x007fffff), bits(0x80000001)];
  const odd = [Infinity, -Infinity, NaN, bits(0x7fc00001), bits(0xffffffff), bits(0x7f800001)];
  const r = rng(11);
  // Lengths with and without elements after the last group of four.
  for (const length of [1024, 1027])
    for (const bad of [undefined, ...odd]) {
      for (const at of [0, 1, 2, 3, 63, 500, 1023, length - 1]) {
        const a = Float32Array.from({ length }, (_, i) => finite[i % finite.length] * (r() < 0.5 ? 1 : 0.5));
        if (bad !== undefined) a[at] = bad;
        assert.equal(firstNonFinite(a), reference(a), `${bad} at ${at} of ${length}`);
      }
    }
  // A view that starts inside its buffer reads its own elements only.
  const whole = new Float32Array([NaN, 1, 2, Infinity]);
  assert.equal(firstNonFinite(whole.subarray(1, 3)), -1);
  assert.equal(firstNonFinite(whole.subarray(1)), 2);
});
