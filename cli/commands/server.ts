// `vecbus serve`, `vecbus bench`, `vecbus start <role>`.
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { SUPERUSER } from "../../protocol/permissions.js";
import { DEFAULT_PREFIX } from "../../protocol/subjects.js";
import { runBench } from "../bench.js";
import { ROLES, startCluster, type Cluster, type Role } from "../cluster.js";
import { Command, flag, int, Parsed, positiveInt, str, UsageError } from "../command.js";
import { CONNECTION_OPTIONS, DEFAULT_DATA_DIR, natsAuth, natsUrl } from "../connection.js";
import { authFile } from "../nats-auth.js";
import { startNatsServer, type ServerSecurity } from "../nats-server.js";
import { table } from "../table.js";

const DEFAULT_PORT = 4222;
const STOP_TIMEOUT_MS = 15_000;
// With nats-server gone, there is nothing left to flush: waiting longer only delays the exit.
const STOP_WITHOUT_NATS_MS = 3_000;

export function serverCommands(): Command[] {
  return [
    {
      name: "serve",
      args: "[--data DIR] [--port N] [--require-auth | --insecure] [--server URL] [--prefix P]",
      summary: "run nats-server and every actor in this process (NATS users and permissions in DATA/auth; --server: actors only, against a running NATS)",
      positionals: [],
      options: {
        ...CONNECTION_OPTIONS,
        port: { type: "string" },
        prefix: { type: "string" },
        "require-auth": { type: "boolean" },
        insecure: { type: "boolean" },
      },
      run: serve,
    },
    {
      name: "bench",
      args: "[--nats-url URL | --restart] [--rows 100000] [--dim 128] [--batch 1000] [--queries 1000] [--recall-queries 50] [--concurrency 8] [--limit 10] [--shards 1] [--metric L2] [--json]",
      summary: "measure ingest, indexing, search and recall through the API (starts its own vecbus without --nats-url; --restart runs it as a child process, reports its memory, SIGKILLs and restarts it)",
      positionals: [],
      options: {
        "nats-url": { type: "string" },
        rows: { type: "string" },
        dim: { type: "string" },
        batch: { type: "string" },
        queries: { type: "string" },
        concurrency: { type: "string" },
        limit: { type: "string" },
        shards: { type: "string" },
        metric: { type: "string" },
        "recall-queries": { type: "string" },
        restart: { type: "boolean" },
        json: { type: "boolean" },
      },
      run: bench,
    },
    {
      name: "start",
      args: `<${ROLES.join("|")}> --server URL [--user U --password P | --nkey F | --creds F] [--tls-cert F --tls-key F --tls-ca F] [--data DIR] [--node-id ID] [--prefix P]`,
      summary: "run one role against an existing NATS server, as that role's NATS user",
      positionals: ["ROLE"],
      options: { ...CONNECTION_OPTIONS, "node-id": { type: "string" }, prefix: { type: "string" } },
      run: startRole,
    },
  ];
}

function randomNodeId(): string {
  return `serve-${randomBytes(4).toString("hex")}`;
}

/** A restarted serve on the same data dir comes back as the same node, so it takes its shards back at once. */
function stableNodeId(dataDir: string): string {
  const file = path.join(dataDir, "node-id");
  const existing = fs.existsSync(file) ? fs.readFileSync(file, "utf8").trim() : "";
  if (existing) return existing;
  const id = randomNodeId();
  fs.mkdirSync(dataDir, { recursive: true });
  fs.writeFileSync(file, `${id}\n`);
  return id;
}

/**
 * Resolves on the first SIGINT/SIGTERM; a second one exits at once, for a shutdown
 * that hangs. Called before start-up, so a signal during it still shuts down cleanly.
 */
function untilSignal(): Promise<void> {
  return new Promise((resolve) => {
    let received = false;
    const on = () => {
      if (received) {
        process.stderr.write("second signal: exiting without a clean shutdown\n");
        process.exit(1);
      }
      received = true;
      resolve();
    };
    process.on("SIGINT", on);
    process.on("SIGTERM", on);
  });
}

/** Actors whose NATS server is gone can wait forever on a drain; shutdown must still end. */
async function stopWithin(cluster: Cluster, ms = STOP_TIMEOUT_MS): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<void>((resolve) => {
    timer = setTimeout(() => {
      process.stderr.write(`actors did not stop within ${ms / 1000} s; exiting anyway\n`);
      resolve();
    }, ms);
  });
  await Promise.race([cluster.stop(), timeout]);
  clearTimeout(timer);
}

async function serve(p: Parsed): Promise<number> {
  const url = str(p, "server") ?? str(p, "nats-url");
  const data = str(p, "data");
  if (url !== undefined) {
    const signalled = untilSignal();
    const cluster = await startCluster({
      natsUrl: url,
      prefix: str(p, "prefix"),
      nodeId: data ? stableNodeId(path.resolve(data)) : randomNodeId(),
      cacheDir: data ? path.join(path.resolve(data), "query-cache") : undefined,
      credentials: (r) => natsAuth(p.values, r),
    });
    console.log(`vecbus ready on ${url}`);
    await signalled;
    await stopWithin(cluster);
    return 0;
  }
  return serveWithNats(p, path.resolve(data ?? DEFAULT_DATA_DIR));
}

