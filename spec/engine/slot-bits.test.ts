// The word-at-a-time passes over byte-per-slot sets against a byte-by-byte
// reading of the same arrays, over every length up to 70 (tails of 0-3
// slots) and views that do not start on a word boundary.
import assert from "node:assert/strict";
import { it } from "node:test";
import { dropDead, slotsOf } from "../../engine/slot-bits.js";
import { rng } from "../random.js";

function randomBytes(n: number, p: number, r: () => number, offset: number): Uint8Array {
  const a = new Uint8Array(n + offset).subarray(offset);
  for (let i = 0; i < n; i++) a[i] = r() < p ? 1 : 0;
  return a;
}

it("slot bits - dropDead and slotsOf agree with a byte-by-byte pass", () => {
  const r = rng(0x5107);
  for (let n = 0; n <= 70; n++) {
    for (const p of [0, 0.05, 0.5, 1]) {
      for (const offset of [0, 1, 4]) {
        for (const withDead of [false, true]) {
          const bits = randomBytes(n, p, r, offset);
          const dead = withDead ? randomBytes(n, 0.3, r, offset === 4 ? 0 : offset) : undefined;
          const want = Array.from(bits.keys()).filter((s) => bits[s] === 1 && !(dead && dead[s] === 1));
          const what = `n ${n}, p ${p}, offset ${offset}, dead ${withDead}`;
          assert.equal(dropDead(bits, dead, n), want.length, what);
          assert.deepEqual(slotsOf(bits), want, what);
        }
      }
    }
  }
});
