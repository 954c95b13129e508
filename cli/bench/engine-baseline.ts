// The bench's ceiling for search and indexing: usearch itself, in this
// process, over the same rows with the same HNSW parameters vecbus uses.
import { Index, ScalarKind, type IndexConfig } from "usearch";
import { usearchMetricKind } from "../../engine/distance.js";
import type { MetricType } from "../../protocol/schema.js";
import type { Dataset } from "./dataset.js";
import type { ResponderIndex } from "./responder-baseline.js";
import { recall } from "./dataset.js";
import { percentile, round } from "./measure.js";

/** vecbus's AUTOINDEX: HNSW M=16, efConstruction=128 (protocol/indexes.ts). */
const CONNECTIVITY = 16;
const EXPANSION_ADD = 128;

export interface EngineSearch {
  ef: number;
  recall: number;
  /** One query at a time on one thread. */
  serial_qps: number;
  serial_p50_ms: number;
  /** Every query in one call, on every core. */
  batched_qps: number;
}

export class EngineBaseline {
  private readonly byEf = new Map<number, Index>();

  private constructor(
    private readonly data: Dataset,
    private readonly metric: MetricType,
    /** The built graph, saved: loaded once per ef searched. */
    private readonly file: string,
    /** Seconds to add every row on every core. */
    readonly buildSeconds: number,
  ) {}

  static build(data: Dataset, metric: MetricType, file: string): EngineBaseline {
    const index = EngineBaseline.empty(data.dim, metric, 64);
    const keys = BigUint64Array.from({ length: data.rows }, (_, i) => BigInt(i));
    const started = performance.now();
    index.add(keys, data.vectors, 0);
    const seconds = round((performance.now() - started) / 1000, 2);
    index.save(file);
    return new EngineBaseline(data, metric, file, seconds);
  }

  private static empty(dim: number, metric: MetricType, ef: number): Index {
    return new Index(EngineBaseline.config(dim, metric, ef));
  }

  private static config(dim: number, metric: MetricType, ef: number): IndexConfig {
    return { dimensions: dim, metric: usearchMetricKind(metric), quantization: ScalarKind.F32, connectivity: CONNECTIVITY, expansion_add: EXPANSION_ADD, expansion_search: ef, multi: false };
  }

  /** The JS binding fixes expansion_search at construction: one read-only view (mmap) of the saved graph per ef. */
  private at(ef: number): Index {
    let index = this.byEf.get(ef);
    if (!index) {
      index = EngineBaseline.empty(this.data.dim, this.metric, ef);
      index.view(this.file);
      this.byEf.set(ef, index);
    }
    return index;
  }

  /** The saved graph as a responder on another thread views it, searched at `ef` for `limit` hits. */
  responderIndex(ef: number, limit: number): ResponderIndex {
    return { file: this.file, options: EngineBaseline.config(this.data.dim, this.metric, ef), limit };
  }

  /** One query at a time on one thread, each asking for k candidates (what a filtered search over one index asks): QPS over `count` queries. */
  candidatesQps(ef: number, k: number, count: number): number {
    const index = this.at(ef);
    const qs = this.data.queries.slice(0, count);
    const started = performance.now();
    for (const q of qs) index.search(q, k, 1);
    return Math.round(qs.length / ((performance.now() - started) / 1000));
  }

  /** Recall of the first `exact.length` queries at this ef. */
  recallAt(ef: number, limit: number, exact: number[][]): number {
    const index = this.at(ef);
    return recall(exact.map((_, q) => Array.from(index.search(this.data.queries[q], limit, 1).keys, Number)), exact);
  }

  measure(ef: number, limit: number, exact: number[][]): EngineSearch {
    const index = this.at(ef);
    const qs = this.data.queries;
    const latencies: number[] = [];
    const started = performance.now();
    for (const q of qs) {
      const t = performance.now();
      index.search(q, limit, 1);
      latencies.push(performance.now() - t);
    }
    const serial = (performance.now() - started) / 1000;
    const all = new Float32Array(qs.length * this.data.dim);
    qs.forEach((q, i) => all.set(q, i * this.data.dim));
    const batchStart = performance.now();
    index.search(all, limit, 0);
    const batched = (performance.now() - batchStart) / 1000;
    latencies.sort((a, b) => a - b);
    return {
      ef,
      recall: this.recallAt(ef, limit, exact),
      serial_qps: Math.round(qs.length / serial),
      serial_p50_ms: round(percentile(latencies, 0.5), 3),
      batched_qps: Math.round(qs.length / batched),
    };
  }
}
