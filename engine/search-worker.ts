// The code of a search thread (engine/search-threads.ts): it keeps one
// read-only view per index file it is sent searches for and answers each
// search with usearch's own keys and distances. Plain JavaScript source
// started with `eval: true`, as engine/index-worker.ts is, so it runs the same
// from the built package and under tsx.
//
// Searches that arrive while one runs are answered together: the ones for
// one file asking for the same k (of at least BATCH_MIN_K) go to usearch as
// one batch, walked on `batchThreads` of usearch's own threads over the one
// view. A view may not be mapped twice (see search-threads.ts), so without
// batches one file's walks ran on one core however many queued: at 1M rows
// the thread searching the segment's index was the bottleneck of filtered
// searches (96% of a core through the 10% filter phase, while 48% of a core
// sat idle).
//
// A thread also ranks rows by their int8 codes (engine/vector-codes.ts):
// the codes are shared memory, so any thread can, and the event loop only
// picks the shortlist from what it returns. Gathering a 1% filter's scattered
// rows is most of that cost (~0.6 ms of 0.8 ms a query at 1M rows, alone),
// unless they lie together in the codes (gather()). The slots of a rank
// message are rows of the codes, which may be laid out in another order
// than the segment's slots.
//
// workerData: { usearchPath, batchThreads }
// message:    { id, file, options (usearch Index options), query: Float32Array, k }
//           | { id, rank: { codes: Int8Array (shared), dim, slots: Int32Array, query: Int8Array, metric, keep } }
//           | { forget: file } | { close: true }
// reply:      { id, keys: BigUint64Array, distances: Float32Array, batched: boolean }
//           | { id, slots: Int32Array, distances: Float32Array } (rank: each gathered chunk's best keep, by code)
//           | { id, error }
export const SEARCH_WORKER_SOURCE = `
"use strict";
const { parentPort, workerData } = require("node:worker_threads");
const { Index, exactSearch } = require(workerData.usearchPath);
const views = new Map();
/** Codes gathered for one exactSearch call: 4 MiB of 128-d rows. */
const GATHER_BYTES = 4 << 20;
/** Rows next to each other copied as one block from this many on (a set() call costs about as much as copying a few rows). */
const BLOCK_ROWS = 4;
/** The rows being ranked, reused (exactSearch reads its array from the start of the buffer, so it always starts there). */
let gathered = new Int8Array(0);
/**
 * The smallest k searched as a batch. A narrow walk (an unfiltered search
 * asks for 16) costs less than usearch's start of a thread for the batch,
 * and its second thread only took a core from the event loop: at 1M rows,
 * batches of every k searched 2,293–2,479 QPS unfiltered against 2,570–2,750
 * one by one. Filtered searches over-ask (200 candidates for a 10% filter).
 */
const BATCH_MIN_K = 64;
/** Messages not handled yet, in the order they came. */
let queue = [];

function view(m) {
  let index = views.get(m.file);
  if (!index) {
    index = new Index(m.options);
    index.view(m.file);
    views.set(m.file, index);
  }
  return index;
}

function answer(m, found, batched) {
  parentPort.postMessage({ id: m.id, keys: found.keys, distances: found.distances, batched }, [found.keys.buffer, found.distances.buffer]);
}

function fail(m, e) {
  parentPort.postMessage({ id: m.id, error: String((e && e.message) || e) });
}

function searchOne(m) {
  try {
    answer(m, view(m).search(m.query, m.k, 1), false);
  } catch (e) {
    fail(m, e);
  }
}

/**
 * Copies the codes of rows slots[from..from+n) to the start of gathered.
 * Rows next to each other in the codes (a filter on the field the codes are
 * laid out by, engine/vector-codes.ts) go as one block: 10,000 rows in
 * 0.17 ms. Scattered rows go one by one, a word at a time where rows are
 * whole words: a subarray and set() per row of the shared buffer took
 * ~3.3 ms for a 1% filter's 10,000 rows at 1M with both threads busy, word
 * copies ~1.4 ms.
 */
function gather(codes, dim, slots, from, n) {
  const words = dim % 4 === 0 && codes.byteOffset % 4 === 0;
  const src = words ? new Int32Array(codes.buffer, codes.byteOffset, codes.length >> 2) : undefined;
  const dst = words ? new Int32Array(gathered.buffer, 0, (n * dim) >> 2) : undefined;
  const w = dim >> 2;
  for (let i = 0; i < n; ) {
    const first = slots[from + i];
    let j = i + 1;
    while (j < n && slots[from + j] === first + j - i) j++;
    if (j - i >= BLOCK_ROWS) {
      gathered.set(codes.subarray(first * dim, (first + j - i) * dim), i * dim);
    } else if (words) {
      for (let k = i; k < j; k++) {
        const at = slots[from + k] * w;
        const to = k * w;
        for (let x = 0; x < w; x++) dst[to + x] = src[at + x];
      }
    } else {
      for (let k = i; k < j; k++) {
        const at = slots[from + k] * dim;
        gathered.set(codes.subarray(at, at + dim), k * dim);
      }
    }
    i = j;
  }
}

function rank(m) {
  try {
    const { codes, dim, slots, query, metric, keep } = m.rank;
    const per = Math.max(1, Math.floor(GATHER_BYTES / dim));
    if (gathered.length < Math.min(per, slots.length) * dim) gathered = new Int8Array(Math.min(per, slots.length) * dim);
    const best = [];
    const distances = [];
    for (let from = 0; from < slots.length; from += per) {
      const n = Math.min(per, slots.length - from);
      gather(codes, dim, slots, from, n);
      const found = exactSearch(gathered.subarray(0, n * dim), query, dim, Math.min(keep, n), metric, 1);
      for (let i = 0; i < found.keys.length; i++) {
        best.push(slots[from + Number(found.keys[i])]);
        distances.push(found.distances[i]);
      }
    }
    const out = { id: m.id, slots: Int32Array.from(best), distances: Float32Array.from(distances) };
    parentPort.postMessage(out, [out.slots.buffer, out.distances.buffer]);
  } catch (e) {
    fail(m, e);
  }
}

/** Searches of one file asking for the same k: one usearch call when they are wide. */
function searchTogether(group) {
  if (group.length === 1 || group[0].k < BATCH_MIN_K) return group.forEach(searchOne);
  try {
    const dim = group[0].query.length;
    const queries = new Float32Array(group.length * dim);
    group.forEach((m, i) => queries.set(m.query, i * dim));
    const found = view(group[0]).search(queries, group[0].k, Math.min(group.length, workerData.batchThreads));
    group.forEach((m, i) => answer(m, found.get(i), true));
  } catch (e) {
    for (const m of group) fail(m, e);
  }
}

/** Searches queued side by side, grouped by file and k (each group's order kept). */
function searchAll(searches) {
  const groups = new Map();
  for (const m of searches) {
    const key = m.k + " " + m.file;
    const group = groups.get(key);
    if (group) group.push(m);
    else groups.set(key, [m]);
  }
  for (const group of groups.values()) searchTogether(group);
}

/** Handles what queued since the last turn: a forget or close applies after the searches sent before it. */
function drain() {
  const taken = queue;
  queue = [];
  let searches = [];
  for (const m of taken) {
    if (m.rank) {
      rank(m);
      continue;
    }
    if (m.forget === undefined && !m.close) {
      searches.push(m);
      continue;
    }
    searchAll(searches);
    searches = [];
    if (m.forget !== undefined) views.delete(m.forget);
    // After every search sent before it: the thread ends by itself, never in the middle of a usearch call.
    else return parentPort.close();
  }
  searchAll(searches);
}

parentPort.on("message", (m) => {
  // The port delivers every message waiting before the next turn, so a turn later they are all here.
  if (queue.push(m) === 1) setImmediate(drain);
});
`;
