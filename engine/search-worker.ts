// The code of a search thread (engine/search-threads.ts): it keeps one
// read-only view per index file it is sent searches for and answers each
// search with usearch's own keys and distances. Plain JavaScript source
// started with `eval: true`, as engine/index-worker.ts is, so it runs the same
// from the built package and under tsx.
//
// workerData: { usearchPath }
// message:    { id, file, options (usearch Index options), query: Float32Array, k } | { forget: file } | { close: true }
// reply:      { id, keys: BigUint64Array, distances: Float32Array } | { id, error }
export const SEARCH_WORKER_SOURCE = `
"use strict";
const { parentPort, workerData } = require("node:worker_threads");
const { Index } = require(workerData.usearchPath);
const views = new Map();
parentPort.on("message", (m) => {
  if (m.forget !== undefined) {
    views.delete(m.forget);
    return;
  }
  if (m.close) {
    // After every search sent before it: the thread ends by itself, never in the middle of a usearch call.
    parentPort.close();
    return;
  }
  try {
    let index = views.get(m.file);
    if (!index) {
      index = new Index(m.options);
      index.view(m.file);
      views.set(m.file, index);
    }
    const found = index.search(m.query, m.k, 1);
    parentPort.postMessage({ id: m.id, keys: found.keys, distances: found.distances }, [found.keys.buffer, found.distances.buffer]);
  } catch (e) {
    parentPort.postMessage({ id: m.id, error: String((e && e.message) || e) });
  }
});
`;
