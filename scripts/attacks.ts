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
import { Names } from "../protocol/subjects.js";
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

const ROOT = path.resolve(import.meta.dirname, "..");

async function startServe(): Promise<{ url: string; child: ChildProcess; dir: string }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "vecbus-attacks-"));
  const port = await freePort();
  const child = spawn(process.execPath, ["--import", "tsx", "cli/main.ts", "serve", "--data", dir, "--port", String(port)], {
    cwd: ROOT,
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

/**
 * Another client, in its own process (so the attacker's own encoding work
 * does not delay it): asks list_collections back to back; on "mark" it
 * starts a new window, on "report" it prints the window's slowest answer and
 * count as JSON.
 */
const PROBER = `
import { connect } from "@nats-io/transport-node";
import { pack, unpack } from "msgpackr";
import readline from "node:readline";
const nc = await connect({ servers: process.argv[1] });
let max = 0, count = 0;
readline.createInterface({ input: process.stdin }).on("line", (l) => {
  if (l === "mark") { max = 0; count = 0; }
  else if (l === "report") process.stdout.write(JSON.stringify({ max, count }) + "\\n");
  else if (l === "stop") nc.close().then(() => process.exit(0));
});
for (;;) {
  const t = performance.now();
  unpack((await nc.request(process.argv[2], pack({}), { timeout: 30000 })).data);
  max = Math.max(max, performance.now() - t);
  count++;
}
`;

class Prober {
  private readonly child: ChildProcess;
  private readonly lines: AsyncIterator<string>;
  constructor(url: string) {
    this.child = spawn(process.execPath, ["--input-type=module", "-e", PROBER, url, new Names().apiSubject("list_collections")], {
      cwd: ROOT,
      stdio: ["pipe", "pipe", "inherit"],
    });
    this.lines = readline.createInterface({ input: this.child.stdout! })[Symbol.asyncIterator]();
  }
  mark(): void {
    this.child.stdin!.write("mark\n");
  }
  async report(): Promise<{ max: number; count: number }> {
    this.child.stdin!.write("report\n");
    return JSON.parse((await this.lines.next()).value as string) as { max: number; count: number };
  }
  /** Resolves once the prober has had its first answer (its connection is up). */
  async ready(): Promise<void> {
    while ((await this.report()).count === 0) await new Promise((r) => setTimeout(r, 50));
  }
  stop(): void {
    this.child.stdin!.write("stop\n");
  }
}

/** Runs `attack` while the prober asks list_collections back to back; returns both timings. */
async function timed(prober: Prober, name: string, attack: () => Promise<unknown>): Promise<Row> {
  prober.mark();
  // Let the prober's window open before the attack is sent.
  await new Promise((r) => setTimeout(r, 50));
  const t0 = performance.now();
  const answer = await attack().then(
    () => "answered",
    (e: unknown) => (e instanceof VecbusError ? e.code : `thrown: ${String(e)}`),
  );
  const ms = performance.now() - t0;
  const probe = await prober.report();
  return { request: name, answer, ms: Math.round(ms), probe_max_ms: Math.round(probe.max), probes: probe.count };
}

const { values } = parseArgs({ options: { server: { type: "string" }, json: { type: "boolean" } } });
const served = values.server ? undefined : await startServe();
const url = values.server ?? served!.url;
const attacker = await VecbusClient.connect(url);
const prober = new Prober(url);
try {
  await prepareHostile(attacker);
  await prober.ready();
  const rows: Row[] = [];
  for (const h of HOSTILE as Hostile[]) rows.push(await timed(prober, h.name, h.prepare(attacker)));
  // 64 reads waiting for a guarantee 4 s ahead (allowed, so they wait) and an insert behind them.
  const ahead = composeTs(Date.now() + 4_000, 0);
  const waiting = Array.from({ length: 64 }, () =>
    attacker.call("get", { collection_name: HOSTILE_COLLECTION, ids: [1], consistency_level: "Session", guarantee_timestamp: ahead }).catch(() => undefined),
  );
  rows.push(
    await timed(prober, "an insert behind 64 reads waiting 4 s for their guarantee", () =>
      attacker.insert({ collection_name: HOSTILE_COLLECTION, data: [{ id: 7, vector: [0, 0, 0, 1] }] }),
    ),
  );
  await Promise.all(waiting);
  if (values.json) process.stdout.write(`${JSON.stringify(rows)}\n`);
  else console.log(table(["request", "answer", "ms", "slowest list_collections meanwhile (ms)", "list_collections answered"], rows.map((r) => [r.request, r.answer, r.ms, r.probe_max_ms, r.probes])));
} finally {
  await attacker.close();
  prober.stop();
  if (served) {
    served.child.kill("SIGTERM");
    await new Promise((r) => served.child.once("exit", r));
    fs.rmSync(served.dir, { recursive: true, force: true });
  }
}
