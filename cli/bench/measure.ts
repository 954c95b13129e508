// Timing helpers of the bench: operations run with a number in flight,
// latency percentiles, waits with a progress line.
import { progress } from "../progress.js";

export interface Timed {
  ops: number;
  seconds: number;
  per_second: number;
  p50_ms: number;
  p99_ms: number;
}

export function percentile(sorted: number[], p: number): number {
  return sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
}

export function round(x: number, digits: number): number {
  return Number(x.toFixed(digits));
}

/** Runs `count` operations with `concurrency` in flight; `op(i)` returns how many units it did. */
export async function timed(label: string, count: number, concurrency: number, op: (i: number) => Promise<number>): Promise<Timed> {
  const bar = progress(label);
  const latencies: number[] = [];
  let next = 0;
  let units = 0;
  const start = performance.now();
  await inFlight(Math.min(concurrency, count), () => (next < count ? next++ : undefined), async (i) => {
    const t = performance.now();
    // Not `units += await op(i)`: that reads units before the await and loses the other workers' counts.
    const done = await op(i);
    units += done;
    latencies.push(performance.now() - t);
    bar.update(units);
  });
  const seconds = (performance.now() - start) / 1000;
  latencies.sort((a, b) => a - b);
  const result = {
    ops: units,
    seconds: round(seconds, 3),
    per_second: Math.round(units / seconds),
    p50_ms: round(percentile(latencies, 0.5), 2),
    p99_ms: round(percentile(latencies, 0.99), 2),
  };
  bar.done(`${label}: ${result.ops} in ${result.seconds} s (${result.per_second}/s)`);
  return result;
}

/**
 * Runs operations untimed for `seconds` with `concurrency` in flight: a cold
 * search path (JIT, socket buffers) ran at 2,214 QPS over 2,000 queries and
 * 3,574 over 30,000 in the same setup, so timed phases measure after this.
 */
export async function warmUp(label: string, seconds: number, concurrency: number, count: number, op: (i: number) => Promise<unknown>): Promise<void> {
  if (seconds === 0) return;
  const bar = progress(`${label}: warm-up`);
  const until = performance.now() + seconds * 1000;
  let next = 0;
  await inFlight(concurrency, () => (performance.now() < until ? next++ % count : undefined), async (i) => {
    await op(i);
    bar.update(next);
  });
  bar.done(`${label}: warmed up with ${next} operations in ${seconds} s`);
}

/** Runs `op(i)` for each i that `next()` gives, `concurrency` at a time, until it gives undefined. */
async function inFlight(concurrency: number, next: () => number | undefined, op: (i: number) => Promise<void>): Promise<void> {
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (let i = next(); i !== undefined; i = next()) await op(i);
    }),
  );
}

/** Waits until a condition holds, showing what it is waiting for; returns the seconds it took. */
export async function waitFor(label: string, check: () => Promise<{ done: boolean; at: number; total?: number }>): Promise<number> {
  const bar = progress(label);
  const start = performance.now();
  for (;;) {
    const s = await check().catch(() => ({ done: false, at: 0, total: undefined }));
    bar.update(s.at, s.total);
    if (s.done) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const seconds = round((performance.now() - start) / 1000, 2);
  bar.done(`${label}: ${seconds} s`);
  return seconds;
}
