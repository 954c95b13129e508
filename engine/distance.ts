// Exact distances with Milvus semantics: L2 is the squared Euclidean distance
// (smaller is closer); IP and COSINE are similarities (larger is closer).
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
