// Brute-force search references for integration tests: every row scored
// here, on the float32 values vecbus stores, with nothing from the code
// under test (no distanceFn, no top-k, no filter compiler).
import assert from "node:assert/strict";
import type { Hit } from "../protocol/api.js";
import type { MetricType } from "../protocol/schema.js";

export interface Ranked<R> {
  id: number;
  distance: number;
  row: R;
}

/** The distances as vecbus defines them: squared L2, inner product, cosine similarity. */
export function distance(metric: MetricType, a: Float32Array, b: Float32Array): number {
  let l2 = 0;
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < a.length; i++) {
    const d = a[i] - b[i];
    l2 += d * d;
    ab += a[i] * b[i];
    aa += a[i] * a[i];
    bb += b[i] * b[i];
  }
  if (metric === "L2") return l2;
  if (metric === "IP") return ab;
  return aa === 0 || bb === 0 ? 0 : ab / Math.sqrt(aa * bb);
}

/** Every row passing `keep`, best first under the metric, equal distances by id. */
export function rank<R extends { id: number }>(rows: Iterable<R>, vector: (r: R) => number[], q: number[], metric: MetricType, keep: (r: R) => boolean = () => true): Ranked<R>[] {
  const qf = Float32Array.from(q);
  const sign = metric === "L2" ? 1 : -1;
  return [...rows]
    .filter(keep)
    .map((row) => ({ id: row.id, distance: distance(metric, qf, Float32Array.from(vector(row))), row }))
    .sort((a, b) => sign * (a.distance - b.distance) || a.id - b.id);
}

/** Brute-force group-by: the first `offset + limit` distinct values in rank order, minus the first `offset`, `size` hits each. */
export function referenceGroups<R>(all: Ranked<R>[], key: (r: R) => unknown, offset: number, limit: number, size: number): Ranked<R>[] {
  const keys: unknown[] = [];
  for (const h of all) if (!keys.includes(key(h.row)) && keys.length < offset + limit) keys.push(key(h.row));
  return keys.slice(offset).flatMap((k) => all.filter((h) => key(h.row) === k).slice(0, size));
}

export function assertHits(got: Hit[], want: { id: number; distance: number }[], what: string): void {
  assert.deepEqual(
    got.map((h) => h.id),
    want.map((w) => w.id),
    what,
  );
  // vecbus scores in float32 (usearch's kernel, as Milvus), this reference in float64: they agree to float32's precision.
  got.forEach((h, i) =>
    assert.ok(Math.abs(h.distance - want[i].distance) <= 1e-5 * Math.max(1, Math.abs(want[i].distance)), `${what}: distance of hit ${i}: ${h.distance} vs ${want[i].distance}`),
  );
}
