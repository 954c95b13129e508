import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { Index, MetricKind, ScalarKind } from "usearch";
import { usearchConfig } from "../../protocol/indexes.js";
import { buildIndex } from "../../engine/index-build.js";
import { tempDir } from "../harness.js";

function randomVectors(n: number, dim: number, seed = 1): Float32Array {
  let s = seed;
  const out = new Float32Array(n * dim);
  for (let i = 0; i < out.length; i++) {
    s = (s * 1103515245 + 12345) % 2147483648;
    out[i] = s / 2147483648 - 0.5;
  }
  return out;
}

/** Each row's nearest neighbour in the built index at `file` (which must hold every row): its key and distance. */
function nearestOfEachRow(file: string, vectors: Float32Array, n: number, dim: number): { key: number; distance: number }[] {
  const index = new Index({ dimensions: dim, metric: MetricKind.L2sq, quantization: ScalarKind.F32, connectivity: 16, expansion_add: 128, expansion_search: 64, multi: false });
  index.view(file);
  assert.equal(index.size(), n);
  return Array.from({ length: n }, (_, i) => {
    const r = index.search(vectors.subarray(i * dim, (i + 1) * dim), 1, 1);
    return { key: Number(r.keys[0]), distance: r.distances[0] };
  });
}

test("index build - the worker builds an HNSW index in which each vector finds itself", async () => {
  const n = 2000;
  const dim = 32;
  const vectors = randomVectors(n, dim);
  const copy = vectors.slice();
  const config = usearchConfig({ field_name: "v", index_name: "v", index_type: "HNSW", metric_type: "L2", params: { M: 16, efConstruction: 128 } });
  const dir = tempDir("idx");
  try {
    const file = path.join(dir, "i.usearch");
    const built = await buildIndex(vectors, dim, config, file);
    assert.equal(built.rows, n);
    assert.equal(built.bytes, fs.statSync(file).size);
    assert.equal(vectors.byteLength, 0, "the vectors' buffer was transferred to the worker");
    const found = nearestOfEachRow(file, copy, n, dim).filter((r, i) => r.key === i).length;
    assert.ok(found / n >= 0.99, `recall@1 of own vector ${found}/${n}`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("index build - from a file: the rows at an offset, read a chunk at a time, each under its row position as key", async () => {
  const n = 2000;
  const dim = 32;
  const vectors = randomVectors(n, dim, 3);
  const config = usearchConfig({ field_name: "v", index_name: "v", index_type: "HNSW", metric_type: "L2", params: { M: 16, efConstruction: 128 } });
  const dir = tempDir("idx-file");
  try {
    const rowsFile = path.join(dir, "rows");
    // 13 bytes before the rows and some after: only rows × dim floats from the offset are read.
    fs.writeFileSync(rowsFile, Buffer.concat([Buffer.alloc(13, 7), Buffer.from(vectors.buffer), Buffer.alloc(100, 9)]));
    const file = path.join(dir, "i.usearch");
    // 300 rows a chunk: six full chunks and a part.
    const built = await buildIndex({ file: rowsFile, offset: 13, rows: n, chunkBytes: 300 * dim * 4 }, dim, config, file);
    assert.equal(built.rows, n);
    const found = nearestOfEachRow(file, vectors, n, dim).filter((r, i) => r.key === i && r.distance === 0).length;
    assert.ok(found / n >= 0.99, `recall@1 of own vector ${found}/${n}`);
    await assert.rejects(buildIndex({ file: rowsFile, offset: 13, rows: n + 10 }, dim, config, path.join(dir, "short.usearch")), /ends before its 2010 rows/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("index build - HNSW_SQ builds with f16 quantization and an empty segment builds an empty index", async () => {
  const config = usearchConfig({ field_name: "v", index_name: "v", index_type: "HNSW_SQ", metric_type: "COSINE", params: { sq_type: "FP16" } });
  assert.equal(config.quantization, "f16");
  assert.equal(config.metric, "cos");
  const dir = tempDir("idx-sq");
  try {
    const built = await buildIndex(randomVectors(100, 8), 8, config, path.join(dir, "sq.usearch"));
    assert.equal(built.rows, 100);
    const empty = await buildIndex(new Float32Array(0), 8, config, path.join(dir, "empty.usearch"));
    assert.equal(empty.rows, 0);
    assert.ok(fs.statSync(path.join(dir, "empty.usearch")).size > 0);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("index build - a small segment's graph reaches every row, even when every core is asked for (2-thread builds of 200 rows left some unreachable)", async () => {
  const n = 200;
  const dim = 8;
  const config = usearchConfig({ field_name: "v", index_name: "v", index_type: "HNSW", metric_type: "L2", params: { M: 16, efConstruction: 128 } });
  const dir = tempDir("idx-small");
  try {
    for (let b = 0; b < 10; b++) {
      const file = path.join(dir, `i${b}.usearch`);
      await buildIndex(randomVectors(n, dim, b + 7), dim, config, file, 2);
      const index = new Index({ dimensions: dim, metric: MetricKind.L2sq, quantization: ScalarKind.F32, connectivity: 16, expansion_add: 128, expansion_search: 16, multi: false });
      index.view(file);
      for (let q = 0; q < 5; q++) {
        const found = index.search(randomVectors(1, dim, 1000 + 10 * b + q), 2 * n, 1).keys.length;
        assert.equal(found, n, `build ${b}, query ${q}: a search asking for every row found ${found} of ${n}`);
      }
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
