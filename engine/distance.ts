// Exact distances with Milvus semantics: L2 is the squared Euclidean distance
// (smaller is closer); IP and COSINE are similarities (larger is closer).
// Segments score with usearch's kernel (kernelDistances); the plain JS
// functions serve code that must not depend on it (the bench's exact answers).
import { exactSearch, MetricKind, type Matches } from "usearch";
import type { MetricType } from "../protocol/schema.js";

/**
 * `b` may be a whole column of row-major vectors: the vector compared starts
 * at `bAt`, so a sealed segment's rows need no view object each.
 */
export type DistanceFn = (a: Float32Array, b: Float32Array, bAt?: number) => number;

function l2sq(a: Float32Array, b: Float32Array, bAt = 0): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) {
    const d = a[i] - b[bAt + i];
    s += d * d;
  }
  return s;
}

function dot(a: Float32Array, b: Float32Array, bAt = 0): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[bAt + i];
  return s;
}

function cosine(a: Float32Array, b: Float32Array, bAt = 0): number {
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < a.length; i++) {
    const y = b[bAt + i];
    ab += a[i] * y;
    aa += a[i] * a[i];
    bb += y * y;
  }
  return aa === 0 || bb === 0 ? 0 : ab / Math.sqrt(aa * bb);
}

export function distanceFn(metric: MetricType): DistanceFn {
  return metric === "L2" ? l2sq : metric === "IP" ? dot : cosine;
}

/** Whether a larger distance value is the better match under this metric. */
export function largerIsCloser(metric: MetricType): boolean {
  return metric !== "L2";
}

const USEARCH_METRICS: Record<MetricType, MetricKind> = { L2: MetricKind.L2sq, IP: MetricKind.IP, COSINE: MetricKind.Cos };

export function usearchMetricKind(metric: MetricType): MetricKind {
  return USEARCH_METRICS[metric];
}

/** usearch reports IP and COSINE as 1 − similarity; L2 as the squared distance itself. */
export function fromUsearch(metric: MetricType, d: number): number {
  return metric === "L2" ? d : 1 - d;
}

/**
 * Whether usearch's own distances are kept for this metric. IP is not: usearch
 * reports it as 1 − dot in float32, which keeps only ~6e-8 of absolute
 * precision (dot products of 1e-8 and −1e-8 both read as 0). L2 keeps
 * float32's relative precision; COSINE is bounded by 1 and its near
 * neighbours lie near 1, where float32's step is the same ~6e-8.
 */
export function usearchScores(metric: MetricType): boolean {
  return metric !== "IP";
}

/** COSINE against a zero query is 0 for every row (usearch would call a zero row identical to it). */
export function zeroCosineQuery(metric: MetricType, query: Float32Array): boolean {
  return metric === "COSINE" && query.every((x) => x === 0);
}

/**
 * Distances from the query to `n` row-major vectors, in their order: for L2
 * and COSINE by usearch's native float32 kernel, the same one its HNSW
 * search scores with (checked bit for bit), so a row's distance is the same
 * whether an index or an exact scan found it; for IP by the dot product here
 * (see usearchScores), and index candidates are re-scored with it.
 */
export function kernelDistances(metric: MetricType, query: Float32Array, vectors: Float32Array, n: number): Float64Array {
  const out = new Float64Array(n);
  if (n === 0 || zeroCosineQuery(metric, query)) return out;
  if (!usearchScores(metric)) {
    for (let i = 0; i < n; i++) out[i] = dot(query, vectors, i * query.length);
    return out;
  }
  const { keys, distances } = exactSearch(fromStart(vectors), fromStart(query), query.length, n, usearchMetricKind(metric), 1) as Matches;
  for (let i = 0; i < keys.length; i++) out[Number(keys[i])] = fromUsearch(metric, distances[i]);
  return out;
}

/** usearch 2.25's exactSearch reads an array from the start of its buffer, ignoring byteOffset (Index.search does not): a view further in is copied. */
function fromStart(a: Float32Array): Float32Array {
  return a.byteOffset === 0 ? a : a.slice();
}
