// `vecbus bench` run as users run it, on sizes small enough for CI: the
// report must hold every phase with the counts the test asked for, sane
// figures, and a recall that says the search found the true neighbours
// (the bench computes them by brute force over the vectors it generated).
// Nothing here asserts speed: the figures only have to be positive.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import test from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import type { BenchReport } from "../../cli/bench.js";
import { TEST_TIMEOUT_MS } from "../timeouts.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const execFileAsync = promisify(execFile);

const ROWS = 2000;
const QUERIES = 20;

async function bench(extra: string[]): Promise<BenchReport> {
  const argv = ["--import", "tsx", "cli/main.ts", "bench", "--rows", String(ROWS), "--dim", "8", "--queries", String(QUERIES), "--json", ...extra];
  // Killed before the test's own timeout so a hung bench fails with its stderr instead of leaving a child behind.
  const { stdout } = await execFileAsync(process.execPath, argv, {
    cwd: ROOT,
    env: { ...process.env, VECBUS_LOG: "warn" },
    timeout: TEST_TIMEOUT_MS - 10_000,
    maxBuffer: 16 << 20,
  });
  return JSON.parse(stdout) as BenchReport;
}

function checkReport(r: BenchReport): void {
  assert.deepEqual(
    r.phases.map((p) => [p.phase, p.ops]),
    [
      ["insert rows", ROWS],
      ["flush", 1],
      ["index build and load", ROWS],
      ["search", QUERIES],
      ["search, filter 10%", QUERIES],
      ["get by id", QUERIES],
    ],
  );
  for (const p of r.phases) {
    assert.ok(p.seconds > 0 && p.per_second > 0 && Number.isFinite(p.per_second), `${p.phase}: ${JSON.stringify(p)}`);
    assert.ok(p.p50_ms >= 0 && p.p99_ms >= p.p50_ms, `${p.phase}: ${JSON.stringify(p)}`);
  }
  assert.ok(r.recall >= 0 && r.recall <= 1, `recall ${r.recall}`);
  // 2000 8-d rows in one HNSW graph searched at ef 64: anything far below 1 means the search (or the recall count) is wrong.
  assert.ok(r.recall >= 0.9, `recall@10 of ${ROWS} rows at the default ef: ${r.recall}`);
}

test("bench - a tiny in-process run reports every phase with its counts and a recall near 1", { timeout: TEST_TIMEOUT_MS }, async () => {
  const r = await bench([]);
  checkReport(r);
  assert.equal(r.memory_mb, undefined);
  assert.equal(r.recovery, undefined);
});

test("bench - --restart reports memory and every acked row served again after SIGKILL", { timeout: TEST_TIMEOUT_MS }, async () => {
  const r = await bench(["--restart"]);
  try {
    checkReport(r);
    const m = r.memory_mb!;
    assert.ok(m.vecbus_rss > 0 && m.vecbus_peak >= m.vecbus_rss && m.nats_rss > 0 && m.nats_peak >= m.nats_rss, JSON.stringify(m));
    assert.ok(r.recovery!.ready_seconds >= 0, JSON.stringify(r.recovery));
    assert.equal(r.recovery!.rows, ROWS);
  } finally {
    if (r.serve_log) fs.rmSync(r.serve_log, { force: true });
  }
});
