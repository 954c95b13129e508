// HNSW searches on threads of their own. usearch blocks the thread that
// calls it, and in `vecbus serve` that thread is every actor's event loop:
// with the graph walks on other threads the loop decodes, filters and
// replies meanwhile, and the other cores do the walking. Each index file is
// searched by one thread only: a view maps the file, and two views in one
// process would count its pages twice in resident memory.
import { createRequire } from "node:module";
import os from "node:os";
import { Worker } from "node:worker_threads";
import { Matches, type IndexConfig, type MetricKind } from "usearch";
import { VecbusError } from "../protocol/errors.js";
import { SEARCH_WORKER_SOURCE } from "./search-worker.js";

const usearchPath = createRequire(import.meta.url).resolve("usearch");

/** What a thread answers (engine/search-worker.ts). */
interface Reply {
  id: number;
  keys?: BigUint64Array;
  slots?: Int32Array;
  distances?: Float32Array;
  batched?: boolean;
  error?: string;
}

interface Pending {
  resolve(reply: Reply): void;
  reject(e: Error): void;
}

/** Rows to rank by code on a thread (see VectorCodes). */
export interface RankByCode {
  /** Every row's codes, in shared memory. */
  codes: Int8Array;
  dim: number;
  slots: Int32Array;
  query: Int8Array;
  metric: MetricKind;
  /** Best rows kept per gathered chunk. */
  keep: number;
}

/** One thread and the searches it has not answered yet. */
class SearchThread {
  private readonly worker: Worker;
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;
  /** Files this thread searches. */
  files = 0;
  failed = false;
  /** Set by close(): the thread keeps the process alive until it has ended. */
  private closing = false;
  /** Searches answered by a batched usearch call (engine/search-worker.ts). */
  batched = 0;

  constructor() {
    this.worker = new Worker(SEARCH_WORKER_SOURCE, { eval: true, workerData: { usearchPath, batchThreads: os.availableParallelism() } });
    // An idle thread does not keep the process alive; one with requests in flight does (ask()), until it answers them.
    this.worker.unref();
    this.worker.on("message", (m: Reply) => {
      const p = this.pending.get(m.id);
      this.pending.delete(m.id);
      if (this.pending.size === 0 && !this.closing) this.worker.unref();
      if (m.batched) this.batched++;
      if (m.error !== undefined) p?.reject(new VecbusError("INTERNAL", `searching the index failed: ${m.error}`));
      else p?.resolve(m);
    });
    const fail = (why: string) => {
      this.failed = true;
      for (const p of this.pending.values()) p.reject(new VecbusError("INTERNAL", `the search thread ${why}; the search may be retried`));
      this.pending.clear();
      this.worker.unref();
    };
    this.worker.on("error", (e) => fail(`failed: ${e.message}`));
    this.worker.on("exit", (code) => fail(`exited (code ${code})`));
  }

  /** Requests sent and not answered yet. */
  get waiting(): number {
    return this.pending.size;
  }

  async search(file: string, options: IndexConfig, query: Float32Array, k: number): Promise<Matches> {
    // A copy of the query's own: a view into a larger buffer would send all of it.
    const own = query.slice();
    const reply = await this.ask({ file, options, query: own, k }, [own.buffer]);
    return new Matches(reply.keys!, reply.distances!);
  }

  /** Each gathered chunk's best `keep` slots by code, with their code distances. */
  async rank(req: RankByCode): Promise<{ slots: Int32Array; distances: Float32Array }> {
    // Made for this request (VectorCodes.shortlist), never shared: moved, not copied.
    const reply = await this.ask({ rank: req }, [req.slots.buffer as ArrayBuffer, req.query.buffer as ArrayBuffer]);
    return { slots: reply.slots!, distances: reply.distances! };
  }

  private ask(message: object, transfer: ArrayBuffer[]): Promise<Reply> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      if (this.pending.size === 0) this.worker.ref();
      this.pending.set(id, { resolve, reject });
      try {
        this.worker.postMessage({ id, ...message }, transfer);
      } catch (e) {
        this.pending.delete(id);
        if (this.pending.size === 0 && !this.closing) this.worker.unref();
        reject(new VecbusError("INTERNAL", `sending to the search thread failed: ${(e as Error).message}`));
      }
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
    // Until it has ended: a caller awaiting close() holds nothing else that keeps the process alive.
    this.closing = true;
    this.worker.ref();
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

  /** Rows ranked by code on the thread with the fewest requests waiting (the codes are shared: any thread has them). */
  rank(req: RankByCode): Promise<{ slots: Int32Array; distances: Float32Array }> {
    const slot = this.threads.reduce((best, t, i) => ((t?.waiting ?? 0) < (this.threads[best]?.waiting ?? 0) ? i : best), 0);
    return this.thread(slot).rank(req);
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
