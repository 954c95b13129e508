// `vecbus bench`: measures ingest, indexing, loading and search through the
// public API of a `vecbus serve` child process (or a running vecbus, with
// --nats-url), and in the same run the limits each figure is held against:
// usearch in this process over the same rows (build, one query at a time,
// batched) and the insert requests' bytes published straight to JetStream;
// searches through the Milvus gRPC front door stand beside the NATS API's.
// Figures in the README come from this command.
import os from "node:os";
import path from "node:path";
import fs from "node:fs";
import type { MetricType } from "../../protocol/schema.js";
import { Names, DEFAULT_PREFIX } from "../../protocol/subjects.js";
import { VecbusClient } from "../../runtime/client.js";
import { closeConnection, connectNats, type NatsAuth } from "../../runtime/connection.js";
import { encode } from "../../runtime/codec.js";
import { BlobStore } from "../../storage/object-store.js";
import { makeScratchDir, removeOrphanedScratchDirs } from "../../storage/scratch-dir.js";
import { progress } from "../progress.js";
import { OVERSAMPLE } from "../../engine/ann-search.js";
import { CATEGORIES, exactAnswers, generate, recall, rowVector } from "./dataset.js";
import { EngineBaseline, type EngineSearch } from "./engine-baseline.js";
import { round, timed, waitFor, warmUp, type Timed } from "./measure.js";
import { natsResponder, type Responder } from "./responder-baseline.js";
import { meets } from "./medians.js";
import { milvusSearcher } from "./milvus-search.js";
import { rawJetStream } from "./stream-baseline.js";
import { startTarget, type Memory, type Target } from "./target.js";

export interface BenchOptions {
  natsUrl?: string;
  /** With natsUrl: credentials allowed to create a stream and read the object store (for the baselines). */
  auth?: NatsAuth;
  rows: number;
  dim: number;
  batch: number;
  queries: number;
  concurrency: number;
  limit: number;
  shards: number;
  metric: MetricType;
  /** Query vectors whose exact answers are computed here to measure recall. */
  recallQueries: number;
  /** HNSW search breadth, or "auto": for vecbus and for usearch separately, the smallest of EF_LADDER reaching recallTarget. */
  ef: number | "auto";
  recallTarget: number;
  /** Filtered searches: `category < s` passes s% of the rows. */
  selectivities: number[];
  /** The scalar index type declared on `category`, the filtered field; undefined: none. */
  scalarIndex?: string;
  /** How insert requests carry their rows: `columns` (vectors as one float32 block) or `data` (a list of row maps). */
  insertForm: "columns" | "rows";
  /** SIGKILL the serve child and its nats-server after the search phases, and time the restart until every row is served. */
  restart: boolean;
  /** Untimed searches before each timed search phase (measure.ts warmUp). */
  warmUpSeconds: number;
  /** HOST:PORT of a Milvus front door to search through (default: the serve child's; none with --nats-url). */
  milvus?: string;
}

/** A vecbus figure beside its same-run baseline. */
export interface Comparison {
  figure: string;
  unit: string;
  vecbus: number;
  baseline: number;
  baseline_is: string;
  /** vecbus ÷ baseline (a difference, in ms, for latency). */
  ratio: number;
  /** The target for the ratio, e.g. ">= 0.5". */
  target?: string;
  met?: boolean;
  recall?: number;
  ef?: number;
}

export interface BenchPhase extends Timed {
  phase: string;
  recall?: number;
  ef?: number;
}

export interface BenchReport {
  options: BenchOptions;
  phases: BenchPhase[];
  engine: { build_seconds: number; search: EngineSearch };
  comparisons: Comparison[];
  /** Recall@limit of unfiltered search against exact search. */
  recall: number;
  /** Resident memory of every actor (the vecbus process) and of its nats-server, in MB (serve child only). */
  memory_mb?: Memory;
  /** With restart: seconds from the restart until every acked row is served and searchable again, and the rows found. */
  recovery?: { ready_seconds: number; rows: number };
  /** The `vecbus serve` child's log. */
  serve_log?: string;
}

/** A query node keeps a segment moved away for 5 s (UNLOAD_GRACE_MS in actors/query.ts), then drops it and its cached files. */
const UNLOAD_WAIT_MS = 6_000;

