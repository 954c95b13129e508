// `vecbus bench`: measures ingest and search through the public API, either
// against a running vecbus (--nats-url) or against one it starts itself in a
// temporary directory. Figures in the README come from this command.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { spawn, type ChildProcess } from "node:child_process";
import type { PrimaryKey } from "../protocol/rows.js";
import { VecbusClient } from "../runtime/client.js";
import { distanceFn, largerIsCloser } from "../engine/distance.js";
import { hitOrder } from "../engine/reduce.js";
import { TopK } from "../engine/topk.js";
import { startCluster } from "./cluster.js";
import { DEFAULT_PREFIX } from "../protocol/subjects.js";
import { alive, freePort, startNatsServer } from "./nats-server.js";
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
  /** Query vectors whose exact top-`limit` is computed here to measure recall. */
  recallQueries: number;
  /**
   * Run vecbus as a `vecbus serve` child process, report its memory, then
   * SIGKILL it and its nats-server and time the restart until every row is
   * served again.
   */
  restart: boolean;
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
  /** Mean recall@limit of `search` (default ef) against exact search, over recallQueries query vectors. */
  recall: number;
  /** With restart: resident memory of the vecbus process (every actor) and of its nats-server, now and at peak. */
  memory_mb?: { vecbus_rss: number; vecbus_peak: number; nats_rss: number; nats_peak: number };
  /** With restart: seconds from the restart until every acked row is served and searchable again, and the rows found. */
  recovery?: { ready_seconds: number; rows: number };
  /** With restart: the `vecbus serve` child's log. */
  serve_log?: string;
}

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

/** Latent dimensions of the generated vectors: real embeddings have few (tens), which is what makes ANN indexes work. */
const LATENT_DIM = 16;

/**
 * Vectors like embeddings: a fixed random linear map of a LATENT_DIM-d
 * Gaussian, plus a little noise in every dimension. (Uniform random 128-d
 * vectors have no neighbourhood structure: every point is about as far from
 * a query as any other, and HNSW recall@10 on them is 0.35 at ef 64.)
 */
function vectors(seed: number, dim: number): () => Float32Array {
  const r = rng(seed);
  const gauss = () => Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
  const map = Float32Array.from({ length: dim * LATENT_DIM }, () => gauss() / Math.sqrt(LATENT_DIM));
  const z = new Float32Array(LATENT_DIM);
  return () => {
    for (let j = 0; j < LATENT_DIM; j++) z[j] = gauss();
    const v = new Float32Array(dim);
    for (let k = 0; k < dim; k++) {
      let t = 0.05 * gauss();
      for (let j = 0; j < LATENT_DIM; j++) t += map[k * LATENT_DIM + j] * z[j];
      v[k] = t;
    }
    return v;
  };
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

/** A vecbus to run against: a given one, one in this process, or (restart) a `vecbus serve` child. */
interface Target {
  url: string;
  log?: string;
  /** With a child process: SIGKILL it and its nats-server, start it again, resolve when it says ready. */
  crash?: () => Promise<void>;
  memory?: () => BenchReport["memory_mb"];
  stop(): Promise<void>;
}

async function startTarget(opts: BenchOptions): Promise<Target> {
  if (opts.natsUrl) return { url: opts.natsUrl, stop: async () => {} };
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "vecbus-bench-"));
  const remove = () => fs.rmSync(dir, { recursive: true, force: true });
  if (!opts.restart) {
    const nats = await startNatsServer({ dataDir: dir });
    const cluster = await startCluster({ natsUrl: nats.url, nodeId: "bench", cacheDir: path.join(dir, "query-cache"), credentials: nats.actorCredentials(DEFAULT_PREFIX) });
    return {
      url: nats.url,
      stop: async () => {
        await cluster.stop();
        await nats.stop();
        remove();
      },
    };
  }
  const port = await freePort();
  let child = await spawnServe(dir, port);
  const natsPid = () => Number(fs.readFileSync(path.join(dir, "nats-server.pid"), "utf8"));
  return {
    url: `nats://127.0.0.1:${port}`,
    log: `${dir}.serve.log`,
    crash: async () => {
      const pid = natsPid();
      child.kill("SIGKILL");
      process.kill(pid, "SIGKILL");
      while (alive(pid) || (child.exitCode === null && child.signalCode === null)) await new Promise((r) => setTimeout(r, 20));
      child = await spawnServe(dir, port);
    },
    memory: () => {
      const v = memoryOf(child.pid!);
      const n = memoryOf(natsPid());
      return { vecbus_rss: v.rss, vecbus_peak: v.peak, nats_rss: n.rss, nats_peak: n.peak };
    },
    stop: async () => {
      child.kill("SIGTERM");
      await new Promise((r) => child.once("exit", r));
      remove();
    },
  };
}

/** This same CLI, as a `vecbus serve` child process; resolves once it prints that it is ready. */
async function spawnServe(dataDir: string, port: number): Promise<ChildProcess> {
  const child = spawn(process.execPath, [...process.execArgv, process.argv[1], "serve", "--data", dataDir, "--port", String(port)], {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, VECBUS_LOG: process.env.VECBUS_LOG ?? "warn" },
  });
  let out = "";
  let err = "";
  // The child's log (VECBUS_LOG sets how much) goes to a file next to the data dir, for a look afterwards.
  const log = fs.createWriteStream(`${dataDir}.serve.log`, { flags: "a" });
  child.stderr!.on("data", (d) => {
    err = (err + d).slice(-4000);
    log.write(d);
  });
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on("data", (d) => {
      out += d;
      if (/vecbus ready on/.test(out)) resolve();
    });
    child.once("exit", (code) => reject(new Error(`vecbus serve exited (${code}) before it was ready:\n${err}`)));
  });
  return child;
}

