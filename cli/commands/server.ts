// `vecbus serve`, `vecbus bench`, `vecbus start <role>`.
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { actorInbox, SUPERUSER } from "../../protocol/permissions.js";
import { DEFAULT_PREFIX, Names } from "../../protocol/subjects.js";
import { medians } from "../bench/medians.js";
import { renderBench, renderMedians } from "../bench/report.js";
import { runBench, type BenchOptions, type BenchReport } from "../bench/run.js";
import { DEFAULT_SITE, ROLES, startCluster, type Cluster, type Role } from "../cluster.js";
import { Command, flag, int, list, nonNegativeInt, Parsed, positiveInt, str, UsageError } from "../command.js";
import { CONNECTION_OPTIONS, DEFAULT_DATA_DIR, natsAuth, natsUrl } from "../connection.js";
import { authFile, HUB_JS_DOMAIN, type LeafnodeListener } from "../nats-auth.js";
import { startLeafServer, startNatsServer, type ServerSecurity } from "../nats-server.js";
import { userDirectory } from "../users.js";
import { jetstreamManager } from "@nats-io/jetstream";
import { Callers } from "../../actors/gateway/callers.js";
import { gatewayLimits, startMilvusGateway } from "../../actors/gateway/front-door.js";
import type { UserDirectory } from "../../actors/gateway/milvus-users.js";
import { VecbusClient } from "../../runtime/client.js";
import { closeConnection, connectNats, type NatsAuth } from "../../runtime/connection.js";

const DEFAULT_PORT = 4222;
const DEFAULT_EDGE_DATA_DIR = "./vecbus-edge";
const STOP_TIMEOUT_MS = 15_000;
// With nats-server gone, there is nothing left to flush: waiting longer only delays the exit.
const STOP_WITHOUT_NATS_MS = 3_000;
/** Milvus's own port: its SDKs connect there by default. */
const DEFAULT_MILVUS_PORT = 19530;
/** Between two tries to reach the hub from a site starting with its link down. */
const HUB_WAIT_PAUSE_MS = 1_000;

