// A segment's HNSW index, searched in place: usearch maps the file read-only
// instead of loading it. The JS binding fixes expansion_search when the Index
// is constructed, so each ef rung gets its own view of the same file.
//
// Measured (usearch 2.25, M=16, efConstruction=128, 20k uniform random rows,
// one query at a time, 1 thread), recall@10 at ef 16/32/64/128/256/512:
//   32-d L2: 0.67/0.84/0.95/0.99/1.00/1.00, ~51k/44k/24k/13k/6.6k/3.6k QPS
//   64-d L2: 0.41/0.58/0.76/0.90/0.98/1.00, ~47k/33k/19k/9.8k/5.2k/2.5k QPS
// search(q, k) with k > expansion_search searches with expansion k: k=100
// gave the same recall on the ef 16, 32 and 64 views (recall@10 0.985 at
// 32-d), as good as ef 100. So a rung never has to cover k.
import { Index, MetricKind, ScalarKind } from "usearch";
import { VecbusError } from "../protocol/errors.js";
import type { UsearchConfig } from "../protocol/indexes.js";

/** Recall@10 0.95-0.96 on 20k-50k uniform random 24-32-d rows, at ~0.04 ms a query. */
export const EF_DEFAULT = 64;
/** Recall@10 is 1.00 at 32-d and 0.997 at 64-d by 512; a larger ef is searched as 512. */
export const EF_MAX = 512;

/** Powers of two: at most six views, and an ef above 16 searches under twice as wide as asked. */
const RUNGS = [16, 32, 64, 128, 256, EF_MAX];

const METRICS: Record<UsearchConfig["metric"], MetricKind> = { l2sq: MetricKind.L2sq, ip: MetricKind.IP, cos: MetricKind.Cos };
const SCALARS: Record<UsearchConfig["quantization"], ScalarKind> = { f32: ScalarKind.F32, f16: ScalarKind.F16, bf16: ScalarKind.BF16 };

/** A usearch index file on local disk, searched through read-only views (mmap, `Index.view(file)`), one per ef rung, made on first use. */
export class VectorIndex {
  private readonly views = new Map<number, Index>();

  constructor(
    private readonly file: string,
    private readonly dim: number,
    private readonly config: UsearchConfig,
  ) {}

  /** Up to k slots (keys), nearest first, searched with expansion >= min(ef, EF_MAX). */
  search(query: Float32Array, k: number, ef: number): Uint32Array {
    // A longer query would silently run as a batch of several.
    if (query.length !== this.dim) throw new VecbusError("INTERNAL", `a ${query.length}-d query against a ${this.dim}-d index`);
    if (k < 1) return new Uint32Array(0);
    // One thread: for a single query usearch's thread pool only cost time (up to ~20% fewer QPS at ef <= 128).
    const { keys } = this.view(RUNGS.find((r) => r >= ef) ?? EF_MAX).search(query, k, 1);
    return Uint32Array.from(keys, Number);
  }

  /** Rows in the index. */
  get size(): number {
    return this.view(EF_DEFAULT).size();
  }

  /** Forgets the views; their mappings go when they are collected. */
  close(): void {
    this.views.clear();
  }

  private view(ef: number): Index {
    let view = this.views.get(ef);
    if (!view) {
      const c = this.config;
      view = new Index({
        dimensions: this.dim,
        metric: METRICS[c.metric],
        quantization: SCALARS[c.quantization],
        connectivity: c.connectivity,
        expansion_add: c.expansion_add,
        expansion_search: ef,
        multi: false,
      });
      view.view(this.file);
      this.views.set(ef, view);
    }
    return view;
  }
}
