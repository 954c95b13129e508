// HNSW searches on threads of their own. usearch blocks the thread that
// calls it, and in `vecbus serve` that thread is every actor's event loop:
// with the graph walks on other threads the loop decodes, filters and
// replies meanwhile, and the other cores do the walking. Each index file is
// searched by one thread only: a view maps the file, and two views in one
// process would count its pages twice in resident memory.
import { createRequire } from "node:module";
import os from "node:os";
import { Worker } from "node:worker_threads";
import { Matches, type IndexConfig } from "usearch";
import { VecbusError } from "../protocol/errors.js";
import { SEARCH_WORKER_SOURCE } from "./search-worker.js";

const usearchPath = createRequire(import.meta.url).resolve("usearch");

interface Pending {
  resolve(found: Matches): void;
  reject(e: Error): void;
}

/** One thread and the searches it has not answered yet. */
class SearchThread {
  private readonly worker: Worker;
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;
  /** Files this thread searches. */
  files = 0;
  failed = false;
  /** Searches answered by a batched usearch call (engine/search-worker.ts). */
  batched = 0;

  constructor() {
    this.worker = new Worker(SEARCH_WORKER_SOURCE, { eval: true, workerData: { usearchPath, batchThreads: os.availableParallelism() } });
    // Searches in flight keep the process alive through their callers, not the thread.
    this.worker.unref();
    this.worker.on("message", (m: { id: number; keys?: BigUint64Array; distances?: Float32Array; batched?: boolean; error?: string }) => {
      const p = this.pending.get(m.id);
      this.pending.delete(m.id);
      if (m.batched) this.batched++;
      if (m.error !== undefined) p?.reject(new VecbusError("INTERNAL", `searching the index failed: ${m.error}`));
      else p?.resolve(new Matches(m.keys!, m.distances!));
    });
    const fail = (why: string) => {
      this.failed = true;
      for (const p of this.pending.values()) p.reject(new VecbusError("INTERNAL", `the search thread ${why}; the search may be retried`));
      this.pending.clear();
    };
    this.worker.on("error", (e) => fail(`failed: ${e.message}`));
    this.worker.on("exit", (code) => fail(`exited (code ${code})`));
  }

  search(file: string, options: IndexConfig, query: Float32Array, k: number): Promise<Matches> {
    const id = this.nextId++;
    // A copy of the query's own: a view into a larger buffer would send all of it.
    const own = query.slice();
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ id, file, options, query: own, k }, [own.buffer]);
    });
  }

  forget(file: string): void {
    this.files--;
    if (!this.failed) this.worker.postMessage({ forget: file });
  }

  /**
   * Ends the thread once it has answered every search sent before. Never
   * terminate(): ending a thread inside a usearch call aborts the whole
   * process (a Napi::Error thrown where nothing catches it, seen in tests).
   */
  close(): Promise<void> {
    if (this.failed) return Promise.resolve();
    const exited = new Promise<void>((resolve) => this.worker.once("exit", () => resolve()));
    this.worker.postMessage({ close: true });
    return exited;
  }
}

export class SearchThreads {
  private readonly threads: (SearchThread | undefined)[];
  /** Which thread searches each file. */
  private readonly owners = new Map<string, number>();

  constructor(count: number) {
    if (count < 1) throw new VecbusError("INTERNAL", `search threads: ${count}`);
    this.threads = new Array<SearchThread | undefined>(count).fill(undefined);
  }

  /** Searches the running threads answered in batches: for tests and logs. */
  get batched(): number {
    return this.threads.reduce((sum, t) => sum + (t?.batched ?? 0), 0);
  }

  /** usearch's answer for one query: the file searched through a view made with `options`, asking for k. */
  search(file: string, options: IndexConfig, query: Float32Array, k: number): Promise<Matches> {
    let slot = this.owners.get(file);
    if (slot === undefined) {
      // The thread with the fewest files: the segments of a collection are searched side by side.
      slot = this.threads.reduce((best, t, i) => ((t?.files ?? 0) < (this.threads[best]?.files ?? 0) ? i : best), 0);
      this.owners.set(file, slot);
      this.thread(slot).files++;
    }
    return this.thread(slot).search(file, options, query, k);
  }

  /** The file is searched no more: its thread drops its view. */
  forget(file: string): void {
    const slot = this.owners.get(file);
    if (slot === undefined) return;
    this.owners.delete(file);
    this.threads[slot]?.forget(file);
  }

  /** Ends the threads after the searches sent to them; a search after this starts new ones. */
  async close(): Promise<void> {
    const running = this.threads.filter((t): t is SearchThread => t !== undefined);
    this.threads.fill(undefined);
    this.owners.clear();
    await Promise.all(running.map((t) => t.close()));
  }

  /** A thread that failed is replaced; its files' views are made again on their next search. */
  private thread(slot: number): SearchThread {
    let t = this.threads[slot];
    if (!t || t.failed) {
      const files = t?.files ?? 0;
      t = this.threads[slot] = new SearchThread();
      t.files = files;
    }
    return t;
  }
}