export function serverCommands(): Command[] {
  return [
    {
      name: "serve",
      args: "[--data DIR] [--port N] [--require-auth | --insecure] [--leafnode-port N [--leafnode-advertise HOST:PORT]] [--milvus-port N|off] [--milvus-host H] [--server URL] [--prefix P]",
      summary:
        "run nats-server and every actor in this process (NATS users and permissions in DATA/auth; --leafnode-port: edge sites connect there, --leafnode-advertise: the address they reach it at when it is not this host's own; --milvus-port: Milvus SDKs connect there (gRPC, default 19530 on 127.0.0.1); --server: actors only, against a running NATS)",
      positionals: [],
      options: {
        ...CONNECTION_OPTIONS,
        port: { type: "string" },
        "leafnode-port": { type: "string" },
        "leafnode-advertise": { type: "string" },
        "milvus-port": { type: "string" },
        "milvus-host": { type: "string" },
        prefix: { type: "string" },
        "require-auth": { type: "boolean" },
        insecure: { type: "boolean" },
      },
      run: serve,
    },
    {
      name: "bench",
      args: "[--nats-url URL [--user U --password P ...]] [--restart] [--rows 100000] [--dim 128] [--batch 1000] [--queries 1000] [--recall-queries 100] [--concurrency 16] [--limit 10] [--shards 1] [--metric L2] [--ef auto|N] [--recall-target 0.95] [--filter-selectivity 1,10,50] [--scalar-index STL_SORT|INVERTED|BITMAP|none] [--insert-form columns|rows] [--warm-up 2] [--milvus HOST:PORT] [--runs 1] [--json]",
      summary:
        "measure ingest, index build, load and search through the API of a `vecbus serve` child (or a running vecbus, --nats-url), each figure beside its same-run baseline: in-process usearch over the same rows, raw JetStream publish of the same bytes, object store reads (--restart: also SIGKILL and restart the child); searches through the child's Milvus front door, or the one --milvus names (e.g. a `vecbus start gateway`); --runs N: N runs, then each figure's median ratio against its target",
      positionals: [],
      options: {
        ...CONNECTION_OPTIONS,
        milvus: { type: "string" },
        rows: { type: "string" },
        dim: { type: "string" },
        batch: { type: "string" },
        queries: { type: "string" },
        concurrency: { type: "string" },
        limit: { type: "string" },
        shards: { type: "string" },
        metric: { type: "string" },
        ef: { type: "string" },
        "recall-target": { type: "string" },
        "filter-selectivity": { type: "string" },
        "scalar-index": { type: "string" },
        "insert-form": { type: "string" },
        "recall-queries": { type: "string" },
        restart: { type: "boolean" },
        "warm-up": { type: "string" },
        runs: { type: "string" },
        json: { type: "boolean" },
      },
      run: bench,
    },
    {
      name: "edge",
      args: "--hub nats-leaf://vecbus-leaf:PASSWORD@HOST:PORT [--data DIR] [--port N] [--site NAME] [--collections a,b] [--require-auth] [--prefix P]",
      summary:
        "run an edge site in this process: a NATS leaf node of the hub (loopback only), an edge replica of every collection (or of --collections) and a proxy; Bounded and Eventually reads of those are answered at the site, also while the link is down; the site's API users are its own (vecbus user --data DIR), and --require-auth refuses clients without credentials",
      positionals: [],
      options: { hub: { type: "string" }, data: { type: "string" }, port: { type: "string" }, site: { type: "string" }, collections: { type: "string" }, "require-auth": { type: "boolean" }, prefix: { type: "string" } },
      run: edge,
    },
    {
      name: "start",
      args: `<${ROLES.join("|")}|gateway> --server URL [--user U --password P | --nkey F | --creds F] [--tls-cert F --tls-key F --tls-ca F] [--data DIR] [--node-id ID] [--prefix P] [--site NAME --js-domain HUB [--collections a,b]] [gateway: --milvus-port N --milvus-host H]`,
      summary:
        "run one role against an existing NATS server, as that role's NATS user (edge and a site's proxy: --site, and --js-domain to reach the hub's JetStream from a leaf node; edge: --collections to keep only those); gateway: the Milvus gRPC and REST front door, a client of the NATS API acting as each caller's NATS user (no credentials of its own; TLS flags apply)",
      positionals: ["ROLE"],
      options: {
        ...CONNECTION_OPTIONS,
        "node-id": { type: "string" },
        prefix: { type: "string" },
        site: { type: "string" },
        "js-domain": { type: "string" },
        collections: { type: "string" },
        "milvus-port": { type: "string" },
        "milvus-host": { type: "string" },
      },
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
    if (p.values["leafnode-port"] !== undefined || p.values["leafnode-advertise"] !== undefined) {
      throw new UsageError("--leafnode-port configures the NATS server vecbus serve starts; with --server, give your server a leafnodes block (see the README's edge sites)");
    }
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
  return { prefixes: [str(p, "prefix") ?? DEFAULT_PREFIX], requireAuth: flag(p, "require-auth"), leafnodes: leafnodes(p) };
}

function leafnodes(p: Parsed): LeafnodeListener | undefined {
  const port = int(p, "leafnode-port");
  const advertise = str(p, "leafnode-advertise");
  if (port === undefined) {
    if (advertise !== undefined) throw new UsageError("--leafnode-advertise needs --leafnode-port");
    return undefined;
  }
  if (advertise !== undefined && !/^[^\s:/"]+:\d{1,5}$/.test(advertise)) throw new UsageError(`--leafnode-advertise takes HOST:PORT, the address edge sites reach this hub's leaf port at; got "${advertise}"`);
  return { port, advertise };
}

/** Where the Milvus gRPC front door listens (`--milvus-port off`: nowhere). */
function milvusAddress(p: Parsed): { host: string; port: number } | undefined {
  const raw = str(p, "milvus-port") ?? String(DEFAULT_MILVUS_PORT);
  if (raw === "off") return undefined;
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--milvus-port takes a port (0: any free one) or off; got "${raw}"`);
  return { host: str(p, "milvus-host") ?? "127.0.0.1", port };
}

/**
 * The Milvus gRPC front door, a client of the NATS API: a caller with
 * credentials acts as that NATS user, one without as the anonymous user
 * (refused with --require-auth). Not started when its port is taken (a
 * warning says so).
 */
async function startMilvusFrontDoor(p: Parsed, natsUrl: string, requireAuth: boolean, tls?: NatsAuth["tls"], users?: UserDirectory): Promise<{ stop(): Promise<void> } | undefined> {
  const at = milvusAddress(p);
  if (!at) return undefined;
  const prefix = str(p, "prefix");
  const callers = new Callers((auth) => VecbusClient.connect(natsUrl, { prefix, auth: tls ? { ...auth, tls } : auth }), !requireAuth);
  try {
    const gateway = await startMilvusGateway(callers, at.host, at.port, gatewayLimits(), users);
    console.log(`milvus grpc on ${gateway.address}`);
    console.log(`milvus rest on http://${gateway.address}`);
    return gateway;
  } catch (e) {
    await callers.close();
    process.stderr.write(`warning: the Milvus front door did not start on ${at.host}:${at.port} (${(e as Error).message}); --milvus-port picks another port, --milvus-port off turns it off\n`);
    return undefined;
  }
}

/**
 * `vecbus start gateway`: the Milvus front door as a process of its own. It
 * holds no NATS credentials: each caller's own name its NATS user, callers
 * without act as the anonymous user (refused where the server has none).
 */
async function startGateway(p: Parsed): Promise<number> {
  if (p.values.user !== undefined || p.values.nkey !== undefined || p.values.creds !== undefined) {
    throw new UsageError("the gateway acts as each caller's NATS user and holds no credentials of its own: leave out --user, --nkey and --creds");
  }
  if (milvusAddress(p) === undefined) throw new UsageError("the gateway role serves the Milvus front door: --milvus-port off leaves it nothing to do");
  const nodeId = str(p, "node-id") ?? `${os.hostname()}-${process.pid}`;
  const signalled = untilSignal();
  const tls = natsAuth({ ...p.values, data: undefined }, undefined)?.tls;
  const gateway = await startMilvusFrontDoor(p, natsUrl(p.values), false, tls);
  if (!gateway) return 1;
  console.log(`vecbus gateway ready (node ${nodeId})`);
  await signalled;
  await gateway.stop();
  return 0;
}

async function serveWithNats(p: Parsed, dataDir: string): Promise<number> {
  milvusAddress(p);
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
  // The users file is this serve's: its front door answers Milvus's user and role RPCs from it.
  const milvus = await startMilvusFrontDoor(p, nats.url, nats.auth?.require_auth ?? false, undefined, nats.auth && userDirectory(dataDir, nats.reload, str(p, "prefix") ?? DEFAULT_PREFIX));
  const ended = await Promise.race([signalled.then(() => undefined), natsExit]);
  await milvus?.stop();
  if (ended !== undefined) {
    process.stderr.write(`error: nats-server exited unexpectedly (${ended}); stopping\n`);
    await stopWithin(cluster, STOP_WITHOUT_NATS_MS);
    return 1;
  }
  await stopWithin(cluster);
  await nats.stop();
  return 0;
}

async function edge(p: Parsed): Promise<number> {
  // $VECBUS_HUB_URL keeps the leaf password off the command line, which any local user can read (/proc/PID/cmdline).
  const hubUrl = str(p, "hub") ?? process.env.VECBUS_HUB_URL;
  if (!hubUrl) throw new UsageError("--hub (or $VECBUS_HUB_URL) is required: the hub's leaf node URL with its credentials, nats-leaf://vecbus-leaf:PASSWORD@HOST:PORT (the password is in the hub's DATA/auth/users.json under leafnodes)");
  const dataDir = path.resolve(str(p, "data") ?? DEFAULT_EDGE_DATA_DIR);
  const site = str(p, "site") ?? DEFAULT_SITE;
  const signalled = untilSignal();
  const prefix = str(p, "prefix");
  const nats = await startLeafServer({ dataDir, hubUrl, prefix: prefix ?? DEFAULT_PREFIX, requireAuth: flag(p, "require-auth"), port: int(p, "port") ?? DEFAULT_PORT });
  let cluster: Cluster;
  try {
    if (!(await untilHubReached(nats.url, nats.siteAuth, new Names(prefix ?? DEFAULT_PREFIX), signalled))) {
      await nats.stop();
      return 0;
    }
    cluster = await startCluster({
      natsUrl: nats.url,
      prefix,
      roles: ["edge", "proxy"],
      nodeId: stableNodeId(dataDir),
      credentials: () => nats.siteAuth,
      site,
      jsDomain: HUB_JS_DOMAIN,
      edgeCollections: edgeCollections(p),
      cacheDir: path.join(dataDir, "index-cache"),
    });
  } catch (e) {
    await nats.stop();
    throw e;
  }
  console.log(`vecbus ready on ${nats.url}`);
  const kept = edgeCollections(p);
  console.log(`edge site "${site}": Bounded and Eventually reads of ${kept ? kept.join(", ") : "every collection"} are answered here; other reads, writes and Strong reads go to the hub`);
  console.log(`the site's API users: ${authFile(dataDir)} (vecbus user --data ${dataDir})${flag(p, "require-auth") ? "; connections without credentials are refused" : ""}`);
  await signalled;
  await stopWithin(cluster);
  await nats.stop();
  return 0;
}

/**
 * The site's actors start against the hub's JetStream, which the leaf node
 * reaches only once its link is up: a site started while the link is down
 * waits for it (false: a signal came first).
 */
async function untilHubReached(url: string, auth: NatsAuth, names: Names, signalled: Promise<void>): Promise<boolean> {
  // On the edge actor's inbox: replies to `_INBOX` do not cross the leaf link (startLeafServer).
  const nc = await connectNats(url, "vecbus-edge-start", { reconnectForever: true, auth, inboxPrefix: actorInbox(names, "edge") });
  let stop = false;
  void signalled.then(() => (stop = true));
  try {
    for (let said = false; !stop; said = true) {
      try {
        await jetstreamManager(nc, { domain: HUB_JS_DOMAIN });
        return true;
      } catch (e) {
        if (!said) process.stderr.write(`waiting for the hub: its JetStream is not reachable over the leaf link yet (${(e as Error).message})\n`);
        await new Promise((r) => setTimeout(r, HUB_WAIT_PAUSE_MS));
      }
    }
    return false;
  } finally {
    await closeConnection(nc);
  }
}

async function bench(p: Parsed): Promise<number> {
  const metric = (str(p, "metric") ?? "L2").toUpperCase();
  if (metric !== "L2" && metric !== "IP" && metric !== "COSINE") throw new UsageError(`--metric must be L2, IP or COSINE`);
  const efText = str(p, "ef") ?? "auto";
  const ef = efText === "auto" ? "auto" : positiveInt(p, "ef", 64);
  const recallTarget = Number(str(p, "recall-target") ?? "0.95");
  if (!(recallTarget > 0 && recallTarget <= 1)) throw new UsageError("--recall-target must be a number in (0, 1]");
  const selectivities = (str(p, "filter-selectivity") ?? "1,10,50").split(",").filter((x) => x !== "").map(Number);
  if (selectivities.some((s) => !Number.isInteger(s) || s < 1 || s > 99)) throw new UsageError("--filter-selectivity takes whole percentages from 1 to 99, comma-separated (e.g. 1,10,50)");
  const scalarIndex = (str(p, "scalar-index") ?? "STL_SORT").toUpperCase();
  if (!["STL_SORT", "INVERTED", "BITMAP", "NONE"].includes(scalarIndex)) throw new UsageError("--scalar-index takes STL_SORT, INVERTED, BITMAP or none");
  const insertForm = str(p, "insert-form") ?? "columns";
  if (insertForm !== "columns" && insertForm !== "rows") throw new UsageError("--insert-form takes columns (a batch's fields as columns, vectors as one float32 block) or rows (a list of row maps)");
  const url = str(p, "server") ?? str(p, "nats-url");
  const runs = positiveInt(p, "runs", 1);
  const options: BenchOptions = {
    natsUrl: url,
    auth: url ? natsAuth(p.values) : undefined,
    rows: positiveInt(p, "rows", 100_000),
    dim: positiveInt(p, "dim", 128),
    batch: positiveInt(p, "batch", 1000),
    queries: positiveInt(p, "queries", 1000),
    concurrency: positiveInt(p, "concurrency", 16),
    limit: positiveInt(p, "limit", 10),
    shards: positiveInt(p, "shards", 1),
    metric,
    ef,
    recallTarget,
    selectivities,
    scalarIndex: scalarIndex === "NONE" ? undefined : scalarIndex,
    insertForm,
    recallQueries: int(p, "recall-queries") ?? 100,
    restart: flag(p, "restart"),
    warmUpSeconds: nonNegativeInt(p, "warm-up") ?? 2,
    milvus: str(p, "milvus"),
  };
  const json = flag(p, "json");
  if (runs === 1) {
    const report = await runBench(options);
    console.log(json ? JSON.stringify(report) : renderBench(report));
    return 0;
  }
  const reports: BenchReport[] = [];
  let failed: string | undefined;
  for (let i = 1; i <= runs && !failed; i++) {
    try {
      const report = await runBench(options);
      reports.push(report);
      if (!json) console.log(`run ${i} of ${runs}\n${renderBench(report)}\n`);
    } catch (e) {
      // An hour of runs at 1M is not thrown away for the last one: the medians of those that finished, and why it stopped.
      if (reports.length === 0) throw e;
      failed = `run ${i} of ${runs} failed: ${(e as Error).message}`;
    }
  }
  const summary = medians(reports);
  if (json) console.log(JSON.stringify({ runs: reports, medians: summary, ...(failed && { failed }) }));
  else {
    console.log(renderMedians(summary, url === undefined));
    if (failed) process.stderr.write(`${failed}\n`);
  }
  return failed ? 1 : 0;
}

/** --collections a,b: the collections an edge replica keeps (absent: every one). */
function edgeCollections(p: Parsed): string[] | undefined {
  const names = list(p, "collections");
  if (names !== undefined && names.length === 0) throw new UsageError("--collections takes collection names, comma-separated");
  return names;
}

async function startRole(p: Parsed): Promise<number> {
  const role = p.positionals[0];
  if (role === "gateway") return startGateway(p);
  if (p.values["milvus-port"] !== undefined || p.values["milvus-host"] !== undefined) throw new UsageError("--milvus-port and --milvus-host are for the gateway role");
  if (!(ROLES as readonly string[]).includes(role)) throw new UsageError(`unknown role "${role}"; use one of ${ROLES.join(", ")}, gateway`);
  if (role !== "edge" && p.values.collections !== undefined) throw new UsageError("--collections is for the edge role: the collections a site keeps");
  const nodeId = str(p, "node-id") ?? `${os.hostname()}-${process.pid}`;
  const signalled = untilSignal();
  const cluster = await startCluster({
    natsUrl: natsUrl(p.values),
    prefix: str(p, "prefix"),
    roles: [role as Role],
    nodeId,
    credentials: (r) => natsAuth(p.values, r),
    site: str(p, "site"),
    jsDomain: str(p, "js-domain"),
    edgeCollections: edgeCollections(p),
  });
  console.log(`vecbus ${role} ready (node ${nodeId})`);
  await signalled;
  await stopWithin(cluster);
  return 0;
}