/** VmRSS and VmHWM from /proc, in MB. */
function memoryOf(pid: number): { rss: number; peak: number } {
  const status = fs.readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = (key: string) => Number(status.match(new RegExp(`${key}:\\s+(\\d+) kB`))?.[1] ?? 0);
  return { rss: Math.round(kb("VmRSS") / 1024), peak: Math.round(kb("VmHWM") / 1024) };
}

/** Waits until a condition holds, showing what it is waiting for; returns the seconds it took. */
async function waitFor(label: string, check: () => Promise<{ done: boolean; at: number; total?: number }>): Promise<number> {
  const bar = progress(label);
  const start = performance.now();
  for (;;) {
    const s = await check().catch(() => ({ done: false, at: 0, total: undefined }));
    bar.update(s.at, s.total);
    if (s.done) break;
    await new Promise((r) => setTimeout(r, 250));
  }
  const seconds = round((performance.now() - start) / 1000, 1);
  bar.done(`${label}: ${seconds} s`);
  return seconds;
}

export async function runBench(opts: BenchOptions): Promise<BenchReport> {
  const target = await startTarget(opts);
  let client = await VecbusClient.connect(target.url, { timeoutMs: 120_000 });
  const name = `bench_${Date.now()}`;
  try {
    await client.create_collection({ collection_name: name, dimension: opts.dim, metric_type: opts.metric, num_shards: opts.shards });
    const next = vectors(42, opts.dim);
    const batches = Math.ceil(opts.rows / opts.batch);
    const phases: BenchPhase[] = [];
    phases.push(
      await timed("insert rows", batches, opts.concurrency, async (b) => {
        const n = Math.min(opts.batch, opts.rows - b * opts.batch);
        const data = Array.from({ length: n }, (_, i) => ({ id: b * opts.batch + i, vector: next() as unknown as number[], category: (b * opts.batch + i) % 100 }));
        await client.insert({ collection_name: name, data });
        return n;
      }),
    );
    phases.push(await timed("flush", 1, 1, async () => (await client.flush({ collection_name: name }), 1)));
    const built = await waitFor("index build and load", async () => {
      const ix = await client.describe_index({ collection_name: name });
      const load = await client.get_load_state({ collection_name: name });
      return { done: ix.state === "Finished" && load.state === "Loaded", at: ix.indexed_rows, total: ix.total_rows };
    });
    phases.push({ phase: "index build and load", ops: opts.rows, seconds: built, per_second: Math.round(opts.rows / built), p50_ms: 0, p99_ms: 0 });
    const queries = Array.from({ length: opts.queries }, () => next() as unknown as number[]);
    const answers: PrimaryKey[][] = [];
    phases.push(
      await timed("search", opts.queries, opts.concurrency, async (i) => {
        answers[i] = (await client.search({ collection_name: name, data: [queries[i]], limit: opts.limit }))[0].map((h) => h.id);
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
    const recall = recallOf(opts, queries.slice(0, opts.recallQueries), answers);
    const report: BenchReport = { options: opts, phases, recall };
    if (target.crash) {
      report.memory_mb = target.memory!();
      await client.close().catch(() => undefined);
      const started = performance.now();
      await target.crash();
      client = await VecbusClient.connect(target.url, { timeoutMs: 120_000 });
      let rows = 0;
      await waitFor("restart until every row is served", async () => {
        const load = await client.get_load_state({ collection_name: name });
        rows = ((await client.query({ collection_name: name, filter: "id >= 0", output_fields: ["count(*)"], consistency_level: "Strong" }))[0]["count(*)"] as number) ?? 0;
        const hits = await client.search({ collection_name: name, data: [queries[0]], limit: opts.limit });
        return { done: load.state === "Loaded" && rows === opts.rows && hits[0].length === opts.limit, at: rows, total: opts.rows };
      });
      report.recovery = { ready_seconds: round((performance.now() - started) / 1000, 1), rows };
      report.serve_log = target.log;
    }
    await client.drop_collection({ collection_name: name });
    return report;
  } finally {
    await client.close().catch(() => undefined);
    await target.stop();
  }
}

/** Exact top-`limit` of each query over the same vectors the insert phase generated (regenerated, not kept). */
function recallOf(opts: BenchOptions, queries: number[][], answers: PrimaryKey[][]): number {
  if (queries.length === 0) return 1;
  const dist = distanceFn(opts.metric);
  const order = hitOrder(largerIsCloser(opts.metric));
  const qs = queries.map((q) => Float32Array.from(q));
  const tops = qs.map(() => new TopK<{ id: number; distance: number }>(opts.limit, order));
  const next = vectors(42, opts.dim);
  for (let id = 0; id < opts.rows; id++) {
    const v = next();
    for (let q = 0; q < qs.length; q++) tops[q].offer({ id, distance: dist(qs[q], v) });
  }
  let found = 0;
  tops.forEach((t, q) => {
    const want = new Set(t.sorted().map((h) => h.id));
    found += answers[q].filter((id) => want.has(id as number)).length;
  });
  return round(found / (qs.length * opts.limit), 4);
}
