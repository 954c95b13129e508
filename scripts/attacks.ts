// Times the hostile requests of issue 9 (spec/hostile.ts) against a vecbus:
// for each, how long its answer took and the slowest list_collections another
// client got meanwhile (it asks again as soon as it has an answer). Not a
// test: the times depend on the machine; the tests check the answers.
//
//   node --import tsx scripts/attacks.ts [--server URL] [--json]
//
// Without --server it starts `vecbus serve` on a free port in a temp dir.
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import readline from "node:readline";
import { parseArgs } from "node:util";
import { freePort } from "../cli/nats-server.js";
import { table } from "../cli/table.js";
import { VecbusError } from "../protocol/errors.js";
import { composeTs } from "../protocol/timestamp.js";
import { VecbusClient } from "../runtime/client.js";
import { HOSTILE, HOSTILE_COLLECTION, prepareHostile, type Hostile } from "../spec/hostile.js";

interface Row {
  request: string;
  answer: string;
  ms: number;
  probe_max_ms: number;
  probes: number;
}

async function startServe(): Promise<{ url: string; child: ChildProcess; dir: string }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "vecbus-attacks-"));
  const port = await freePort();
  const child = spawn(process.execPath, ["--import", "tsx", "cli/main.ts", "serve", "--data", dir, "--port", String(port)], {
    cwd: path.resolve(import.meta.dirname, ".."),
    env: { ...process.env, VECBUS_LOG: "error" },
    stdio: ["ignore", "pipe", "inherit"],
  });
  const url = await new Promise<string>((resolve, reject) => {
    child.once("exit", (code) => reject(new Error(`serve exited with ${code}`)));
    readline.createInterface({ input: child.stdout! }).on("line", (line) => {
      const m = /^vecbus ready on (\S+)$/.exec(line);
      if (m) resolve(m[1]);
    });
  });
  return { url, child, dir };
}

/** Runs `attack` while `probe` asks list_collections back to back; returns both timings. */
async function timed(probe: VecbusClient, name: string, attack: () => Promise<unknown>): Promise<Row> {
  let running = true;
  let probeMax = 0;
  let probes = 0;
  const prober = (async () => {
    while (running) {
      const t = performance.now();
      await probe.list_collections();
      probeMax = Math.max(probeMax, performance.now() - t);
      probes++;
    }
  })();
  const t0 = performance.now();
  const answer = await attack().then(
    () => "answered",
    (e: unknown) => (e instanceof VecbusError ? e.code : `thrown: ${String(e)}`),
  );
  const ms = performance.now() - t0;
  running = false;
  await prober;
  return { request: name, answer, ms: Math.round(ms), probe_max_ms: Math.round(probeMax), probes };
}

const { values } = parseArgs({ options: { server: { type: "string" }, json: { type: "boolean" } } });
const served = values.server ? undefined : await startServe();
const url = values.server ?? served!.url;
const attacker = await VecbusClient.connect(url);
const probe = await VecbusClient.connect(url);
try {
  await prepareHostile(attacker);
  const rows: Row[] = [];
  for (const h of HOSTILE as Hostile[]) rows.push(await timed(probe, h.name, () => h.run(attacker)));
  // 64 reads waiting for a guarantee 4 s ahead (allowed, so they wait) and an insert behind them.
  const ahead = composeTs(Date.now() + 4_000, 0);
  const waiting = Array.from({ length: 64 }, () =>
    attacker.call("get", { collection_name: HOSTILE_COLLECTION, ids: [1], consistency_level: "Session", guarantee_timestamp: ahead }).catch(() => undefined),
  );
  rows.push(
    await timed(probe, "an insert behind 64 reads waiting 4 s for their guarantee", () =>
      attacker.insert({ collection_name: HOSTILE_COLLECTION, data: [{ id: 7, vector: [0, 0, 0, 1] }] }),
    ),
  );
  await Promise.all(waiting);
  if (values.json) process.stdout.write(`${JSON.stringify(rows)}\n`);
  else console.log(table(["request", "answer", "ms", "slowest list_collections meanwhile (ms)", "list_collections answered"], rows.map((r) => [r.request, r.answer, r.ms, r.probe_max_ms, r.probes])));
} finally {
  await attacker.close();
  await probe.close();
  if (served) {
    served.child.kill("SIGTERM");
    await new Promise((r) => served.child.once("exit", r));
    fs.rmSync(served.dir, { recursive: true, force: true });
  }
}
