// engine/topk.ts on its own: the k best items of a stream, checked against a
// full sort of the stream written here (Array.prototype.sort, then the first
// k), so the heap's sift-up/sift-down are exercised without a segment search.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { TopK, type Order } from "../../engine/topk.js";
import { rng } from "../random.js";

interface Item {
  id: number;
  key: number;
}

// Reading `.key` makes an out-of-bounds heap read (an undefined item) throw.
const ascending: Order<Item> = (a, b) => a.key - b.key;
const descending: Order<Item> = (a, b) => b.key - a.key;

function items(keys: number[]): Item[] {
  return keys.map((key, id) => ({ id, key }));
}

function run(k: number, order: Order<Item>, input: Item[]): Item[] {
  const top = new TopK<Item>(k, order);
  for (const it of input) top.offer(it);
  return top.sorted();
}

/** The reference: sort everything, keep the first k keys. */
function expectedKeys(k: number, order: Order<Item>, input: Item[]): number[] {
  return [...input].sort(order).slice(0, Math.max(0, k)).map((it) => it.key);
}

describe("TopK", () => {
  test("topk - k = 0 or negative keeps nothing", () => {
    assert.deepEqual(run(0, ascending, items([3, 1, 2])), []);
    assert.deepEqual(run(-1, ascending, items([3, 1, 2])), []);
    assert.deepEqual(run(0, ascending, []), []);
  });

  test("topk - an empty stream gives an empty result", () => {
    assert.deepEqual(run(5, ascending, []), []);
  });

  test("topk - k = 1 keeps the single best item", () => {
    assert.deepEqual(run(1, ascending, items([5, 3, 9, 1, 7])).map((i) => i.key), [1]);
    assert.deepEqual(run(1, descending, items([5, 3, 9, 1, 7])).map((i) => i.key), [9]);
    // The best comes first, last, or alone.
    assert.deepEqual(run(1, ascending, items([0, 4, 8])).map((i) => i.id), [0]);
    assert.deepEqual(run(1, ascending, items([8, 4, 0])).map((i) => i.id), [2]);
    assert.deepEqual(run(1, ascending, items([6])).map((i) => i.id), [0]);
  });

  test("topk - k larger than the stream returns every item, best first", () => {
    assert.deepEqual(run(10, ascending, items([4, 2, 8, 6])).map((i) => i.key), [2, 4, 6, 8]);
    assert.deepEqual(run(10, descending, items([4, 2, 8, 6])).map((i) => i.key), [8, 6, 4, 2]);
    assert.deepEqual(run(4, ascending, items([4, 2, 8, 6])).map((i) => i.key), [2, 4, 6, 8]);
  });

  test("topk - ascending order keeps the k smallest, smallest first", () => {
    // Written out by hand: the 3 smallest of 9 7 5 3 1 8 6 4 2 0 are 0 1 2.
    assert.deepEqual(run(3, ascending, items([9, 7, 5, 3, 1, 8, 6, 4, 2, 0])).map((i) => i.key), [0, 1, 2]);
    // Already sorted input: later items never displace earlier ones.
    assert.deepEqual(run(3, ascending, items([0, 1, 2, 3, 4, 5])).map((i) => i.key), [0, 1, 2]);
    // Reverse-sorted input: every item displaces the current worst.
    assert.deepEqual(run(3, ascending, items([5, 4, 3, 2, 1, 0])).map((i) => i.key), [0, 1, 2]);
  });

  test("topk - descending order keeps the k largest, largest first", () => {
    assert.deepEqual(run(4, descending, items([9, 7, 5, 3, 1, 8, 6, 4, 2, 0])).map((i) => i.key), [9, 8, 7, 6]);
    assert.deepEqual(run(2, descending, items([-1, -5, -3])).map((i) => i.key), [-1, -3]);
  });

  test("topk - an item equal to the worst kept one does not displace it", () => {
    // k = 2 after [1, 2]: the worst kept is 2; another 2 (id 2) arrives and must not replace id 1.
    const kept = run(2, ascending, items([1, 2, 2]));
    assert.deepEqual(kept.map((i) => i.id), [0, 1]);
    // All keys equal: the first k offered are kept.
    const same = run(3, ascending, items([7, 7, 7, 7, 7]));
    assert.deepEqual(same.map((i) => i.id).sort((a, b) => a - b), [0, 1, 2]);
  });

  test("topk - ties across the cutoff keep the right number of each key", () => {
    const input = items([3, 1, 3, 2, 1, 3, 2, 0, 2, 1]);
    // Sorted: 0 1 1 1 2 2 2 3 3 3; first 5: 0 1 1 1 2.
    assert.deepEqual(run(5, ascending, input).map((i) => i.key), [0, 1, 1, 1, 2]);
    assert.deepEqual(run(5, descending, input).map((i) => i.key), [3, 3, 3, 2, 2]);
  });

  test("topk - sorted() mid-stream does not disturb later offers", () => {
    const top = new TopK<Item>(3, ascending);
    const input = items([10, 20, 30, 5, 25, 1, 15, 2]);
    for (const it of input.slice(0, 4)) top.offer(it);
    assert.deepEqual(top.sorted().map((i) => i.key), [5, 10, 20]);
    for (const it of input.slice(4)) top.offer(it);
    assert.deepEqual(top.sorted().map((i) => i.key), [1, 2, 5]);
    // sorted() returns a copy: changing it changes nothing kept.
    top.sorted().length = 0;
    assert.deepEqual(top.sorted().map((i) => i.key), [1, 2, 5]);
  });

  test("topk - random streams match a full sort for many k (heap sift-up and sift-down)", () => {
    const r = rng(42);
    for (let trial = 0; trial < 300; trial++) {
      const n = Math.floor(r() * 40);
      const k = Math.floor(r() * 45);
      // Few distinct keys in some trials so ties are common.
      const range = trial % 3 === 0 ? 5 : 1000;
      const input = items(Array.from({ length: n }, () => Math.floor(r() * range)));
      for (const order of [ascending, descending]) {
        const got = run(k, order, input);
        assert.deepEqual(got.map((i) => i.key), expectedKeys(k, order, input), `trial ${trial} n=${n} k=${k}`);
        // Each kept item is one of the offered ones, each at most once.
        assert.equal(new Set(got.map((i) => i.id)).size, got.length);
        for (const it of got) assert.equal(input[it.id], it);
      }
    }
  });
});
