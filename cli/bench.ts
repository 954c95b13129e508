// `vecbus bench`: measures ingest and search through the public API, either
// against a running vecbus (--nats-url) or against one it starts itself in a
// temporary directory. Figures in the README come from this command.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { VecbusClient } from "../runtime/client.js";
import { startCluster } from "./cluster.js";
import { startNatsServer } from "./nats-server.js";
import { progress } from "./progress.js";

export interface BenchOptions {
  natsUrl?: string;
  rows: number;
  dim: number;
  batch: number;
  queries: number;
  concurrency: number;
  limit: number;
  shards: number;
  metric: "L2" | "IP" | "COSINE";
}

export interface BenchPhase {
  phase: string;
  ops: number;
  seconds: number;
  per_second: number;
  p50_ms: number;
  p99_ms: number;
}

export interface BenchReport {
  options: BenchOptions;
  phases: BenchPhase[];
}

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

function vector(r: () => number, dim: number): Float32Array {
  const v = new Float32Array(dim);
  for (let i = 0; i < dim; i++) v[i] = r() * 2 - 1;
  return v;
}

function percentile(sorted: number[], p: number): number {
  return sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
}

/** Runs `count` operations with `concurrency` in flight; `op(i)` returns how many units it did. */
async function timed(phase: string, count: number, concurrency: number, op: (i: number) => Promise<number>): Promise<BenchPhase> {
  const bar = progress(phase);
  const latencies: number[] = [];
  let next = 0;
  let units = 0;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: Math.min(concurrency, count) }, async () => {
      while (next < count) {
        const i = next++;
        const t = performance.now();
        const done = await op(i);
        units += done;
        latencies.push(performance.now() - t);
        bar.update(units);
      }
    }),
  );
  const seconds = (performance.now() - start) / 1000;
  latencies.sort((a, b) => a - b);
  const result = {
    phase,
    ops: units,
    seconds: round(seconds, 3),
    per_second: Math.round(units / seconds),
    p50_ms: round(percentile(latencies, 0.5), 2),
    p99_ms: round(percentile(latencies, 0.99), 2),
  };
  bar.done(`${phase}: ${result.ops} in ${result.seconds} s (${result.per_second}/s)`);
  return result;
}

function round(x: number, digits: number): number {
  return Number(x.toFixed(digits));
}

export async function runBench(opts: BenchOptions): Promise<BenchReport> {
  let cleanup = async () => {};
  let url = opts.natsUrl;
  if (!url) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "vecbus-bench-"));
    const nats = await startNatsServer({ dataDir: dir });
    const cluster = await startCluster({ natsUrl: nats.url, nodeId: "bench" });
    url = nats.url;
    cleanup = async () => {
      await cluster.stop();
      await nats.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    };
  }
  const client = await VecbusClient.connect(url, { timeoutMs: 120_000 });
  const name = `bench_${Date.now()}`;
  try {
    await client.create_collection({ collection_name: name, dimension: opts.dim, metric_type: opts.metric, num_shards: opts.shards });
    const r = rng(42);
    const batches = Math.ceil(opts.rows / opts.batch);
    const phases: BenchPhase[] = [];
    phases.push(
      await timed("insert rows", batches, opts.concurrency, async (b) => {
        const n = Math.min(opts.batch, opts.rows - b * opts.batch);
        const data = Array.from({ length: n }, (_, i) => ({ id: b * opts.batch + i, vector: vector(r, opts.dim) as unknown as number[], category: (b * opts.batch + i) % 100 }));
        await client.insert({ collection_name: name, data });
        return n;
      }),
    );
    const queries = Array.from({ length: opts.queries }, () => vector(r, opts.dim) as unknown as number[]);
    phases.push(
      await timed("search", opts.queries, opts.concurrency, async (i) => {
        await client.search({ collection_name: name, data: [queries[i]], limit: opts.limit });
        return 1;
      }),
    );
    phases.push(
      await timed("search, filter 10%", opts.queries, opts.concurrency, async (i) => {
        await client.search({ collection_name: name, data: [queries[i]], limit: opts.limit, filter: "category < 10" });
        return 1;
      }),
    );
    phases.push(
      await timed("get by id", opts.queries, opts.concurrency, async (i) => {
        await client.get({ collection_name: name, ids: [(i * 7919) % opts.rows] });
        return 1;
      }),
    );
    await client.drop_collection({ collection_name: name });
    return { options: opts, phases };
  } finally {
    await client.close().catch(() => undefined);
    await cleanup();
  }
}
