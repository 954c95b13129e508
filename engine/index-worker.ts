// The code of the worker thread that builds one usearch index (usearch blocks
// the thread it runs on). It is kept as plain JavaScript source and started
// with `eval: true`, so it runs the same from the built package and under tsx
// (Node 20 does not carry tsx's loader into workers). It gets the vectors as a
// transferred ArrayBuffer, adds them under keys 0..n-1 (the rows' positions
// in the segment; usearch corrupts negative keys) and saves the index to the
// file it is given (the caller streams it from there: read back into memory,
// a 500k-row index was another 330 MB at the build's peak). One build per
// worker.
//
// workerData: { usearchPath, vectors: ArrayBuffer, dim, config: UsearchConfig, threads, file }
// reply:      { ok: true, rows, bytes, ms } | { ok: false, error }
export const INDEX_WORKER_SOURCE = `
"use strict";
const fs = require("node:fs");
const { parentPort, workerData: req } = require("node:worker_threads");
try {
  const { Index } = require(req.usearchPath);
  const started = Date.now();
  const vectors = new Float32Array(req.vectors);
  const rows = vectors.length / req.dim;
  const index = new Index({
    dimensions: req.dim,
    metric: req.config.metric,
    quantization: req.config.quantization,
    connectivity: req.config.connectivity,
    expansion_add: req.config.expansion_add,
    expansion_search: 64,
    multi: false,
  });
  if (rows > 0) {
    const keys = new BigUint64Array(rows);
    for (let i = 0; i < rows; i++) keys[i] = BigInt(i);
    index.add(keys, vectors, req.threads);
  }
  index.save(req.file);
  parentPort.postMessage({ ok: true, rows, bytes: fs.statSync(req.file).size, ms: Date.now() - started });
} catch (e) {
  parentPort.postMessage({ ok: false, error: String((e && e.message) || e) });
}
`;