/** The breadths an "auto" ef tries, smallest first. */
const EF_LADDER = [16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512];

/** A NATS responder baseline (responder-baseline.ts) as the target's admin user, warmed up like the search phases; undefined with credentials a worker cannot be given. */
async function responderBaseline(target: Target, opts: BenchOptions, responder: Responder, request: (i: number) => unknown): Promise<(Timed & { answers: unknown[] }) | undefined> {
  const nc = await connectNats(target.url, "vecbus-bench-responder", { reconnectForever: false, auth: target.admin });
  try {
    return await natsResponder(nc, target.url, target.admin, responder, opts.queries, opts.concurrency, request, opts.warmUpSeconds);
  } finally {
    await closeConnection(nc);
  }
}

export async function runBench(opts: BenchOptions): Promise<BenchReport> {
  const gen = progress("generate rows and exact answers");
  const data = generate(opts.rows, opts.dim, opts.queries);
  const recallCount = Math.min(opts.recallQueries, opts.queries);
  const exact = exactAnswers(data, opts.metric, opts.limit, recallCount, opts.selectivities);
  gen.done(`generated ${opts.rows} rows, ${opts.queries} queries and the exact answers of ${recallCount}`);
  const target = await startTarget(opts.natsUrl, opts.auth);
  await removeOrphanedScratchDirs("bench-engine");
  const scratch = await makeScratchDir("bench-engine");
  let client = await VecbusClient.connect(target.url, { timeoutMs: 120_000 });
  const name = `bench_${Date.now()}`;
  try {
    const phases: BenchPhase[] = [];
    const comparisons: Comparison[] = [];
    const batches = Math.ceil(opts.rows / opts.batch);
    const insertBody = (b: number) => {
      const from = b * opts.batch;
      const n = Math.min(opts.batch, opts.rows - from);
      const ids = Array.from({ length: n }, (_, i) => from + i);
      if (opts.insertForm === "rows") {
        return { args: { collection_name: name, data: ids.map((id) => ({ id, vector: rowVector(data, id), category: id % CATEGORIES })) }, rows: n };
      }
      const columns = { id: ids, vector: data.vectors.subarray(from * opts.dim, (from + n) * opts.dim), category: ids.map((id) => id % CATEGORIES) };
      return { args: { collection_name: name, columns }, rows: n };
    };

    const admin = target.admin ? await connectNats(target.url, "vecbus-bench-admin", { reconnectForever: false, auth: target.admin }) : undefined;
    let raw: Timed | undefined;
    try {
      if (admin) {
        raw = await rawJetStream(admin, batches, opts.concurrency, (b) => {
          const { args, rows } = insertBody(b);
          return { bytes: encode(args), rows };
        });
      }

      // `category` is a schema field, as a filtered field is in a Milvus schema (a dynamic key would be read from each row's JSON).
      await client.create_collection({
        collection_name: name,
        schema: {
          fields: [
            { name: "id", type: "Int64", is_primary: true },
            { name: "vector", type: "FloatVector", dim: opts.dim },
            { name: "category", type: "Int32" },
          ],
        },
        metric_type: opts.metric,
        num_shards: opts.shards,
        index_params: [{ field_name: "vector", index_type: "AUTOINDEX" }, ...(opts.scalarIndex ? [{ field_name: "category", index_type: opts.scalarIndex }] : [])],
      });
      const insert = await timed("insert rows", batches, opts.concurrency, async (b) => {
        const { args, rows } = insertBody(b);
        await client.insert(args);
        return rows;
      });
      phases.push({ phase: "insert rows", ...insert });
      if (raw) comparisons.push(rate("insert rows/s", insert.per_second, raw.per_second, `raw JetStream publish of the same request bytes, ${opts.concurrency} in flight`, ">= 0.3"));

      phases.push({ phase: "flush", ...(await timed("flush", 1, 1, async () => (await client.flush({ collection_name: name }), 1))) });
      const built = await waitFor("index build", async () => {
        const ix = await client.describe_index({ collection_name: name, index_name: "vector" });
        return { done: ix.state === "Finished", at: ix.indexed_rows, total: ix.total_rows };
      });
      const loaded = await waitFor("load on the query node", async () => ({ done: (await client.get_load_state({ collection_name: name })).state === "Loaded", at: 0 }));
      phases.push(still("index build", opts.rows, built), still("load after indexing", opts.rows, loaded));
      // Most segments load while later ones are still being indexed: a whole load is timed by releasing the collection and loading it again.
      await client.release_collection({ collection_name: name });
      await new Promise((r) => setTimeout(r, UNLOAD_WAIT_MS));
      const reload = progress("load again after release");
      const started = performance.now();
      await client.load_collection({ collection_name: name, timeout: 600 });
      const reloaded = round((performance.now() - started) / 1000, 2);
      reload.done(`load again after release: ${reloaded} s`);
      phases.push(still("load again after release", opts.rows, reloaded));
      if (admin) {
        const read = await objectStoreRead(admin);
        comparisons.push(duration("load of every segment, s", reloaded, read.seconds, `reading its ${read.mb} MB of segment and index objects from the object store`));
      }
    } finally {
      await admin?.close().catch(() => undefined);
    }

    const engineBuild = progress("in-process usearch build (baseline)");
    const engine = EngineBaseline.build(data, opts.metric, path.join(scratch, "baseline.usearch"));
    engineBuild.done(`in-process usearch build (baseline): ${engine.buildSeconds} s`);
    const buildAndLoad = round(phases.find((p) => p.phase === "index build")!.seconds + phases.find((p) => p.phase === "load after indexing")!.seconds, 2);
    comparisons.push(duration("index build + load, s", buildAndLoad, engine.buildSeconds, `in-process usearch build on ${os.availableParallelism()} threads`));

    const unfilteredExact = exact.get(CATEGORIES)!;
    const searchArgs = (i: number, ef: number, filter?: string) => ({ collection_name: name, data: [data.queries[i]], limit: opts.limit, filter, search_params: { params: { ef } } });
    const searchIds = async (i: number, ef: number, filter?: string): Promise<number[]> => (await client.search(searchArgs(i, ef, filter)))[0].map((h) => h.id as number);
    const vecbusRecall = async (ef: number) => recall(await Promise.all(unfilteredExact.map((_, q) => searchIds(q, ef))), unfilteredExact);
    const vecbusEf = opts.ef === "auto" ? await smallestEf(vecbusRecall, opts.recallTarget, "vecbus") : opts.ef;
    const engineEf = opts.ef === "auto" ? await smallestEf(async (ef) => engine.recallAt(ef, opts.limit, unfilteredExact), opts.recallTarget, "in-process usearch") : opts.ef;
    const engineSearch = engine.measure(engineEf, opts.limit, unfilteredExact);

    const searchPhase = async (label: string, count: number, concurrency: number, filter: string | undefined, want: number[][]): Promise<BenchPhase> => {
      await warmUp(label, opts.warmUpSeconds, concurrency, count, (i) => searchIds(i, vecbusEf, filter));
      const answers: number[][] = [];
      const t = await timed(label, count, concurrency, async (i) => {
        answers[i] = await searchIds(i, vecbusEf, filter);
        return 1;
      });
      return { phase: label, ...t, recall: recall(answers.slice(0, want.length), want), ef: vecbusEf };
    };

    const unfiltered = await searchPhase(`search, ${opts.concurrency} in flight`, opts.queries, opts.concurrency, undefined, unfilteredExact);
    phases.push(unfiltered);
    comparisons.push({
      ...rate(`search QPS, ${opts.concurrency} in flight`, unfiltered.per_second, engineSearch.serial_qps, "in-process usearch, one query at a time on one thread", ">= 0.5"),
      recall: unfiltered.recall,
      ef: vecbusEf,
    });
    comparisons.push(rate(`search QPS, ${opts.concurrency} in flight, vs batched`, unfiltered.per_second, engineSearch.batched_qps, `in-process usearch, every query in one call on ${os.availableParallelism()} threads`));
    const echo = await responderBaseline(target, opts, { label: "NATS request-reply echo (baseline)", answer: { reply: await client.search(searchArgs(0, vecbusEf)) } }, (i) => searchArgs(i, vecbusEf));
    if (echo) {
      comparisons.push(
        rate(`search QPS, ${opts.concurrency} in flight, vs NATS echo`, unfiltered.per_second, echo.per_second, "a Node responder answering the same request bytes with a search reply's, over NATS, same in flight"),
      );
    }
    const overNats = await responderBaseline(
      target,
      opts,
      { label: "NATS + usearch responder (baseline)", answer: { index: engine.responderIndex(engineEf, opts.limit) } },
      (i) => searchArgs(i, engineEf),
    );
    if (overNats) {
      const ids = (a: unknown) => (a as { id: number }[][])[0].map((h) => h.id);
      comparisons.push({
        ...rate(
          `search QPS, ${opts.concurrency} in flight, vs NATS + usearch`,
          unfiltered.per_second,
          overNats.per_second,
          `a Node responder searching the in-process index (ef ${engineEf}) for each request, over NATS, same in flight: ${round(overNats.per_second / engineSearch.serial_qps, 3)} of the serial QPS`,
        ),
        // Its answers, checked: a responder that answered wrongly would be no ceiling.
        recall: recall(overNats.answers.slice(0, unfilteredExact.length).map(ids), unfilteredExact),
        ef: engineEf,
      });
    }
    const frontDoor = opts.milvus ?? target.milvus;
    if (frontDoor) {
      const milvus = milvusSearcher(frontDoor, name, opts.limit, vecbusEf);
      try {
        const label = `search through the Milvus gRPC front door, ${opts.concurrency} in flight`;
        await warmUp(label, opts.warmUpSeconds, opts.concurrency, opts.queries, (i) => milvus.search(data.queries[i]));
        const answers: number[][] = [];
        const t = await timed(label, opts.queries, opts.concurrency, async (i) => {
          answers[i] = await milvus.search(data.queries[i]);
          return 1;
        });
        const viaMilvus: BenchPhase = { phase: label, ...t, recall: recall(answers.slice(0, unfilteredExact.length), unfilteredExact), ef: vecbusEf };
        phases.push(viaMilvus);
        comparisons.push({
          ...rate(`Milvus gRPC search QPS, ${opts.concurrency} in flight`, viaMilvus.per_second, unfiltered.per_second, "vecbus's NATS API search, same run (the front door is a client of it)"),
          recall: viaMilvus.recall,
          ef: vecbusEf,
        });
      } finally {
        milvus.close();
      }
    }
    const single = await searchPhase("search, 1 in flight", Math.min(opts.queries, 300), 1, undefined, unfilteredExact);
    phases.push(single);
    comparisons.push({
      figure: "search p50 latency, 1 in flight, ms",
      unit: "ms",
      vecbus: single.p50_ms,
      baseline: engineSearch.serial_p50_ms,
      baseline_is: "in-process usearch, one query",
      ratio: round(single.p50_ms - engineSearch.serial_p50_ms, 3),
      target: "<= +1 ms",
      met: meets("<= +1 ms", single.p50_ms - engineSearch.serial_p50_ms),
    });
    for (const s of opts.selectivities) {
      const filtered = await searchPhase(`search, filter ${s}%`, opts.queries, opts.concurrency, `category < ${s}`, exact.get(s)!);
      phases.push(filtered);
      comparisons.push({
        ...rate(`filtered ${s}% search QPS`, filtered.per_second, unfiltered.per_second, "vecbus unfiltered search, same run", s >= 50 ? ">= 0.7" : ">= 0.5"),
        recall: filtered.recall,
        ef: vecbusEf,
      });
      if (s === 10) {
        // An index without a filtered walk finds a filter's hits among OVERSAMPLE × limit / selectivity candidates (engine/ann-search.ts).
        const k = Math.ceil((OVERSAMPLE * opts.limit * 100) / s);
        const asked = engine.candidatesQps(engineEf, k, Math.min(opts.queries, 300));
        comparisons.push({
          ...rate(
            `filtered ${s}% search QPS, vs in-process`,
            filtered.per_second,
            engineSearch.serial_qps,
            `in-process usearch, unfiltered, one query at a time on one thread (asked for the ${k} candidates a ${s}% filter needs: ${asked} QPS)`,
            opts.rows >= 1_000_000 ? ">= 0.25" : undefined,
          ),
          recall: filtered.recall,
          ef: vecbusEf,
        });
      }
    }
    phases.push({
      phase: "get by id",
      ...(await timed("get by id", opts.queries, opts.concurrency, async (i) => {
        await client.get({ collection_name: name, ids: [(i * 7919) % opts.rows] });
        return 1;
      })),
    });

    const report: BenchReport = { options: opts, phases, engine: { build_seconds: engine.buildSeconds, search: engineSearch }, comparisons, recall: unfiltered.recall! };
    if (target.memory) report.memory_mb = target.memory();
    if (target.crash) report.serve_log = target.log;
    if (opts.restart && target.crash) {
      await client.close().catch(() => undefined);
      const started = performance.now();
      await target.crash();
      client = await VecbusClient.connect(target.url, { timeoutMs: 120_000 });
      report.recovery = { ready_seconds: 0, rows: 0 };
      await waitFor("restart until every row is served", async () => {
        const load = await client.get_load_state({ collection_name: name });
        const rows = ((await client.query({ collection_name: name, filter: "id >= 0", output_fields: ["count(*)"], consistency_level: "Strong" }))[0]["count(*)"] as number) ?? 0;
        const hits = await client.search({ collection_name: name, data: [data.queries[0]], limit: opts.limit });
        report.recovery!.rows = rows;
        return { done: load.state === "Loaded" && rows === opts.rows && hits[0].length === Math.min(opts.limit, opts.rows), at: rows, total: opts.rows };
      });
      report.recovery.ready_seconds = round((performance.now() - started) / 1000, 1);
    }
    await client.drop_collection({ collection_name: name });
    return report;
  } finally {
    await client.close().catch(() => undefined);
    await target.stop();
    fs.rmSync(scratch, { recursive: true, force: true });
  }
}

