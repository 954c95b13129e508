// hybrid_search rankers: fuse the hit lists of several searches into one,
// per query vector, as Milvus 2.5 does. Fused scores are larger-is-better.
import type { Hit } from "../protocol/api.js";
import { VecbusError } from "../protocol/errors.js";
import type { PrimaryKey } from "../protocol/rows.js";
import type { MetricType } from "../protocol/schema.js";
import { largerIsCloser } from "./distance.js";
import { hitOrder } from "./reduce.js";

export type Ranker = { strategy: "rrf"; k: number } | { strategy: "weighted"; weights: number[]; norm_score: boolean };

// Milvus's bounds and default for RRF: 0 < k < 16384, k = 60.
const RRF_K_MAX = 16384;
const RRF_K_DEFAULT = 60;

/**
 * Milvus's normalizations onto (0, 1), larger is better: L2 distances with
 * 1 - 2/π·atan(d), IP with 0.5 + atan(d)/π, COSINE with (1 + d)/2.
 */
export function normalizeScore(metric: MetricType, d: number): number {
  if (metric === "COSINE") return (1 + d) / 2;
  if (metric === "IP") return 0.5 + Math.atan(d) / Math.PI;
  return 1 - (2 * Math.atan(d)) / Math.PI;
}

/** The raw score turned larger-is-better, for weighted fusion without norm_score. */
function greaterIsBetter(metric: MetricType, d: number): number {
  return largerIsCloser(metric) ? d : -d;
}

/** One sub-request's share of a hit's fused score; `rank` counts from 0. */
function contribution(r: Ranker, req: number, rank: number, distance: number, metric: MetricType): number {
  if (r.strategy === "rrf") return 1 / (r.k + rank + 1);
  return r.weights[req] * (r.norm_score ? normalizeScore(metric, distance) : greaterIsBetter(metric, distance));
}

/**
 * Fuses one query vector's hit lists (one per sub-request, each best first)
 * and returns ranks offset..offset+limit-1: `distance` is the fused score,
 * ties broken by primary key.
 */
export function fuse(r: Ranker, lists: Hit[][], metric: MetricType | readonly MetricType[], offset: number, limit: number): Hit[] {
  const fused = new Map<PrimaryKey, Hit>();
  lists.forEach((hits, req) =>
    hits.forEach((h, rank) => {
      // Each sub-request scores with its own field's metric (fields may differ, as in Milvus).
      const score = contribution(r, req, rank, h.distance, typeof metric === "string" ? metric : metric[req]);
      const seen = fused.get(h.id);
      if (seen) seen.distance += score;
      else fused.set(h.id, { ...h, distance: score });
    }),
  );
  return [...fused.values()].sort(hitOrder(true)).slice(offset, offset + limit);
}

/** Checks `ranker: {strategy, params}`; without one Milvus uses RRF with k = 60. */
export function checkRanker(raw: unknown, reqs: number): Ranker {
  if (raw === undefined || raw === null) return { strategy: "rrf", k: RRF_K_DEFAULT };
  const { strategy, params } = asMap(raw, "ranker");
  const p = params === undefined || params === null ? {} : asMap(params, "ranker.params");
  const name = typeof strategy === "string" ? strategy.toLowerCase() : strategy;
  if (name === "rrf") return { strategy: "rrf", k: checkK(p.k) };
  if (name === "weighted") return { strategy: "weighted", weights: checkWeights(p.weights, reqs), norm_score: checkNormScore(p.norm_score) };
  throw invalid(`ranker.strategy must be "rrf" or "weighted"; got ${JSON.stringify(strategy)}`);
}

function checkK(k: unknown): number {
  if (k === undefined || k === null) return RRF_K_DEFAULT;
  if (typeof k !== "number" || !(k > 0 && k < RRF_K_MAX)) {
    throw invalid(`ranker.params.k must be a number greater than 0 and less than ${RRF_K_MAX}; got ${JSON.stringify(k)}`);
  }
  return k;
}

function checkWeights(w: unknown, reqs: number): number[] {
  if (!Array.isArray(w) || !w.every((x) => typeof x === "number" && x >= 0 && x <= 1)) {
    throw invalid(`ranker.params.weights must be a list of numbers from 0 to 1, one per entry of reqs; got ${JSON.stringify(w)}`);
  }
  if (w.length !== reqs) throw invalid(`ranker.params.weights has ${w.length} weights but reqs has ${reqs} searches; give one weight per search`);
  return w as number[];
}

function checkNormScore(v: unknown): boolean {
  if (v === undefined || v === null) return true;
  if (typeof v !== "boolean") throw invalid(`ranker.params.norm_score must be true or false; got ${JSON.stringify(v)}`);
  return v;
}

function asMap(v: unknown, name: string): Record<string, unknown> {
  if (typeof v !== "object" || v === null || Array.isArray(v)) throw invalid(`${name} must be a map`);
  return v as Record<string, unknown>;
}

function invalid(message: string): VecbusError {
  return new VecbusError("INVALID_ARGUMENT", message);
}
