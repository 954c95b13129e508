// The growing segment's key → slot table must answer exactly as a Map does
// (the reference here) through sets, replacements, removals and the table's
// growth and rehashing, for every kind of key a primary key can be.
import assert from "node:assert/strict";
import { test } from "node:test";
import { KeySlots } from "../../engine/key-slots.js";
import type { PrimaryKey } from "../../protocol/rows.js";
import { rng } from "../random.js";

function keyOf(r: () => number, space: number): PrimaryKey {
  const n = Math.floor(r() * space);
  switch (Math.floor(r() * 8)) {
    case 0:
      return -n;
    case 1:
      return n * 0x1_0000_0000; // equal low halves: only the high half tells them apart
    case 2:
      return Number.MAX_SAFE_INTEGER - n;
    case 3:
      return `k${n}`;
    case 4:
      return 2n ** 60n + BigInt(n);
    default:
      return n;
  }
}

test("sets, replacements and removals answer as a Map does, across growth", () => {
  for (const seed of [1, 2, 3]) {
    const r = rng(seed);
    const table = new KeySlots();
    const ref = new Map<PrimaryKey, number>();
    for (let op = 0; op < 60_000; op++) {
      const key = keyOf(r, op < 40_000 ? 30_000 : 3_000);
      const what = r();
      if (what < 0.7) {
        assert.equal(table.set(key, op), ref.get(key), `seed ${seed} op ${op}: set ${String(key)}`);
        ref.set(key, op);
      } else if (what < 0.9) {
        assert.equal(table.delete(key), ref.get(key), `seed ${seed} op ${op}: delete ${String(key)}`);
        ref.delete(key);
      } else assert.equal(table.get(key), ref.get(key), `seed ${seed} op ${op}: get ${String(key)}`);
      assert.equal(table.size, ref.size, `seed ${seed} op ${op}: size`);
    }
    for (const [key, slot] of ref) assert.equal(table.get(key), slot, `seed ${seed}: ${String(key)} at the end`);
  }
});

test("a million consecutive keys, then every other one removed and set again", () => {
  const table = new KeySlots();
  const n = 1_000_000;
  for (let k = 0; k < n; k++) assert.equal(table.set(k, k), undefined);
  assert.equal(table.size, n);
  for (let k = 0; k < n; k += 2) assert.equal(table.delete(k), k);
  assert.equal(table.size, n / 2);
  for (let k = 0; k < n; k++) assert.equal(table.get(k), k % 2 === 0 ? undefined : k);
  for (let k = 0; k < n; k += 2) assert.equal(table.set(k, n + k), undefined);
  for (let k = 0; k < n; k++) assert.equal(table.get(k), k % 2 === 0 ? n + k : k);
  assert.equal(table.get(n), undefined);
  assert.equal(table.get(-1), undefined);
});

test("0 and -0 are one key, as in a Map", () => {
  const table = new KeySlots();
  table.set(0, 5);
  assert.equal(table.get(-0), 5);
  assert.equal(table.set(-0, 6), 5);
  assert.equal(table.size, 1);
  assert.equal(table.delete(0), 6);
  assert.equal(table.size, 0);
});
