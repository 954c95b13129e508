import assert from "node:assert/strict";
import { test } from "node:test";
import { parseFilter } from "../../protocol/filter/index.js";
import { partitionKeyPartition, prunePartitions } from "../../protocol/partitions.js";

const N = 16;
const prune = (f: string) => {
  const p = prunePartitions(parseFilter(f), "k", N);
  return p && [...p].sort();
};
const of = (...vs: unknown[]) => [...new Set(vs.map((v) => partitionKeyPartition(v, N)))].sort();

test("partitions - a filter on the key names the partitions it can match", () => {
  assert.deepEqual(prune('k == "a"'), of("a"));
  assert.deepEqual(prune('"a" == k'), of("a"));
  assert.deepEqual(prune("k in [1, 2, 3]"), of(1, 2, 3));
  assert.deepEqual(prune('k == "a" and x > 3'), of("a"));
  assert.deepEqual(prune('k in ["a", "b"] and k == "b"'), of("b"));
  assert.deepEqual(prune('k == "a" or k == "b"'), of("a", "b"));
});

test("partitions - anything that may match other keys reads every partition", () => {
  for (const f of ["k == 1.5", "k in [1, 2.5]", "k == true", 'k != "a"', 'k not in ["a"]', 'k == "a" or x > 3', "x == 1", 'k like "a%"', 'not (k == "a")', 'k["x"] == 1']) {
    assert.equal(prune(f), undefined, f);
  }
});

test("partitions - routing is stable and spreads keys", () => {
  assert.equal(partitionKeyPartition("acme", N), partitionKeyPartition("acme", N));
  const used = new Set(Array.from({ length: 200 }, (_, i) => partitionKeyPartition(`t${i}`, N)));
  assert.equal(used.size, N);
});
