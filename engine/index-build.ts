// Builds a usearch index off the event loop, in a worker thread
// (engine/index-worker.ts holds its code), from vectors in memory (their
// buffer is transferred to the worker: the caller's array is unusable
// afterwards) or in a local file (read a chunk at a time); the index is
// saved to the file the caller names, which `Index.view()`/`load()` read.
import os from "node:os";
import { createRequire } from "node:module";
import { Worker } from "node:worker_threads";
import { VecbusError } from "../protocol/errors.js";
import type { UsearchConfig } from "../protocol/indexes.js";
import { INDEX_WORKER_SOURCE } from "./index-worker.js";

/**
 * The rows to index: one block in memory, or `rows` row-major float32
 * vectors from byte `offset` of a local file (a segment file's vector
 * column), which the build reads 8 MiB at a time: usearch keeps its own
 * copy of every vector, and a data node that held the segment's blob and a
 * block of its vectors besides held three copies of them at the build's
 * peak (1.5 GB of buffers at 1M × 128-d, measured).
 */
export type BuildRows = Float32Array | { file: string; offset: number; rows: number; /** Read at a time; 8 MiB unless given. */ chunkBytes?: number };

interface BuildRequest {
  usearchPath: string;
  /** One of the two. */
  vectors?: ArrayBuffer;
  source?: Exclude<BuildRows, Float32Array>;
  dim: number;
  config: UsearchConfig;
  /** usearch's add() threads; 0 means every core. */
  threads: number;
  file: string;
}

type BuildReply = { ok: true; rows: number; bytes: number; ms: number } | { ok: false; error: string };

const usearchPath = createRequire(import.meta.url).resolve("usearch");

/**
 * Below this many rows a build uses one thread. Measured (usearch 2.25, M=16,
 * efConstruction=128, 200 random 8-d rows, 300 builds): built on 2 threads, a
 * search asking for every row missed some in 705 of 1,500 searches; built on
 * one, in none. One thread builds 10k rows in about a second.
 */
const SINGLE_THREAD_ROWS = 10_000;

/**
 * Every core: the build runs in a worker thread, so the actors' event loop
 * stays free, and the OS shares the cores with it while it runs (100k×128 on
 * 2 cores: 19 s on one thread, ~10 s on two, `vecbus bench`).
 */
export function defaultBuildThreads(): number {
  return Math.max(1, os.availableParallelism());
}

/**
 * Rows of `dim` float32, keyed by row position, indexed into `file`
 * (`bytes`: its size). Takes ownership of an in-memory block's buffer when
 * the block spans the whole buffer, else copies.
 */
export async function buildIndex(
  source: BuildRows,
  dim: number,
  config: UsearchConfig,
  file: string,
  threads = defaultBuildThreads(),
): Promise<{ rows: number; bytes: number; ms: number }> {
  const inMemory = source instanceof Float32Array;
  const rows = inMemory ? source.length / dim : source.rows;
  if (dim < 1 || !Number.isInteger(rows) || rows < 0) throw new VecbusError("INTERNAL", `cannot index ${inMemory ? `${source.length} floats` : `${source.rows} rows`} as ${dim}-d vectors`);
  let vectors: ArrayBuffer | undefined;
  if (inMemory) {
    const whole = source.byteOffset === 0 && source.byteLength === source.buffer.byteLength && source.buffer instanceof ArrayBuffer;
    vectors = whole ? (source.buffer as ArrayBuffer) : source.slice().buffer;
  }
  // Small graphs are built on one thread: concurrent inserts into a few hundred nodes leave some of them unreachable.
  const req: BuildRequest = { usearchPath, ...(inMemory ? { vectors } : { source }), dim, config, threads: rows < SINGLE_THREAD_ROWS ? 1 : threads, file };
  const worker = new Worker(INDEX_WORKER_SOURCE, { eval: true, workerData: req, transferList: vectors ? [vectors] : [] });
  try {
    const reply = await new Promise<BuildReply>((resolve, reject) => {
      worker.once("message", resolve);
      worker.once("error", reject);
      worker.once("exit", (code) => reject(new VecbusError("INTERNAL", `the index build worker exited (code ${code}) without a result`)));
    });
    if (!reply.ok) throw new VecbusError("INTERNAL", `building the index failed: ${reply.error}`);
    return { rows: reply.rows, bytes: reply.bytes, ms: reply.ms };
  } finally {
    await worker.terminate();
  }
}
