// The code of the worker thread that builds one usearch index (usearch blocks
// the thread it runs on). It is kept as plain JavaScript source and started
// with `eval: true`, so it runs the same from the built package and under tsx
// (Node 20 does not carry tsx's loader into workers). It gets the vectors as a
// transferred ArrayBuffer, or reads them from a file 8 MiB at a time into
// one buffer (usearch copies what it adds), adds them under keys 0..n-1 (the
// rows' positions in the segment; usearch corrupts negative keys) and saves the index to the
// file it is given (the caller streams it from there: read back into memory,
// a 500k-row index was another 330 MB at the build's peak). One build per
// worker.
//
// workerData: { usearchPath, vectors?: ArrayBuffer, source?: { file, offset, rows, chunkBytes? }, dim, config: UsearchConfig, threads, file }
// reply:      { ok: true, rows, bytes, ms } | { ok: false, error }
export const INDEX_WORKER_SOURCE = `
"use strict";
const fs = require("node:fs");
const { parentPort, workerData: req } = require("node:worker_threads");
try {
  const { Index } = require(req.usearchPath);
  const started = Date.now();
  const dim = req.dim;
  const index = new Index({
    dimensions: dim,
    metric: req.config.metric,
    quantization: req.config.quantization,
    connectivity: req.config.connectivity,
    expansion_add: req.config.expansion_add,
    expansion_search: 64,
    multi: false,
  });
  const add = (from, vectors) => {
    const n = vectors.length / dim;
    const keys = new BigUint64Array(n);
    for (let i = 0; i < n; i++) keys[i] = BigInt(from + i);
    if (n > 0) index.add(keys, vectors, req.threads);
  };
  let rows;
  if (req.vectors) {
    rows = req.vectors.byteLength / 4 / dim;
    add(0, new Float32Array(req.vectors));
  } else {
    rows = req.source.rows;
    const chunkRows = Math.max(1, Math.floor((req.source.chunkBytes || 8 << 20) / 4 / dim));
    const buffer = new Float32Array(Math.min(chunkRows, rows) * dim);
    const bytes = new Uint8Array(buffer.buffer);
    const fd = fs.openSync(req.source.file, "r");
    try {
      for (let from = 0; from < rows; from += chunkRows) {
        const length = Math.min(chunkRows, rows - from) * dim * 4;
        for (let got = 0; got < length; ) {
          const read = fs.readSync(fd, bytes, got, length - got, req.source.offset + from * dim * 4 + got);
          if (read === 0) throw new Error(req.source.file + " ends before its " + rows + " rows");
          got += read;
        }
        add(from, buffer.subarray(0, length / 4));
      }
    } finally {
      fs.closeSync(fd);
    }
  }
  index.save(req.file);
  parentPort.postMessage({ ok: true, rows, bytes: fs.statSync(req.file).size, ms: Date.now() - started });
} catch (e) {
  parentPort.postMessage({ ok: false, error: String((e && e.message) || e) });
}
`;
