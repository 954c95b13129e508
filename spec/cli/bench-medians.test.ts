// `vecbus bench --runs N` sums up each figure over the runs: its median
// ratio held against the target. Reports made here by hand, the medians
// worked out by hand.
import assert from "node:assert/strict";
import { it } from "node:test";
import { medians } from "../../cli/bench/medians.js";
import type { BenchReport, Comparison } from "../../cli/bench/run.js";

const figure = (name: string, ratio: number, target?: string, unit = "/s"): Comparison => ({ figure: name, unit, vecbus: 1, baseline: 1, baseline_is: "", ratio, target });
const report = (comparisons: Comparison[]) => ({ comparisons }) as BenchReport;

it("bench medians - the middle ratio of three, a figure missing from a run left out of its median, each target held against the median", () => {
  const rows = medians([
    report([figure("search", 0.45, ">= 0.5"), figure("build", 1.6, "<= 1.5", "s"), figure("p50", 1.2, "<= +1 ms", "ms"), figure("insert", 0.2, ">= 0.3")]),
    report([figure("search", 0.55, ">= 0.5"), figure("build", 1.1, "<= 1.5", "s"), figure("p50", 0.9, "<= +1 ms", "ms"), figure("echo", 0.2), figure("insert", 0.4, ">= 0.3")]),
    report([figure("search", 0.51, ">= 0.5"), figure("build", 1.5, "<= 1.5", "s"), figure("p50", 1.0, "<= +1 ms", "ms"), figure("insert", 0.3, ">= 0.3")]),
  ]);
  assert.deepEqual(
    rows.map((r) => [r.figure, r.ratios, r.median, r.met]),
    [
      ["search", [0.45, 0.55, 0.51], 0.51, true],
      ["build", [1.6, 1.1, 1.5], 1.5, true],
      ["p50", [1.2, 0.9, 1.0], 1.0, true],
      ["insert", [0.2, 0.4, 0.3], 0.3, true],
      ["echo", [null, 0.2, null], 0.2, undefined],
    ],
  );
  const missed = medians([report([figure("search", 0.49, ">= 0.5"), figure("p50", 1.01, "<= +1 ms", "ms")]), report([figure("search", 0.5, ">= 0.5"), figure("p50", 1.05, "<= +1 ms", "ms")])]);
  assert.deepEqual(
    missed.map((r) => [r.figure, r.median, r.met]),
    [
      ["search", 0.495, false],
      ["p50", 1.03, false],
    ],
  );
});