function security(p: Parsed): ServerSecurity {
  if (flag(p, "insecure")) {
    if (flag(p, "require-auth")) throw new UsageError("--insecure and --require-auth contradict each other");
    process.stderr.write("warning: --insecure: every NATS client may publish to the WAL, change meta and read every reply; use it only for experiments on a private host\n");
    return "insecure";
  }
  return { prefixes: [str(p, "prefix") ?? DEFAULT_PREFIX], requireAuth: flag(p, "require-auth") };
}

async function serveWithNats(p: Parsed, dataDir: string): Promise<number> {
  const signalled = untilSignal();
  const nats = await startNatsServer({ dataDir, port: int(p, "port") ?? DEFAULT_PORT, security: security(p) });
  const natsExit = new Promise<string>((resolve) => nats.process.once("exit", (code, signal) => resolve(signal ?? `code ${code}`)));
  let cluster: Cluster;
  try {
    cluster = await startCluster({
      natsUrl: nats.url,
      prefix: str(p, "prefix"),
      nodeId: stableNodeId(dataDir),
      cacheDir: path.join(dataDir, "query-cache"),
      credentials: nats.actorCredentials(str(p, "prefix") ?? DEFAULT_PREFIX),
    });
  } catch (e) {
    await nats.stop();
    throw e;
  }
  console.log(`vecbus ready on ${nats.url}`);
  if (nats.auth) console.log(`NATS users and passwords: ${authFile(dataDir)} (superuser "${SUPERUSER}")${nats.auth.require_auth ? "; connections without credentials are refused" : ""}`);
  const ended = await Promise.race([signalled.then(() => undefined), natsExit]);
  if (ended !== undefined) {
    process.stderr.write(`error: nats-server exited unexpectedly (${ended}); stopping\n`);
    await stopWithin(cluster, STOP_WITHOUT_NATS_MS);
    return 1;
  }
  await stopWithin(cluster);
  await nats.stop();
  return 0;
}

async function bench(p: Parsed): Promise<number> {
  const metric = (str(p, "metric") ?? "L2").toUpperCase();
  if (metric !== "L2" && metric !== "IP" && metric !== "COSINE") throw new UsageError(`--metric must be L2, IP or COSINE`);
  const report = await runBench({
    natsUrl: str(p, "nats-url"),
    rows: positiveInt(p, "rows", 100_000),
    dim: positiveInt(p, "dim", 128),
    batch: positiveInt(p, "batch", 1000),
    queries: positiveInt(p, "queries", 1000),
    concurrency: positiveInt(p, "concurrency", 8),
    limit: positiveInt(p, "limit", 10),
    shards: positiveInt(p, "shards", 1),
    metric,
    recallQueries: int(p, "recall-queries") ?? 50,
    restart: flag(p, "restart"),
  });
  if (flag(p, "json")) process.stdout.write(`${JSON.stringify(report)}\n`);
  else {
    const o = report.options;
    console.log(`${o.rows} rows × ${o.dim}-d, ${o.metric}, ${o.shards} shard(s), batch ${o.batch}, ${o.concurrency} in flight, top-${o.limit}`);
    console.log(table(["phase", "ops", "seconds", "per second", "p50 ms", "p99 ms"], report.phases.map((x) => [x.phase, x.ops, x.seconds, x.per_second, x.p50_ms, x.p99_ms])));
    console.log(`recall@${o.limit} of search against exact search (${Math.min(o.recallQueries, o.queries)} queries): ${report.recall}`);
    const m = report.memory_mb;
    if (m) console.log(`memory: vecbus process (every actor) ${m.vecbus_rss} MB resident, ${m.vecbus_peak} MB peak; its nats-server ${m.nats_rss} MB, ${m.nats_peak} MB peak`);
    const rec = report.recovery;
    if (rec) console.log(`after SIGKILL of vecbus and nats-server: every row served and searchable again ${rec.ready_seconds} s after the restart began (${rec.rows} rows)`);
    if (report.serve_log) console.log(`vecbus serve's log: ${report.serve_log}`);
  }
  return 0;
}

async function startRole(p: Parsed): Promise<number> {
  const role = p.positionals[0];
  if (!(ROLES as readonly string[]).includes(role)) throw new UsageError(`unknown role "${role}"; use one of ${ROLES.join(", ")}`);
  const nodeId = str(p, "node-id") ?? `${os.hostname()}-${process.pid}`;
  const signalled = untilSignal();
  const cluster = await startCluster({
    natsUrl: natsUrl(p.values),
    prefix: str(p, "prefix"),
    roles: [role as Role],
    nodeId,
    credentials: (r) => natsAuth(p.values, r),
  });
  console.log(`vecbus ${role} ready (node ${nodeId})`);
  await signalled;
  await stopWithin(cluster);
  return 0;
}
