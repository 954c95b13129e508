// The bench's data: vectors like embeddings, every row's scalar `category`,
// and the exact answers its recall is measured against. The exact answers
// come from a plain scan here, independent of usearch and of vecbus.
import type { MetricType } from "../../protocol/schema.js";
import { distanceFn, largerIsCloser } from "../../engine/distance.js";
import { hitOrder } from "../../engine/reduce.js";
import { TopK } from "../../engine/topk.js";

/** Latent dimensions of the generated vectors: real embeddings have few (tens), which is what makes ANN indexes work. */
const LATENT_DIM = 16;
/** Clusters of the Gaussian mixture in the latent space. */
const CLUSTERS = 256;
/** Categories (category = row id mod CATEGORIES): `category < s` passes s% of the rows. */
export const CATEGORIES = 100;

export interface Dataset {
  dim: number;
  rows: number;
  /** Row-major, `dim` floats per row; row i has primary key i. */
  vectors: Float32Array;
  /** Query vectors from the same distribution, not among the rows. */
  queries: Float32Array[];
}

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

/**
 * A Gaussian mixture (CLUSTERS clusters) in a LATENT_DIM-d space, mapped to
 * `dim` dimensions by one fixed random linear map, plus a little noise in
 * every dimension. (Uniform random 128-d vectors have no neighbourhood
 * structure: every point is about as far from a query as any other.)
 */
export function generate(rows: number, dim: number, queries: number, seed = 42): Dataset {
  const r = rng(seed);
  const gauss = () => Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
  const map = Float32Array.from({ length: dim * LATENT_DIM }, () => gauss() / Math.sqrt(LATENT_DIM));
  const centres = Float32Array.from({ length: CLUSTERS * LATENT_DIM }, () => 2 * gauss());
  const z = new Float32Array(LATENT_DIM);
  const one = (out: Float32Array, at: number) => {
    const c = Math.floor(r() * CLUSTERS) * LATENT_DIM;
    for (let j = 0; j < LATENT_DIM; j++) z[j] = centres[c + j] + gauss();
    for (let k = 0; k < dim; k++) {
      let t = 0.05 * gauss();
      for (let j = 0; j < LATENT_DIM; j++) t += map[k * LATENT_DIM + j] * z[j];
      out[at + k] = t;
    }
  };
  const vectors = new Float32Array(rows * dim);
  for (let i = 0; i < rows; i++) one(vectors, i * dim);
  const qs = Array.from({ length: queries }, () => {
    const q = new Float32Array(dim);
    one(q, 0);
    return q;
  });
  return { dim, rows, vectors, queries: qs };
}

export function rowVector(d: Dataset, id: number): Float32Array {
  return d.vectors.subarray(id * d.dim, (id + 1) * d.dim);
}

/**
 * Exact top-`limit` ids of the first `count` queries, over every row and over
 * the rows passing each `category < s` filter (by s; 100 is no filter).
 */
export function exactAnswers(d: Dataset, metric: MetricType, limit: number, count: number, selectivities: number[]): Map<number, number[][]> {
  const dist = distanceFn(metric);
  const order = hitOrder(largerIsCloser(metric));
  const qs = d.queries.slice(0, count);
  const levels = [...new Set([CATEGORIES, ...selectivities])];
  const tops = new Map(levels.map((s) => [s, qs.map(() => new TopK<{ id: number; distance: number }>(limit, order))]));
  for (let id = 0; id < d.rows; id++) {
    const category = id % CATEGORIES;
    for (let q = 0; q < qs.length; q++) {
      const distance = dist(qs[q], d.vectors, id * d.dim);
      for (const s of levels) if (category < s) tops.get(s)![q].offer({ id, distance });
    }
  }
  return new Map([...tops].map(([s, t]) => [s, t.map((top) => top.sorted().map((h) => h.id))]));
}

/** Mean share of each exact answer found. */
export function recall(found: ArrayLike<number>[], exact: number[][]): number {
  if (exact.length === 0) return 1;
  let hit = 0;
  let want = 0;
  exact.forEach((ids, q) => {
    const got = new Set(Array.from(found[q] ?? []));
    hit += ids.filter((id) => got.has(id)).length;
    want += ids.length;
  });
  return want === 0 ? 1 : Math.round((hit / want) * 10_000) / 10_000;
}