/** A wait measured as a phase: ops over the seconds it took, no latencies. */
function still(phase: string, ops: number, seconds: number): BenchPhase {
  return { phase, ops, seconds, per_second: Math.round(ops / Math.max(seconds, 0.001)), p50_ms: 0, p99_ms: 0 };
}

function ratioOf(a: number, b: number): number {
  return b > 0 ? round(a / b, 3) : 0;
}

/** A duration against its baseline: the target is at most 1.5 times it. */
function duration(figure: string, vecbus: number, baseline: number, baselineIs: string): Comparison {
  const ratio = ratioOf(vecbus, baseline);
  return { figure, unit: "s", vecbus, baseline, baseline_is: baselineIs, ratio, target: "<= 1.5", met: meets("<= 1.5", ratio) };
}

/** A rate against its baseline: met when the ratio reaches the target's bound. */
function rate(figure: string, vecbus: number, baseline: number, baselineIs: string, target?: string): Comparison {
  const ratio = ratioOf(vecbus, baseline);
  return { figure, unit: "/s", vecbus, baseline, baseline_is: baselineIs, ratio, target, met: target ? meets(target, ratio) : undefined };
}

/** The smallest ef of the ladder whose recall reaches the target (the largest when none does). */
async function smallestEf(recallAt: (ef: number) => Promise<number>, target: number, who: string): Promise<number> {
  const bar = progress(`ef for recall >= ${target} (${who})`);
  for (const ef of EF_LADDER) {
    const r = await recallAt(ef);
    bar.update(ef);
    if (r >= target) {
      bar.done(`${who}: ef ${ef} reaches recall ${r}`);
      return ef;
    }
  }
  const last = EF_LADDER[EF_LADDER.length - 1];
  bar.done(`${who}: no ef reaches recall ${target}; searching at ${last}`);
  return last;
}

/** Reads every object of the segments bucket (what query nodes download): the floor of a load. */
async function objectStoreRead(nc: Parameters<typeof BlobStore.open>[0]): Promise<{ seconds: number; mb: number }> {
  const store = await BlobStore.open(nc, new Names(DEFAULT_PREFIX).objectBucket());
  const objects = await store.list();
  const started = performance.now();
  let bytes = 0;
  for (const o of objects) bytes += (await store.get(o.name))?.byteLength ?? 0;
  return { seconds: round((performance.now() - started) / 1000, 2), mb: Math.round(bytes / 1e6) };
}
