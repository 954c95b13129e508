// Where a process's memory is, every 5 s ($VECBUS_MEMORY_TRACE_MS): loaded with --import into
// `vecbus serve`, it appends to $VECBUS_MEMORY_TRACE (default
// memory-trace.txt) one line of resident memory split into anonymous and
// file-backed (mapped index files) from /proc/self/smaps_rollup, and of
// what V8 knows of: its heap and the ArrayBuffers (vector columns). The
// README's memory steps at 1M were measured so:
//
//   node --import ./scripts/memory-trace.mjs dist/cli/main.js serve --data d --port 14555 --milvus-port off &
//   node dist/cli/main.js bench --nats-url nats://127.0.0.1:14555 --data d --rows 1000000 --dim 128 --queries 1000
//   kill %1; cat memory-trace.txt
import fs from "node:fs";

const out = process.env.VECBUS_MEMORY_TRACE ?? "memory-trace.txt";
const mb = (bytes) => Math.round(bytes / 1048576);
const kbOf = (rollup, key) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, "m").exec(rollup)?.[1] ?? 0);

setInterval(() => {
  const rollup = fs.readFileSync("/proc/self/smaps_rollup", "utf8");
  const m = process.memoryUsage();
  const line = [
    new Date().toISOString(),
    `rss ${Math.round(kbOf(rollup, "Rss") / 1024)} MB`,
    `peak ${Math.round(kbOf(fs.readFileSync("/proc/self/status", "utf8"), "VmHWM") / 1024)} MB`,
    `anonymous ${Math.round(kbOf(rollup, "Anonymous") / 1024)} MB`,
    `file-backed ${Math.round(kbOf(rollup, "Pss_File") / 1024)} MB`,
    `js heap ${mb(m.heapUsed)}/${mb(m.heapTotal)} MB`,
    `array buffers ${mb(m.arrayBuffers)} MB`,
  ].join("  ");
  fs.appendFileSync(out, line + "\n");
}, Number(process.env.VECBUS_MEMORY_TRACE_MS ?? 5_000)).unref();
