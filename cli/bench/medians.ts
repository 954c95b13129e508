// The targets are medians over several runs of `vecbus bench`
// (this VM's figures vary a lot between runs): with --runs N the bench runs
// N times (each on a serve child of its own, unless --nats-url names a
// running vecbus), and sums up each figure's ratio over the runs, with its
// median held against the target.
import type { BenchReport, Comparison } from "./run.js";
import { round } from "./measure.js";

/** One figure over the runs. */
export interface MedianRow {
  figure: string;
  unit: string;
  /** Each run's ratio (null: the figure was not measured in that run). */
  ratios: (number | null)[];
  median: number;
  target?: string;
  met?: boolean;
}

/** Whether a ratio meets a target of the bench's forms: ">= 0.5", "<= 1.5", "<= +1 ms" (a difference in ms). */
export function meets(target: string, ratio: number): boolean {
  const m = /^(>=|<=) \+?(-?[\d.]+)( ms)?$/.exec(target);
  if (!m) throw new Error(`not a target: ${target}`);
  return m[1] === ">=" ? ratio >= Number(m[2]) : ratio <= Number(m[2]);
}

/** The middle value (the mean of the two middle ones for an even count). */
export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/** Every figure of the runs, in the order the first run that has it reports it. */
export function medians(runs: BenchReport[]): MedianRow[] {
  const figures = new Map<string, Comparison>();
  for (const r of runs) for (const c of r.comparisons) if (!figures.has(c.figure)) figures.set(c.figure, c);
  return [...figures.values()].map(({ figure, unit, target }) => {
    const ratios = runs.map((r) => r.comparisons.find((c) => c.figure === figure)?.ratio ?? null);
    const mid = round(median(ratios.filter((x): x is number => x !== null)), 3);
    return { figure, unit, ratios, median: mid, ...(target && { target, met: meets(target, mid) }) };
  });
}
