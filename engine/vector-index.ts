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
import { Index, ScalarKind, type IndexConfig, type Matches } from "usearch";
import { VecbusError } from "../protocol/errors.js";
import { metricOfUsearch, type UsearchConfig } from "../protocol/indexes.js";
import type { MetricType } from "../protocol/schema.js";
import type { Candidates } from "./ann-search.js";
import { fromUsearch, usearchMetricKind, usearchScores, zeroCosineQuery } from "./distance.js";
import type { SearchThreads } from "./search-threads.js";

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
  /** How usearch views the file, here or on a search thread (sent with every search there). */
  private readonly options: IndexConfig;

  /** With `threads`, searchAsync walks the graph on one of them (and search() should not be called: it would map the file here too). */
  constructor(
    private readonly file: string,
    private readonly dim: number,
    private readonly config: UsearchConfig,
    private readonly threads?: SearchThreads,
  ) {
    this.metric = metricOfUsearch(config.metric);
    this.options = {
      dimensions: dim,
      metric: usearchMetricKind(this.metric),
      quantization: SCALARS[config.quantization],
      connectivity: config.connectivity,
      expansion_add: config.expansion_add,
      expansion_search: EF_MIN,
      multi: false,
    };
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
    const asked = this.asked(query, k, ef);
    if (asked === 0) return { slots: new Uint32Array(0) };
    // One thread: for a single query usearch's thread pool only cost time (up to ~20% fewer QPS at ef <= 128).
    return this.candidates(query, this.view().search(query, asked, 1) as Matches);
  }

  /** search(), on a search thread when the index has them. */
  async searchAsync(query: Float32Array, k: number, ef: number): Promise<Candidates> {
    if (!this.threads) return this.search(query, k, ef);
    const asked = this.asked(query, k, ef);
    if (asked === 0) return { slots: new Uint32Array(0) };
    return this.candidates(query, await this.threads.search(this.file, this.options, query, asked));
  }

  /** How many candidates usearch is asked for (0: none). */
  private asked(query: Float32Array, k: number, ef: number): number {
    // A longer query would silently run as a batch of several.
    if (query.length !== this.dim) throw new VecbusError("INTERNAL", `a ${query.length}-d query against a ${this.dim}-d index`);
    return k < 1 ? 0 : Math.max(k, Math.min(ef, EF_MAX));
  }

  private candidates(query: Float32Array, found: Matches): Candidates {
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

  /** Forgets the view (its mapping goes when it is collected), here and on the search thread. */
  close(): void {
    this.index = undefined;
    this.threads?.forget(this.file);
  }

  private view(): Index {
    if (!this.index) {
      this.index = new Index(this.options);
      this.index.view(this.file);
    }
    return this.index;
  }
}
