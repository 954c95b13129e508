// What ranking a selective filter's rows by int8 codes costs, and what it
// keeps (engine/vector-codes.ts): the bench's data (a Gaussian mixture,
// `vecbus bench`'s generator), every `step`-th row passing, limit 10, one
// query at a time on one thread. Codes of every row with one scale (127
// over the largest magnitude); the passing rows' codes gathered and ranked
// by usearch's exactSearch; the best `keep` re-scored exactly. Recall@10
// against an exact scan of the passing rows. The figures in
// engine/vector-codes.ts came from (after `npm run build`):
//
//   node scripts/vector-codes.mjs 1000000 100 40
import { exactSearch } from "usearch";
import { generate } from "../dist/cli/bench/dataset.js";

const [rows, step, keep] = [Number(process.argv[2] ?? 1_000_000), Number(process.argv[3] ?? 100), Number(process.argv[4] ?? 40)];
const dim = 128;
const queries = 200;
const limit = 10;
const data = generate(rows, dim, queries);
let largest = 0;
for (const x of data.vectors) largest = Math.max(largest, Math.abs(x));
const scale = 127 / largest;
const codes = new Int8Array(data.vectors.length);
for (let i = 0; i < codes.length; i++) codes[i] = Math.round(data.vectors[i] * scale);
const passing = Array.from({ length: Math.ceil(rows / step) }, (_, i) => i * step);
const l2 = (q, row) => {
  let s = 0;
  for (let d = 0; d < dim; d++) s += (q[d] - data.vectors[row * dim + d]) ** 2;
  return s;
};
const best = (q, among) => among.map((row) => [row, l2(q, row)]).sort((a, b) => a[1] - b[1]).slice(0, limit).map(([row]) => row);

const gathered = new Int8Array(passing.length * dim);
let found = 0;
let ms = 0;
for (const q of data.queries) {
  const started = performance.now();
  const qc = Int8Array.from(q, (x) => Math.max(-127, Math.min(127, Math.round(x * scale))));
  passing.forEach((row, i) => gathered.set(codes.subarray(row * dim, (row + 1) * dim), i * dim));
  const { keys } = exactSearch(gathered, qc, dim, keep, "l2sq", 1);
  const got = best(q, Array.from(keys, (k) => passing[Number(k)]));
  ms += performance.now() - started;
  const want = new Set(best(q, passing));
  found += got.filter((row) => want.has(row)).length;
}
console.log(`${passing.length} of ${rows} rows pass; ranked by code, best ${keep} re-scored: ${(ms / queries).toFixed(3)} ms a query, recall@${limit} ${(found / queries / limit).toFixed(4)}`);
