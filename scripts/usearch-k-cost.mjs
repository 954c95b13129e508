// What a usearch search costs by the number of candidates asked (k): one
// query at a time on one thread over n clustered 128-d rows (M=16,
// efConstruction=128, expansion_search 16, so k sets the search breadth).
// A filtered search over one segment asks 2 × limit / selectivity
// candidates (engine/ann-search.ts): 200 at 10%, 2,000 at 1%. The README's
// "Filtered search at 1M" figures came from:
//
//   node scripts/usearch-k-cost.mjs 200000
import { Index, MetricKind, ScalarKind } from "usearch";

const n = Number(process.argv[2] ?? 200_000);
const dim = 128;
let seed = 7;
const random = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
const centers = Array.from({ length: 256 }, () => Float32Array.from({ length: dim }, () => random() * 2 - 1));
const data = new Float32Array(n * dim);
for (let i = 0; i < n; i++) for (let j = 0; j < dim; j++) data[i * dim + j] = centers[i % 256][j] + (random() - 0.5) * 0.3;

const index = new Index({ dimensions: dim, metric: MetricKind.L2sq, quantization: ScalarKind.F32, connectivity: 16, expansion_add: 128, expansion_search: 16, multi: false });
let started = Date.now();
index.add(BigUint64Array.from({ length: n }, (_, i) => BigInt(i)), data, 0);
console.log(`built ${n} rows in ${Date.now() - started} ms`);
for (const k of [16, 200, 2000]) {
  const queries = 500;
  started = performance.now();
  for (let q = 0; q < queries; q++) {
    const row = (q * 97) % n;
    index.search(data.subarray(row * dim, (row + 1) * dim), k, 1);
  }
  console.log(`k ${k}: ${Math.round(queries / ((performance.now() - started) / 1000))} QPS`);
}
