// Median and p99 of a one-row `get` at Strong and at Bounded consistency,
// 500 sequential requests each after 100 warm-up ones, against a fresh
// `vecbus serve` (2 shards, 1000 rows of 8-d). Run from a built tree
// (`npm run build`): node scripts/strong-latency.mjs [TREE], where TREE is the
// root of the build to measure (default: this one), so two builds can be
// compared the same way.
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import readline from "node:readline";

const root = path.resolve(process.argv[2] ?? path.join(import.meta.dirname, ".."));
const { VecbusClient } = await import(path.join(root, "dist/runtime/client.js"));
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "vecbus-latency-"));
const port = 14000 + Math.floor(Math.random() * 1000);
const serve = spawn(process.execPath, [path.join(root, "dist/cli/main.js"), "serve", "--data", dir, "--port", String(port)], {
  stdio: ["ignore", "pipe", "inherit"],
  env: { ...process.env, VECBUS_LOG: "warn" },
});
try {
  const url = await new Promise((resolve) =>
    readline.createInterface({ input: serve.stdout }).on("line", (l) => {
      const m = /^vecbus ready on (\S+)/.exec(l);
      if (m) resolve(m[1]);
    }),
  );
  const c = await VecbusClient.connect(url);
  await c.create_collection({ collection_name: "s", dimension: 8, num_shards: 2 });
  await c.insert({ collection_name: "s", data: Array.from({ length: 1000 }, (_, i) => ({ id: i, vector: Array.from({ length: 8 }, () => Math.random()) })) });
  const out = {};
  for (const level of ["Strong", "Bounded"]) {
    const t = [];
    for (let i = 0; i < 600; i++) {
      const s = performance.now();
      await c.call("get", { collection_name: "s", ids: [i % 1000], output_fields: ["id"], consistency_level: level });
      if (i >= 100) t.push(performance.now() - s);
    }
    t.sort((a, b) => a - b);
    out[level] = { p50_ms: +t[Math.floor(t.length / 2)].toFixed(3), p99_ms: +t[Math.floor(t.length * 0.99)].toFixed(3) };
  }
  console.log(JSON.stringify(out));
  await c.close();
} finally {
  serve.kill("SIGINT");
  await new Promise((r) => serve.once("exit", r));
  fs.rmSync(dir, { recursive: true, force: true });
}
