// `vecbus bench`'s report for people: the measured phases, then each vecbus
// figure beside its same-run baseline with the ratio and the target.
import { table } from "../table.js";
import type { MedianRow } from "./medians.js";
import type { BenchReport } from "./run.js";

export function renderBench(r: BenchReport): string {
  const o = r.options;
  const lines = [
    `${o.rows} rows × ${o.dim}-d, ${o.metric}, ${o.shards} shard(s), batch ${o.batch}, ${o.concurrency} in flight, top-${o.limit}, ef ${o.ef}, inserts as ${o.insertForm}, ${o.scalarIndex ? `${o.scalarIndex} index on category` : "no scalar index"}`,
    table(
      ["phase", "ops", "seconds", "per second", "p50 ms", "p99 ms", `recall@${o.limit}`, "ef"],
      r.phases.map((x) => [x.phase, x.ops, x.seconds, x.per_second, x.p50_ms, x.p99_ms, x.recall, x.ef]),
    ),
    "",
    `in-process usearch (same rows, M=16, efConstruction=128): build ${r.engine.build_seconds} s; at ef ${r.engine.search.ef}: ` +
      `${r.engine.search.serial_qps} QPS one query at a time (p50 ${r.engine.search.serial_p50_ms} ms), ${r.engine.search.batched_qps} QPS batched, recall ${r.engine.search.recall}`,
    table(
      ["figure", "vecbus", "baseline", "ratio", "target", "met", "baseline is"],
      r.comparisons.map((c) => [c.figure, c.vecbus, c.baseline, c.unit === "ms" ? `+${c.ratio} ms` : c.ratio, c.target ?? "", c.met === undefined ? "" : c.met ? "yes" : "no", c.baseline_is]),
    ),
  ];
  const m = r.memory_mb;
  if (m) lines.push(`memory: vecbus process (every actor) ${m.vecbus_rss} MB resident, ${m.vecbus_peak} MB peak; its nats-server ${m.nats_rss} MB, ${m.nats_peak} MB peak`);
  const rec = r.recovery;
  if (rec) lines.push(`after SIGKILL of vecbus and nats-server: every row served and searchable again ${rec.ready_seconds} s after the restart began (${rec.rows} rows)`);
  if (r.serve_log) lines.push(`vecbus serve's log: ${r.serve_log}`);
  return lines.join("\n");
}

/** --runs N: each figure's ratio in every run, and the median held against the target; `ownServe`: each run started a serve child. */
export function renderMedians(rows: MedianRow[], ownServe: boolean): string {
  const runs = rows[0]?.ratios.length ?? 0;
  const shown = (r: MedianRow, x: number | null) => (x === null ? "-" : r.unit === "ms" ? `+${x} ms` : x);
  return [
    `ratios over ${runs} runs (${ownServe ? "each on a vecbus serve of its own" : "against the same running vecbus"}), the median held against the target:`,
    table(
      ["figure", ...Array.from({ length: runs }, (_, i) => `run ${i + 1}`), "median", "target", "met"],
      rows.map((r) => [r.figure, ...r.ratios.map((x) => shown(r, x)), shown(r, r.median), r.target ?? "", r.met === undefined ? "" : r.met ? "yes" : "no"]),
    ),
  ].join("\n");
}
