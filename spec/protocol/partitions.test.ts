// Partition-key routing and pruning, checked against the routing rule written
// again in spec/partition-hash.ts and against partition names worked out by
// hand from the published FNV-1a test vectors, never against the code's own hash.
import assert from "node:assert/strict";
import { test } from "node:test";
import { parseFilter } from "../../protocol/filter/index.js";
import { partitionKeyPartition, prunePartitions } from "../../protocol/partitions.js";
import { expectedPartition, fnv1a32 } from "../partition-hash.js";

const N = 16;
const prune = (f: string) => {
  const p = prunePartitions(parseFilter(f), "k", N);
  return p && [...p].sort();
};
const of = (...vs: (string | number)[]) => [...new Set(vs.map((v) => expectedPartition(v, N)))].sort();

test("partitions - the reference hash is FNV-1a: the published test vectors", () => {
  const utf8 = (s: string) => new TextEncoder().encode(s);
  assert.equal(fnv1a32(utf8("")), 0x811c9dc5);
  assert.equal(fnv1a32(utf8("a")), 0xe40c292c);
  assert.equal(fnv1a32(utf8("foobar")), 0xbf9cf968);
});

test("partitions - a key routes to _default_<FNV-1a of its bytes mod the partition count>", () => {
  // By hand: 0x811c9dc5 % 16 = 5, 0xe40c292c % 16 = 12, 0xbf9cf968 % 16 = 8; 0xbf9cf968 % 7 = 0.
  assert.equal(partitionKeyPartition("", N), "_default_5");
  assert.equal(partitionKeyPartition("a", N), "_default_12");
  assert.equal(partitionKeyPartition("foobar", N), "_default_8");
  assert.equal(partitionKeyPartition("foobar", 7), "_default_0");
  const keys: (string | number)[] = ["acme", "ünïcode", "日本", 0, 1, -1, -5, 123456789, 2 ** 53 - 1, -(2 ** 53 - 1)];
  for (let i = 0; i < 200; i++) keys.push(`t${i}`, i * 7919 - 500);
  for (const n of [1, 2, 3, 8, 16, 1024]) for (const k of keys) assert.equal(partitionKeyPartition(k, n), expectedPartition(k, n), `${JSON.stringify(k)} over ${n}`);
});

test("partitions - a filter on the key names the partitions it can match", () => {
  assert.deepEqual(prune('k == "a"'), ["_default_12"]);
  assert.deepEqual(prune('k in ["a", "foobar", ""]'), ["_default_12", "_default_5", "_default_8"]);
  assert.deepEqual(prune('"a" == k'), of("a"));
  assert.deepEqual(prune("k in [1, 2, 3]"), of(1, 2, 3));
  assert.deepEqual(prune("k == -1"), of(-1));
  assert.deepEqual(prune('k == "a" and x > 3'), of("a"));
  assert.deepEqual(prune('x > 3 and k == "a"'), of("a"));
  assert.deepEqual(prune('k in ["a", "b"] and k == "b"'), of("b"));
  assert.deepEqual(prune('k == "a" or k == "b"'), of("a", "b"));
  assert.deepEqual(prune('(k == "a" or k in ["b", "c"]) and x < 1'), of("a", "b", "c"));
  // Keys of different partitions that must both hold: no partition can match.
  assert.deepEqual(prune('k == "a" and k == "foobar"'), []);
});

test("partitions - anything that may match other keys reads every partition", () => {
  for (const f of ["k == 1.5", "k in [1, 2.5]", "k == true", 'k != "a"', 'k not in ["a"]', 'k == "a" or x > 3', "x == 1", 'k like "a%"', 'not (k == "a")', 'k["x"] == 1', 'k > "a"']) {
    assert.equal(prune(f), undefined, f);
  }
});

test("partitions - routing is stable and spreads keys", () => {
  assert.equal(partitionKeyPartition("acme", N), partitionKeyPartition("acme", N));
  const used = new Set(Array.from({ length: 200 }, (_, i) => partitionKeyPartition(`t${i}`, N)));
  assert.equal(used.size, N);
});
