// A segment's HNSW index, searched in place: usearch maps the file read-only
// instead of loading it. The JS binding fixes expansion_search when the Index
// is constructed; one view per ef would map the file once per ef (each
// mapping counts in the process's resident memory), so there is one view,
// made with the smallest breadth, and a wider ef asks for more candidates:
// usearch searches with expansion max(expansion_search, k) (measured below).
//
// Measured (usearch 2.25, M=16, efConstruction=128, 20k uniform random rows,
// one query at a time, 1 thread), recall@10 at ef 16/32/64/128/256/512:
//   32-d L2: 0.67/0.84/0.95/0.99/1.00/1.00, ~51k/44k/24k/13k/6.6k/3.6k QPS
//   64-d L2: 0.41/0.58/0.76/0.90/0.98/1.00, ~47k/33k/19k/9.8k/5.2k/2.5k QPS
// search(q, k) with k > expansion_search searches with expansion k: k=100
// gave the same recall on the ef 16, 32 and 64 views (recall@10 0.985 at
// 32-d), as good as ef 100.
import { Index, ScalarKind, type Matches } from "usearch";
import { VecbusError } from "../protocol/errors.js";
import { metricOfUsearch, type UsearchConfig } from "../protocol/indexes.js";
import type { MetricType } from "../protocol/schema.js";
import type { Candidates } from "./ann-search.js";
import { fromUsearch, usearchMetricKind, usearchScores, zeroCosineQuery } from "./distance.js";

/** Recall@10 0.95-0.96 on 20k-50k uniform random 24-32-d rows, at ~0.04 ms a query. */
export const EF_DEFAULT = 64;
/** Recall@10 is 1.00 at 32-d and 0.997 at 64-d by 512; a larger ef is searched as 512. */
export const EF_MAX = 512;

/** The view's own breadth: any ef at or above it is reached by asking for ef candidates. */
const EF_MIN = 16;

const SCALARS: Record<UsearchConfig["quantization"], ScalarKind> = { f32: ScalarKind.F32, f16: ScalarKind.F16, bf16: ScalarKind.BF16 };

/** A usearch index file on local disk, searched through one read-only view (mmap, `Index.view(file)`), made on first use. */
export class VectorIndex {
  private index: Index | undefined;
  private readonly metric: MetricType;

  constructor(
    private readonly file: string,
    private readonly dim: number,
    private readonly config: UsearchConfig,
  ) {
    this.metric = metricOfUsearch(config.metric);
  }

  /**
   * The slots (keys) nearest to the query, nearest first: at least k of them
   * (when the index has them), and as many as the search breadth
   * min(ef, EF_MAX) when that is more. With float32 vectors the index's
   * distances are exact (usearch's kernel, as kernelDistances) and come
   * along, except for IP (see usearchScores); quantized ones are not, and
   * the caller re-scores.
   */
  search(query: Float32Array, k: number, ef: number): Candidates {
    // A longer query would silently run as a batch of several.
    if (query.length !== this.dim) throw new VecbusError("INTERNAL", `a ${query.length}-d query against a ${this.dim}-d index`);
    if (k < 1) return { slots: new Uint32Array(0) };
    // One thread: for a single query usearch's thread pool only cost time (up to ~20% fewer QPS at ef <= 128).
    const found = this.view().search(query, Math.max(k, Math.min(ef, EF_MAX)), 1) as Matches;
    const slots = Uint32Array.from(found.keys, Number);
    const metric = this.metric;
    if (this.config.quantization !== "f32" || !usearchScores(metric)) return { slots };
    if (zeroCosineQuery(metric, query)) return { slots, distances: new Float64Array(slots.length) };
    return { slots, distances: Float64Array.from(found.distances, (d) => fromUsearch(metric, d)) };
  }

  /** Rows in the index. */
  get size(): number {
    return this.view().size();
  }

  /** Forgets the view; its mapping goes when it is collected. */
  close(): void {
    this.index = undefined;
  }

  private view(): Index {
    if (!this.index) {
      const c = this.config;
      this.index = new Index({
        dimensions: this.dim,
        metric: usearchMetricKind(this.metric),
        quantization: SCALARS[c.quantization],
        connectivity: c.connectivity,
        expansion_add: c.expansion_add,
        expansion_search: EF_MIN,
        multi: false,
      });
      this.index.view(this.file);
    }
    return this.index;
  }
}
