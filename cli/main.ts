#!/usr/bin/env node
// The `vecbus` command: runs the server (`serve`, `start <role>`) and is a
// client for every public API method. Exit codes: 0 success, 1 an error
// reported by vecbus (or NATS), 2 a usage error.
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import readline from "node:readline";
import { parseArgs, type ParseArgsConfig } from "node:util";
import type { ClusterStatus, CollectionDescription, Hit } from "../protocol/api.js";
import { CONSISTENCY_LEVELS, type ConsistencyLevel } from "../protocol/collection.js";
import { VecbusError } from "../protocol/errors.js";
import { SUPERUSER } from "../protocol/permissions.js";
import { API_ROLES } from "../protocol/roles.js";
import { DEFAULT_PREFIX } from "../protocol/subjects.js";
import type { PrimaryKey, Row } from "../protocol/rows.js";
import type { CollectionSchema, FieldSchema, MetricType } from "../protocol/schema.js";
import { logger } from "../runtime/log.js";
import { VecbusClient, type AnnSearchRequest, type RankerSpec, type SearchParams } from "../runtime/client.js";
import { ROLES, startCluster, type Cluster, type Role } from "./cluster.js";
import { runBench } from "./bench.js";
import { CONNECTION_HELP, CONNECTION_OPTIONS, DEFAULT_DATA_DIR, natsAuth, natsUrl } from "./connection.js";
import { authFile } from "./nats-auth.js";
import { checkRole, createUser, dropUser, grantRole, listUsers } from "./users.js";
import { startNatsServer, type ServerSecurity } from "./nats-server.js";
import { installProcessGuard } from "./process-guard.js";
import { progress } from "./progress.js";
import { columnsOf, jsonReplacer, pairs, table } from "./table.js";

type Options = NonNullable<ParseArgsConfig["options"]>;
type Values = Record<string, string | boolean | undefined>;

interface Parsed {
  values: Values;
  positionals: string[];
}

interface Command {
  /** The words after `vecbus`, e.g. "collection create". */
  name: string;
  args: string;
  summary: string;
  positionals: string[];
  options: Options;
  run(p: Parsed): Promise<number>;
}

/** What a data command prints: `data` with --json, else `text` when there is any. */
interface Output {
  data: unknown;
  text?: string;
}
type Action = (client: VecbusClient) => Promise<Output>;

interface ClientCommandSpec {
  name: string;
  args: string;
  summary: string;
  positionals?: string[];
  options?: Options;
  /** Checks the arguments before anything connects, so usage errors never wait on NATS. */
  plan(p: Parsed): Action;
}

class UsageError extends Error {
  constructor(
    message: string,
    public command?: Command,
  ) {
    super(message);
  }
}

const DEFAULT_PORT = 4222;
const STOP_TIMEOUT_MS = 15_000;
// With nats-server gone, there is nothing left to flush: waiting longer only delays the exit.
const STOP_WITHOUT_NATS_MS = 3_000;

const CLIENT_OPTIONS: Options = {
  ...CONNECTION_OPTIONS,
  prefix: { type: "string" },
  json: { type: "boolean" },
};

// ---- argument helpers

function str(p: Parsed, name: string): string | undefined {
  const v = p.values[name];
  return typeof v === "string" ? v : undefined;
}

function need(p: Parsed, name: string): string {
  const v = str(p, name);
  if (v === undefined) throw new UsageError(`--${name} is required`);
  return v;
}

function flag(p: Parsed, name: string): boolean {
  return p.values[name] === true;
}

function int(p: Parsed, name: string): number | undefined {
  const s = str(p, name);
  if (s === undefined) return undefined;
  if (!/^-?\d+$/.test(s.trim())) throw new UsageError(`--${name} must be an integer, got "${s}"`);
  return Number(s);
}

function positiveInt(p: Parsed, name: string, dflt: number): number {
  const n = int(p, name) ?? dflt;
  if (n < 1) throw new UsageError(`--${name} must be at least 1, got ${n}`);
  return n;
}

/** An integer of 0 or more (an --offset), if given. */
function nonNegativeInt(p: Parsed, name: string): number | undefined {
  const n = int(p, name);
  if (n !== undefined && n < 0) throw new UsageError(`--${name} must be 0 or more, got ${n}`);
  return n;
}

/** Any finite number, e.g. a range search's --radius. */
function num(p: Parsed, name: string): number | undefined {
  const s = str(p, name);
  if (s === undefined) return undefined;
  const n = s.trim() === "" ? NaN : Number(s);
  if (!Number.isFinite(n)) throw new UsageError(`--${name} must be a number, got "${s}"`);
  return n;
}

/** A comma-separated list of numbers, e.g. --weights 0.7,0.3. */
function numberList(p: Parsed, name: string): number[] | undefined {
  const parts = list(p, name);
  if (parts === undefined) return undefined;
  const ns = parts.map(Number);
  if (parts.length === 0 || !ns.every(Number.isFinite)) throw new UsageError(`--${name} must be a comma-separated list of numbers, got "${str(p, name)}"`);
  return ns;
}

function list(p: Parsed, name: string): string[] | undefined {
  return str(p, name)
    ?.split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");
}

/** --partitions a,b: a read restricted to some partitions (absent: every partition). */
function partitionNames(p: Parsed): string[] | undefined {
  const names = list(p, "partitions");
  if (names !== undefined && names.length === 0) throw new UsageError("--partitions needs at least one partition name");
  return names;
}

/** --consistency LEVEL in any letter case, checked here so a typo never waits on NATS. */
function consistency(p: Parsed): ConsistencyLevel | undefined {
  const s = str(p, "consistency");
  if (s === undefined) return undefined;
  const level = CONSISTENCY_LEVELS.find((l) => l.toLowerCase() === s.trim().toLowerCase());
  if (!level) throw new UsageError(`--consistency must be one of ${CONSISTENCY_LEVELS.join(", ")}; got "${s}"`);
  return level;
}

/** Names one per line, or a placeholder for none. */
function lines(names: string[], none: string): string {
  return names.length > 0 ? names.join("\n") : none;
}

function readJsonFile(file: string): unknown {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (e) {
    throw new VecbusError("INVALID_ARGUMENT", `cannot read ${file}: ${(e as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new VecbusError("INVALID_ARGUMENT", `${file} is not valid JSON: ${(e as Error).message}`);
  }
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

function isoTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d+Z$/, "Z");
}

// ---- server commands

function serverCommands(): Command[] {
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

// ---- user commands (on the data dir of a serve on this host)

function userDataDir(p: Parsed): string {
  return path.resolve(str(p, "data") ?? process.env.VECBUS_DATA ?? DEFAULT_DATA_DIR);
}

function printUserChange(p: Parsed, data: Record<string, unknown>, text: string, reloaded: boolean): number {
  if (flag(p, "json")) process.stdout.write(`${JSON.stringify({ ...data, reloaded })}\n`);
  else console.log(reloaded ? `${text} (nats-server reloaded its config)` : `${text} (no nats-server runs on this data dir: it takes effect at the next vecbus serve)`);
  return 0;
}

function userCommands(): Command[] {
  const common = { data: { type: "string" }, json: { type: "boolean" } } satisfies Options;
  const roles = API_ROLES.join("|");
  return [
    {
      name: "user create",
      args: `NAME --role ${roles} [--password P] [--prefix P] [--data DIR] [--json]`,
      summary: "add an API user (prints its password when one is made)",
      positionals: ["NAME"],
      options: { ...common, role: { type: "string" }, password: { type: "string" }, prefix: { type: "string" } },
      run: async (p) => {
        const role = checkRole(need(p, "role"));
        const r = createUser(userDataDir(p), p.positionals[0], role, str(p, "password"), str(p, "prefix") ?? DEFAULT_PREFIX);
        return printUserChange(p, { user: p.positionals[0], role, password: r.password }, `created user ${p.positionals[0]} (${role}), password ${r.password}`, r.reloaded);
      },
    },
    {
      name: "user drop",
      args: "NAME [--data DIR] [--json]",
      summary: "remove an API user",
      positionals: ["NAME"],
      options: common,
      run: async (p) => {
        const r = dropUser(userDataDir(p), p.positionals[0]);
        return printUserChange(p, { user: p.positionals[0] }, `dropped user ${p.positionals[0]}`, r.reloaded);
      },
    },
    {
      name: "user grant",
      args: `NAME ${roles} [--data DIR] [--json]`,
      summary: "give an API user another role",
      positionals: ["NAME", "ROLE"],
      options: common,
      run: async (p) => {
        const role = checkRole(p.positionals[1]);
        const r = grantRole(userDataDir(p), p.positionals[0], role);
        return printUserChange(p, { user: p.positionals[0], role }, `user ${p.positionals[0]} is now ${role}`, r.reloaded);
      },
    },
    {
      name: "user list",
      args: "[--data DIR] [--json]",
      summary: "list API users and their roles",
      positionals: [],
      options: common,
      run: async (p) => {
        const rows = listUsers(userDataDir(p));
        if (flag(p, "json")) process.stdout.write(`${JSON.stringify(rows)}\n`);
        else console.log(rows.length > 0 ? table(["user", "role", "prefix"], rows.map((r) => [r.user, r.role, r.prefix])) : "no API users");
        return 0;
      },
    },
  ];
}

// ---- collection commands

function collectionCommands(): ClientCommandSpec[] {
  return [
    {
      name: "collection create",
      args: `NAME --dim N [--metric L2|IP|COSINE] [--id-type int|string] [--auto-id] [--shards N] [--consistency ${CONSISTENCY_LEVELS.join("|")}] | --schema FILE.json [--partitions N]`,
      summary: "create a collection",
      positionals: ["NAME"],
      options: {
        dim: { type: "string" },
        metric: { type: "string" },
        "id-type": { type: "string" },
        "auto-id": { type: "boolean" },
        shards: { type: "string" },
        schema: { type: "string" },
        consistency: { type: "string" },
        partitions: { type: "string" },
      },
      plan: planCreate,
    },
    {
      name: "collection list",
      args: "",
      summary: "list collection names",
      plan: () => async (client) => {
        const names = await client.list_collections();
        return { data: names, text: names.length > 0 ? names.join("\n") : "(no collections)" };
      },
    },
    {
      name: "collection describe",
      args: "NAME",
      summary: "show a collection's settings and fields",
      positionals: ["NAME"],
      plan: (p) => async (client) => {
        const d = await client.describe_collection({ collection_name: p.positionals[0] });
        return { data: d, text: describeText(d) };
      },
    },
    {
      name: "collection drop",
      args: "NAME",
      summary: "drop a collection and its data",
      positionals: ["NAME"],
      plan: (p) => async (client) => {
        const r = await client.drop_collection({ collection_name: p.positionals[0] });
        return { data: r, text: `dropped collection ${p.positionals[0]}` };
      },
    },
    {
      name: "collection rename",
      args: "OLD NEW",
      summary: "rename a collection (its aliases follow it)",
      positionals: ["OLD", "NEW"],
      plan: (p) => {
        const [old_name, new_name] = p.positionals;
        return async (client) => {
          const d = await client.call("rename_collection", { old_name, new_name });
          return { data: d, text: `renamed collection ${old_name} to ${d.collection_name}` };
        };
      },
    },
    {
      name: "collection load",
      args: "NAME [--timeout SECONDS]",
      summary: "load a collection onto the query nodes and wait until it is served",
      positionals: ["NAME"],
      options: { timeout: { type: "string" } },
      plan: (p) => async (client) => {
        const r = await client.load_collection({ collection_name: p.positionals[0], timeout: positiveInt(p, "timeout", 60) });
        return { data: r, text: `collection ${p.positionals[0]}: ${r.state}` };
      },
    },
    {
      name: "collection release",
      args: "NAME",
      summary: "release a collection: its reads are refused until it is loaded again",
      positionals: ["NAME"],
      plan: (p) => async (client) => {
        const r = await client.release_collection({ collection_name: p.positionals[0] });
        return { data: r, text: `collection ${p.positionals[0]}: ${r.state}` };
      },
    },
    {
      name: "collection load-state",
      args: "NAME",
      summary: "NotLoad, Loading (with progress) or Loaded",
      positionals: ["NAME"],
      plan: (p) => async (client) => {
        const r = await client.get_load_state({ collection_name: p.positionals[0] });
        return { data: r, text: pairs([["collection", p.positionals[0]], ["state", r.state], ["progress", `${r.progress}%`]]) };
      },
    },
    {
      name: "collection compact",
      args: "NAME [--wait]",
      summary: "merge small segments and drop deleted rows; --wait follows it to the end",
      positionals: ["NAME"],
      options: { wait: { type: "boolean" } },
      plan: (p) => async (client) => {
        const { compaction_id } = await client.compact({ collection_name: p.positionals[0] });
        let state = await client.get_compaction_state({ compaction_id });
        while (flag(p, "wait") && state.state !== "Completed") {
          if (!flag(p, "json")) process.stderr.write(`\rcompaction ${compaction_id}: ${state.completed}/${state.completed + state.executing} tasks done`);
          await new Promise((r) => setTimeout(r, 500));
          state = await client.get_compaction_state({ compaction_id });
        }
        if (flag(p, "wait") && !flag(p, "json")) process.stderr.write("\n");
        return { data: state, text: pairs(Object.entries(state)) };
      },
    },
    {
      name: "collection compaction-state",
      args: "ID",
      summary: "whether a compaction started by `collection compact` is done",
      positionals: ["ID"],
      plan: (p) => async (client) => {
        const r = await client.get_compaction_state({ compaction_id: Number(p.positionals[0]) });
        return { data: r, text: pairs(Object.entries(r)) };
      },
    },
    {
      name: "collection stats",
      args: "NAME",
      summary: "show a collection's row count",
      positionals: ["NAME"],
      plan: (p) => async (client) => {
        const r = await client.get_collection_stats({ collection_name: p.positionals[0] });
        return { data: r, text: pairs([["collection", p.positionals[0]], ["row_count", r.row_count]]) };
      },
    },
  ];
}

function planCreate(p: Parsed): Action {
  const collection_name = p.positionals[0];
  const num_partitions = int(p, "partitions");
  if (num_partitions !== undefined && num_partitions < 1) throw new UsageError(`--partitions must be at least 1, got ${num_partitions}`);
  const common = {
    collection_name,
    metric_type: str(p, "metric") as MetricType | undefined,
    num_shards: int(p, "shards"),
    consistency_level: consistency(p),
    num_partitions,
  };
  const schemaFile = str(p, "schema");
  let args: Record<string, unknown>;
  if (schemaFile !== undefined) {
    if (["dim", "id-type", "auto-id"].some((k) => p.values[k] !== undefined)) {
      throw new UsageError("--schema takes the place of --dim, --id-type and --auto-id; give one or the other");
    }
    const schema = readJsonFile(schemaFile) as CollectionSchema;
    if (num_partitions !== undefined && !hasPartitionKey(schema)) {
      throw new UsageError(`--partitions needs a partition key: give one field of ${schemaFile} "is_partition_key": true`);
    }
    args = { ...common, schema };
  } else {
    const dimension = int(p, "dim");
    if (dimension === undefined) throw new UsageError("collection create needs --dim N (or --schema FILE.json)");
    if (num_partitions !== undefined) throw new UsageError("--partitions needs a partition-key field, so it goes with --schema FILE.json");
    args = { ...common, dimension, id_type: str(p, "id-type") as "int" | "string" | undefined, auto_id: flag(p, "auto-id") };
  }
  return async (client) => {
    const d = await client.call("create_collection", args);
    const parts = d.num_partitions > 1 ? `, ${plural(d.num_partitions, "partition")}` : "";
    return {
      data: d,
      text: `created collection ${d.collection_name} (id ${d.collection_id}, ${plural(d.num_shards, "shard")}${parts}, metric ${d.metric_type}, consistency ${d.consistency_level})`,
    };
  };
}

/** The server rejects a bad schema with a better message; this only decides whether --partitions means anything. */
function hasPartitionKey(schema: unknown): boolean {
  const fields = (schema as { fields?: unknown } | null)?.fields;
  return Array.isArray(fields) && fields.some((f) => (f as FieldSchema | null)?.is_partition_key === true);
}

function describeText(d: CollectionDescription): string {
  const head = pairs([
    ["collection", d.collection_name],
    ["id", d.collection_id],
    ["shards", d.num_shards],
    ["partitions", d.num_partitions],
    ["metric", d.metric_type],
    ["consistency", d.consistency_level],
    ["aliases", (d.aliases ?? []).join(", ")],
    ["dynamic", d.schema.enable_dynamic_field],
    ["created", isoTime(d.created_at)],
  ]);
  const fields = table(
    ["name", "type", "primary", "auto_id", "dim", "max_length", "element_type", "max_capacity", "nullable", "default", "partition_key"],
    d.schema.fields.map((f) => [
      f.name,
      f.type,
      f.is_primary === true,
      f.auto_id === true,
      f.dim,
      f.max_length,
      f.element_type,
      f.max_capacity,
      f.nullable === true ? true : undefined,
      defaultCell(f),
      f.is_partition_key === true ? true : undefined,
    ]),
  );
  return `${head}\n\n${fields}`;
}

/** Strings are quoted, so an empty default is told apart from none. */
function defaultCell(f: FieldSchema): unknown {
  return typeof f.default_value === "string" ? JSON.stringify(f.default_value) : f.default_value;
}

// ---- partition and alias commands

function partitionCommands(): ClientCommandSpec[] {
  const named = (verb: string, summary: string, run: (client: VecbusClient, collection_name: string, partition_name: string) => Promise<Output>): ClientCommandSpec => ({
    name: `partition ${verb}`,
    args: "COLLECTION NAME",
    summary,
    positionals: ["COLLECTION", "NAME"],
    plan: (p) => {
      const [collection_name, partition_name] = p.positionals;
      return (client) => run(client, collection_name, partition_name);
    },
  });
  return [
    named("create", "create a partition", async (client, collection_name, partition_name) => {
      const r = await client.call("create_partition", { collection_name, partition_name });
      return { data: r, text: `created partition ${partition_name} in ${collection_name}` };
    }),
    named("drop", "drop a partition and its rows", async (client, collection_name, partition_name) => {
      const r = await client.call("drop_partition", { collection_name, partition_name });
      return { data: r, text: `dropped partition ${partition_name} from ${collection_name}` };
    }),
    named("has", "whether a collection has a partition", async (client, collection_name, partition_name) => {
      const r = await client.call("has_partition", { collection_name, partition_name });
      return { data: r, text: `partition ${partition_name} ${r ? "exists" : "does not exist"} in ${collection_name}` };
    }),
    {
      name: "partition list",
      args: "COLLECTION",
      summary: "list a collection's partitions",
      positionals: ["COLLECTION"],
      plan: (p) => async (client) => {
        const names = await client.call("list_partitions", { collection_name: p.positionals[0] });
        return { data: names, text: lines(names, "(no partitions)") };
      },
    },
  ];
}

function indexCommands(): ClientCommandSpec[] {
  return [
    {
      name: "index create",
      args: "COLLECTION --field F [--type AUTOINDEX|HNSW|HNSW_SQ|FLAT] [--params JSON] [--name NAME]",
      summary: "declare a vector index; data nodes build it for every flushed segment",
      positionals: ["COLLECTION"],
      options: { field: { type: "string" }, type: { type: "string" }, params: { type: "string" }, name: { type: "string" } },
      plan: (p) => {
        const params = str(p, "params") === undefined ? undefined : parseJsonMap(need(p, "params"), "--params");
        const index = { field_name: need(p, "field"), index_type: str(p, "type") ?? "AUTOINDEX", index_name: str(p, "name"), params };
        return async (client) => {
          const r = await client.create_index({ collection_name: p.positionals[0], index_params: [index] });
          return { data: r, text: `created index ${index.index_name ?? index.field_name} (${index.index_type}) on ${p.positionals[0]}.${index.field_name}` };
        };
      },
    },
    {
      name: "index describe",
      args: "COLLECTION [--name NAME]",
      summary: "an index's type, parameters and build progress",
      positionals: ["COLLECTION"],
      options: { name: { type: "string" } },
      plan: (p) => async (client) => {
        const d = await client.describe_index({ collection_name: p.positionals[0], index_name: str(p, "name") });
        return { data: d, text: pairs(Object.entries(d)) };
      },
    },
    {
      name: "index list",
      args: "COLLECTION",
      summary: "list a collection's indexes",
      positionals: ["COLLECTION"],
      plan: (p) => async (client) => {
        const names = await client.list_indexes({ collection_name: p.positionals[0] });
        return { data: names, text: lines(names, "(no indexes)") };
      },
    },
    {
      name: "index drop",
      args: "COLLECTION NAME",
      summary: "drop an index and its built files",
      positionals: ["COLLECTION", "NAME"],
      plan: (p) => async (client) => {
        const r = await client.drop_index({ collection_name: p.positionals[0], index_name: p.positionals[1] });
        return { data: r, text: `dropped index ${p.positionals[1]} of ${p.positionals[0]}` };
      },
    },
  ];
}

function aliasCommands(): ClientCommandSpec[] {
  const pointing = (verb: "create" | "alter", summary: string): ClientCommandSpec => ({
    name: `alias ${verb}`,
    args: "ALIAS COLLECTION",
    summary,
    positionals: ["ALIAS", "COLLECTION"],
    plan: (p) => {
      const [alias, collection_name] = p.positionals;
      return async (client) => {
        const r = await client.call(`${verb}_alias`, { alias, collection_name });
        return { data: r, text: `${verb === "create" ? "created" : "altered"} alias ${alias} -> ${collection_name}` };
      };
    },
  });
  return [
    pointing("create", "create an alias: another name for a collection"),
    pointing("alter", "point an existing alias at another collection"),
    {
      name: "alias drop",
      args: "ALIAS",
      summary: "drop an alias (the collection stays)",
      positionals: ["ALIAS"],
      plan: (p) => async (client) => {
        const r = await client.call("drop_alias", { alias: p.positionals[0] });
        return { data: r, text: `dropped alias ${p.positionals[0]}` };
      },
    },
    {
      name: "alias describe",
      args: "ALIAS",
      summary: "show the collection an alias names",
      positionals: ["ALIAS"],
      plan: (p) => async (client) => {
        const a = await client.call("describe_alias", { alias: p.positionals[0] });
        return { data: a, text: pairs([["alias", a.alias], ["collection", a.collection_name]]) };
      },
    },
    {
      name: "alias list",
      args: "[--collection NAME]",
      summary: "list aliases, of every collection or of one",
      options: { collection: { type: "string" } },
      plan: (p) => {
        const collection_name = str(p, "collection");
        return async (client) => {
          const r = await client.call("list_aliases", collection_name === undefined ? {} : { collection_name });
          return { data: r, text: await aliasTable(client, r.aliases, r.collection_name) };
        };
      },
    },
  ];
}

/** list_aliases gives names only; for people each is shown with its collection. */
async function aliasTable(client: VecbusClient, aliases: string[], collection?: string): Promise<string> {
  if (aliases.length === 0) return "(no aliases)";
  const targets = await Promise.all(
    aliases.map(async (alias) => {
      if (collection !== undefined) return collection;
      try {
        return (await client.call("describe_alias", { alias })).collection_name;
      } catch (e) {
        // Dropped since the list was read.
        if (e instanceof VecbusError && e.code === "ALIAS_NOT_FOUND") return undefined;
        throw e;
      }
    }),
  );
  const rows = aliases.map((a, i) => [a, targets[i]]).filter(([, c]) => c !== undefined);
  return rows.length === 0 ? "(no aliases)" : table(["alias", "collection"], rows);
}

// ---- write commands

function writeCommands(): ClientCommandSpec[] {
  const fileOptions: Options = { file: { type: "string" }, batch: { type: "string" }, partition: { type: "string" } };
  const fromFile = (mode: WriteMode) => (p: Parsed) => {
    const file = need(p, "file");
    const opts = { name: p.positionals[0], file, fileBytes: fileSize(file), batch: positiveInt(p, "batch", 1000), keepIds: flag(p, "json"), partition: str(p, "partition") };
    return (client: VecbusClient) => writeFile(client, mode, opts);
  };
  return [
    { name: "insert", args: "NAME --file rows.jsonl [--batch 1000] [--partition NAME]", summary: "insert rows from a JSON-lines file", positionals: ["NAME"], options: fileOptions, plan: fromFile("insert") },
    { name: "upsert", args: "NAME --file rows.jsonl [--batch 1000] [--partition NAME]", summary: "upsert rows from a JSON-lines file", positionals: ["NAME"], options: fileOptions, plan: fromFile("upsert") },
    {
      name: "delete",
      args: "NAME --ids 1,2,3 | --filter EXPR [--partition NAME]",
      summary: "delete rows by primary key or by filter",
      positionals: ["NAME"],
      options: { ids: { type: "string" }, filter: { type: "string" }, partition: { type: "string" } },
      plan: planDelete,
    },
    {
      name: "flush",
      args: "NAME",
      summary: "seal every shard's growing segment and wait until the object store holds it",
      positionals: ["NAME"],
      plan: (p) => async (client) => {
        const r = await client.flush({ collection_name: p.positionals[0] });
        return { data: r, text: `flushed ${plural(r.flushed_segments, "segment")}` };
      },
    },
  ];
}

function planDelete(p: Parsed): Action {
  const ids = str(p, "ids");
  const filter = str(p, "filter");
  if ((ids === undefined) === (filter === undefined)) throw new UsageError("delete needs exactly one of --ids or --filter");
  const args = { collection_name: p.positionals[0], ids: ids === undefined ? undefined : parseIds(ids), filter, partition_name: str(p, "partition") };
  return async (client) => {
    const r = await client.call("delete", args);
    return { data: r, text: `deleted ${plural(r.delete_count, "row")}` };
  };
}

type WriteMode = "insert" | "upsert";

interface Batch {
  rows: Row[];
  /** The file line each row came from, for error messages. */
  lines: number[];
}

interface WriteState {
  rows: number;
  lastLine: number;
  ids: PrimaryKey[];
}

interface WriteOptions {
  name: string;
  file: string;
  fileBytes: number;
  batch: number;
  /** Only --json prints the ids; a large file's ids are not worth holding otherwise. */
  keepIds: boolean;
  /** Absent: the _default partition (or, with a partition key, the key's). */
  partition?: string;
}

function fileSize(file: string): number {
  try {
    return fs.statSync(file).size;
  } catch (e) {
    throw new VecbusError("INVALID_ARGUMENT", `cannot read ${file}: ${(e as Error).message}`);
  }
}

/** Rows are sent one batch at a time, in file order, so a later line wins over an earlier one with the same key. */
async function writeFile(client: VecbusClient, mode: WriteMode, opts: WriteOptions): Promise<Output> {
  const shown = progress(`${mode}ed rows`);
  const state: WriteState = { rows: 0, lastLine: 0, ids: [] };
  const started = performance.now();
  let failed = true;
  try {
    await readBatches(opts, async (batch, estimatedTotal) => {
      await sendBatch(client, mode, opts, batch, state);
      shown.update(state.rows, estimatedTotal);
    });
    failed = false;
  } finally {
    shown.done(writeSummary(mode, state, (performance.now() - started) / 1000, failed));
  }
  return { data: { [`${mode}_count`]: state.rows, ids: state.ids } };
}

function writeSummary(mode: WriteMode, state: WriteState, seconds: number, failed: boolean): string {
  const rate = Math.round(state.rows / Math.max(seconds, 0.001));
  const summary = `${mode}ed ${plural(state.rows, "row")} in ${seconds.toFixed(2)} s (${rate} rows/s)`;
  return failed && state.rows > 0 ? `${summary}; every row through line ${state.lastLine} is in` : summary;
}

/** Streams the file; the total passed on is estimated from the bytes read so far, as counting lines would read the file twice. */
async function readBatches(opts: WriteOptions, onBatch: (b: Batch, estimatedTotal: number) => Promise<void>): Promise<void> {
  const input = fs.createReadStream(opts.file);
  const lines = readline.createInterface({ input, crlfDelay: Infinity });
  let batch: Batch = { rows: [], lines: [] };
  let lineNo = 0;
  let rowsRead = 0;
  let bytesRead = 0;
  const flush = async () => {
    await onBatch(batch, Math.max(rowsRead, Math.round((rowsRead * opts.fileBytes) / Math.max(bytesRead, 1))));
    batch = { rows: [], lines: [] };
  };
  try {
    for await (const line of lines) {
      lineNo++;
      bytesRead += Buffer.byteLength(line) + 1;
      if (line.trim() === "") continue;
      batch.rows.push(parseRow(opts.file, line, lineNo));
      batch.lines.push(lineNo);
      rowsRead++;
      if (batch.rows.length >= opts.batch) await flush();
    }
    if (batch.rows.length > 0) await flush();
  } finally {
    lines.close();
    input.destroy();
  }
}

function parseRow(file: string, line: string, lineNo: number): Row {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch (e) {
    throw new VecbusError("INVALID_ARGUMENT", `${file} line ${lineNo}: not valid JSON (${(e as Error).message})`);
  }
  if (v === null || typeof v !== "object" || Array.isArray(v)) {
    throw new VecbusError("INVALID_ARGUMENT", `${file} line ${lineNo}: each line must be one JSON object (a row)`);
  }
  return v as Row;
}

/** The client refuses a request over the NATS payload limit before sending it, so splitting one cannot write a row twice. */
async function sendBatch(client: VecbusClient, mode: WriteMode, opts: WriteOptions, batch: Batch, state: WriteState): Promise<void> {
  const args = { collection_name: opts.name, data: batch.rows, partition_name: opts.partition };
  try {
    const { ids } = await client.call(mode, args);
    if (opts.keepIds) for (const id of ids) state.ids.push(id);
    state.rows += ids.length;
    state.lastLine = batch.lines[batch.lines.length - 1];
  } catch (e) {
    if (e instanceof VecbusError && e.code === "PAYLOAD_TOO_LARGE" && batch.rows.length > 1) {
      const half = Math.ceil(batch.rows.length / 2);
      await sendBatch(client, mode, opts, { rows: batch.rows.slice(0, half), lines: batch.lines.slice(0, half) }, state);
      await sendBatch(client, mode, opts, { rows: batch.rows.slice(half), lines: batch.lines.slice(half) }, state);
      return;
    }
    throw locateError(e, opts.file, batch);
  }
}

/** The server numbers rows within a request; the user needs the line in the file. */
function locateError(e: unknown, file: string, batch: Batch): unknown {
  if (!(e instanceof VecbusError)) return e;
  const m = /^row (\d+): (.*)$/s.exec(e.message);
  const line = m ? batch.lines[Number(m[1])] : undefined;
  if (m && line !== undefined) return new VecbusError(e.code, `${file} line ${line}: ${m[2]}`);
  return new VecbusError(e.code, `${file} lines ${batch.lines[0]}-${batch.lines[batch.lines.length - 1]}: ${e.message}`);
}

// ---- read commands

function readCommands(): ClientCommandSpec[] {
  return [
    {
      name: "search",
      args:
        `NAME --vector '[0.1,...]' | --vectors-file FILE.json [--anns-field FIELD] [--limit 10] [--offset N] [--filter EXPR] [--filter-params JSON]` +
        ` [--output-fields a,b] [--ef N] [--radius X] [--range-filter X] [--group-by FIELD] [--group-size N]${READ_SCOPE_ARGS}`,
      summary: "nearest neighbours of one or more vectors",
      positionals: ["NAME"],
      options: {
        vector: { type: "string" },
        "vectors-file": { type: "string" },
        "anns-field": { type: "string" },
        limit: { type: "string" },
        offset: { type: "string" },
        filter: { type: "string" },
        "filter-params": { type: "string" },
        "output-fields": { type: "string" },
        ef: { type: "string" },
        radius: { type: "string" },
        "range-filter": { type: "string" },
        "group-by": { type: "string" },
        "group-size": { type: "string" },
        ...READ_SCOPE_OPTIONS,
      },
      plan: planSearch,
    },
    {
      name: "hybrid-search",
      args: `NAME --reqs FILE.json [--ranker rrf|weighted] [--k 60] [--weights 0.7,0.3] [--limit 10] [--offset N] [--output-fields a,b]${READ_SCOPE_ARGS}`,
      summary: "fuse several vector searches (a JSON list of {data, anns_field, limit, filter?, param?}) into one ranking",
      positionals: ["NAME"],
      options: {
        reqs: { type: "string" },
        ranker: { type: "string" },
        k: { type: "string" },
        weights: { type: "string" },
        limit: { type: "string" },
        offset: { type: "string" },
        "output-fields": { type: "string" },
        ...READ_SCOPE_OPTIONS,
      },
      plan: planHybridSearch,
    },
    {
      name: "query",
      args: `NAME --filter EXPR | --limit N | --count [--filter-params JSON] [--offset N] [--output-fields a,b]${READ_SCOPE_ARGS}`,
      summary: "rows matching a filter (or the first --limit rows), or --count them",
      positionals: ["NAME"],
      options: {
        filter: { type: "string" },
        "filter-params": { type: "string" },
        limit: { type: "string" },
        offset: { type: "string" },
        count: { type: "boolean" },
        "output-fields": { type: "string" },
        ...READ_SCOPE_OPTIONS,
      },
      plan: planQuery,
    },
    {
      name: "get",
      args: `NAME --ids 1,2,3 [--output-fields a,b]${READ_SCOPE_ARGS}`,
      summary: "rows by primary key (--ids may be a JSON list)",
      positionals: ["NAME"],
      options: { ids: { type: "string" }, "output-fields": { type: "string" }, ...READ_SCOPE_OPTIONS },
      plan: (p) => {
        const args = { collection_name: p.positionals[0], ids: parseIds(need(p, "ids")), output_fields: list(p, "output-fields"), ...readScope(p) };
        return async (client) => rowsOutput(await client.call("get", args));
      },
    },
  ];
}

const READ_SCOPE_ARGS = ` [--partitions a,b] [--consistency ${CONSISTENCY_LEVELS.join("|")}]`;
const READ_SCOPE_OPTIONS: Options = { partitions: { type: "string" }, consistency: { type: "string" } };

/** Which partitions a read looks at and how fresh it must be; absent fields leave the server's defaults. */
function readScope(p: Parsed): { partition_names?: string[]; consistency_level?: ConsistencyLevel } {
  return { partition_names: partitionNames(p), consistency_level: consistency(p) };
}

/** Integers when every id looks like one, else strings; a JSON list says exactly which. */
function parseIds(s: string): PrimaryKey[] {
  if (s.trim().startsWith("[")) {
    let v: unknown;
    try {
      v = JSON.parse(s);
    } catch (e) {
      throw new UsageError(`--ids is not a valid JSON list: ${(e as Error).message}`);
    }
    if (!Array.isArray(v) || v.length === 0 || !v.every((x) => typeof x === "number" || typeof x === "string")) {
      throw new UsageError("--ids as JSON must be a non-empty list of numbers or strings");
    }
    return v as PrimaryKey[];
  }
  const parts = s.split(",").map((x) => x.trim()).filter((x) => x !== "");
  if (parts.length === 0) throw new UsageError("--ids needs at least one id");
  return parts.every((x) => /^-?\d+$/.test(x)) ? parts.map(Number) : parts;
}

function planSearch(p: Parsed): Action {
  const group_by_field = str(p, "group-by");
  const group_size = int(p, "group-size");
  if (group_size !== undefined && group_by_field === undefined) throw new UsageError("--group-size needs --group-by FIELD");
  const offset = nonNegativeInt(p, "offset");
  const args = {
    collection_name: p.positionals[0],
    data: searchVectors(p),
    anns_field: str(p, "anns-field"),
    limit: int(p, "limit"),
    offset,
    ...filterArgs(p),
    output_fields: list(p, "output-fields"),
    search_params: searchParams(p),
    group_by_field,
    group_size,
    ...readScope(p),
  };
  return async (client) => hitsOutput(await client.call("search", args), { offset, groupBy: group_by_field });
}

/**
 * --ef, --radius and --range-filter as `search_params.params`. A --range-filter
 * without --radius is sent as given: the server's answer says what is wrong.
 */
function searchParams(p: Parsed): SearchParams | undefined {
  const radius = num(p, "radius");
  const range_filter = num(p, "range-filter");
  const ef = int(p, "ef");
  if (radius === undefined && range_filter === undefined && ef === undefined) return undefined;
  return { params: { ...(radius === undefined ? {} : { radius }), ...(range_filter === undefined ? {} : { range_filter }), ...(ef === undefined ? {} : { ef }) } };
}

/** --filter with its --filter-params (a JSON map filling the filter's `{name}` templates). */
function filterArgs(p: Parsed): { filter?: string; filter_params?: Record<string, unknown> } {
  const filter = str(p, "filter");
  const raw = str(p, "filter-params");
  if (raw === undefined) return { filter };
  if (filter === undefined) throw new UsageError("--filter-params fills the templates of a --filter; give --filter EXPR too");
  return { filter, filter_params: parseJsonMap(raw, "--filter-params", `of template name to value, e.g. '{"low": 10}'`) };
}

function parseJsonMap(raw: string, flagName: string, what = `, e.g. '{"M": 16}'`): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch (e) {
    throw new UsageError(`${flagName} is not valid JSON: ${(e as Error).message}`);
  }
  if (v === null || typeof v !== "object" || Array.isArray(v)) throw new UsageError(`${flagName} must be a JSON map ${what}`);
  return v as Record<string, unknown>;
}

function planHybridSearch(p: Parsed): Action {
  const ranker = rankerSpec(p);
  const offset = nonNegativeInt(p, "offset");
  const args = {
    collection_name: p.positionals[0],
    reqs: annRequests(need(p, "reqs")),
    ranker,
    limit: int(p, "limit"),
    offset,
    output_fields: list(p, "output-fields"),
    ...readScope(p),
  };
  return async (client) => hitsOutput(await client.call("hybrid_search", args), { offset, score: "score" });
}

/** --ranker rrf (the default, with --k) or weighted (with --weights, which alone also means weighted). */
function rankerSpec(p: Parsed): RankerSpec {
  const given = str(p, "ranker");
  const name = given?.trim().toLowerCase() ?? (p.values.weights !== undefined ? "weighted" : "rrf");
  const k = num(p, "k");
  const weights = numberList(p, "weights");
  if (name === "rrf") {
    if (weights !== undefined) throw new UsageError("--weights goes with --ranker weighted; --ranker rrf takes --k");
    return k === undefined ? { strategy: "rrf" } : { strategy: "rrf", params: { k } };
  }
  if (name === "weighted") {
    if (k !== undefined) throw new UsageError("--k goes with --ranker rrf; --ranker weighted takes --weights");
    if (weights === undefined) throw new UsageError("--ranker weighted needs --weights W1,W2,...: one weight from 0 to 1 per search in --reqs");
    return { strategy: "weighted", params: { weights } };
  }
  throw new UsageError(`--ranker must be rrf or weighted, got "${given}"`);
}

/** --reqs FILE.json: the list of searches to fuse, each as the API takes it; the server checks their fields. */
function annRequests(file: string): AnnSearchRequest[] {
  const v = readJsonFile(file);
  if (!Array.isArray(v) || v.length === 0 || !v.every((r) => r !== null && typeof r === "object" && !Array.isArray(r))) {
    throw new VecbusError("INVALID_ARGUMENT", `${file} must hold a non-empty JSON list of searches, each {"data": [[...]], "anns_field": "...", "limit": 10}`);
  }
  return v as AnnSearchRequest[];
}

function planQuery(p: Parsed): Action {
  const collection_name = p.positionals[0];
  const limit = int(p, "limit");
  const offset = nonNegativeInt(p, "offset");
  const filter = filterArgs(p);
  if (flag(p, "count")) {
    if (limit !== undefined || offset !== undefined || p.values["output-fields"] !== undefined) {
      throw new UsageError("--count counts every matching row: leave out --limit, --offset and --output-fields");
    }
    const args = { collection_name, ...filter, output_fields: [COUNT_FIELD], ...readScope(p) };
    return async (client) => {
      const rows = await client.call("query", args);
      const n = Number(rows[0]?.[COUNT_FIELD] ?? 0);
      return { data: rows, text: `${plural(n, "row")} match${n === 1 ? "es" : ""}` };
    };
  }
  if (filter.filter === undefined && limit === undefined) throw new UsageError("query needs --filter EXPR, or --limit N to read rows without a filter, or --count");
  if (offset !== undefined && limit === undefined) throw new UsageError("--offset needs --limit: give both to page through the rows");
  const args = { collection_name, ...filter, limit, offset, output_fields: list(p, "output-fields"), ...readScope(p) };
  return async (client) => rowsOutput(await client.call("query", args));
}

/** The output field that makes query count rows. */
const COUNT_FIELD = "count(*)";

function searchVectors(p: Parsed): number[][] {
  const inline = str(p, "vector");
  const file = str(p, "vectors-file");
  if ((inline === undefined) === (file === undefined)) throw new UsageError("search needs exactly one of --vector or --vectors-file");
  if (file !== undefined) return asVectors(readJsonFile(file), file);
  let v: unknown;
  try {
    v = JSON.parse(inline!.trim().startsWith("[") ? inline! : `[${inline}]`);
  } catch (e) {
    throw new UsageError(`--vector is not a JSON list of numbers: ${(e as Error).message}`);
  }
  return asVectors(v, "--vector");
}

/** One vector or a list of them. */
function asVectors(v: unknown, where: string): number[][] {
  const isVector = (x: unknown) => Array.isArray(x) && x.length > 0 && x.every((n) => typeof n === "number");
  if (isVector(v)) return [v as number[]];
  if (Array.isArray(v) && v.length > 0 && v.every(isVector)) return v as number[][];
  throw new VecbusError("INVALID_ARGUMENT", `${where} must hold a list of numbers or a list of such lists`);
}

/** How a list of hits is shown: ranks continue after --offset; grouped hits show their group and its value. */
interface HitsView {
  offset?: number;
  /** The header of the distance column; hybrid search's is a fused score. */
  score?: string;
  groupBy?: string;
}

function hitsOutput(results: Hit[][], view: HitsView): Output {
  const text = results.map((hits, q) => (results.length > 1 ? `query ${q + 1}\n${hitsTable(hits, view)}` : hitsTable(hits, view))).join("\n\n");
  return { data: results, text };
}

/** The primary key is always in a hit's entity; it is already the id column. */
function hitsTable(hits: Hit[], view: HitsView = {}): string {
  if (hits.length === 0) return "(no hits)";
  const first = (view.offset ?? 0) + 1;
  const score = view.score ?? "distance";
  const group = view.groupBy;
  const extra = columnsOf(hits.map((h) => h.entity)).filter((k) => k !== group && !hits.every((h) => h.entity[k] === h.id));
  const rest = (h: Hit) => extra.map((k) => h.entity[k]);
  if (group === undefined) {
    return table(["rank", "id", score, ...extra], hits.map((h, i) => [first + i, h.id, h.distance, ...rest(h)]));
  }
  // Groups come best first, each group's hits together; --offset skips whole groups.
  const numbers = new Map<unknown, number>();
  for (const h of hits) if (!numbers.has(h.entity[group])) numbers.set(h.entity[group], first + numbers.size);
  return table(["group", group, "id", score, ...extra], hits.map((h) => [numbers.get(h.entity[group]), h.entity[group], h.id, h.distance, ...rest(h)]));
}

function rowsOutput(rows: Row[]): Output {
  if (rows.length === 0) return { data: rows, text: "(no rows)" };
  const cols = columnsOf(rows);
  return { data: rows, text: table(cols, rows.map((r) => cols.map((c) => r[c]))) };
}

// ---- status

function statusCommands(): ClientCommandSpec[] {
  return [
    {
      name: "status",
      args: "",
      summary: "live nodes, shard owners and segments (state, rows, index, who serves them)",
      plan: () => async (client) => {
        const s = await client.status();
        return { data: s, text: statusText(s) };
      },
    },
  ];
}

function statusText(s: ClusterStatus): string {
  const nodes = table(
    ["role", "node", "host", "pid", "up since"],
    s.nodes.map((n) => [n.role, n.node_id, n.host, n.pid, isoTime(n.started_at)]),
  );
  const shards = table(
    ["collection", "shard", "owner", "epoch", "rows", "segments", "wal stream", "wal last seq", "health"],
    s.shards.map((x) => [x.collection_name, x.shard, x.owner, x.epoch, x.row_count ?? undefined, x.segments ?? undefined, x.wal_stream, x.wal_last_seq, x.health]),
  );
  const segments = table(
    ["collection", "shard", "segment", "state", "rows", "deleted", "index", "served by"],
    s.segments.map((x) => [x.collection_name, x.shard, x.segment_id ?? "growing", x.state, x.rows, x.deleted, x.index, x.served_by]),
  );
  return `nodes\n${nodes}\n\nshards\n${shards}\n\nsegments\n${segments}`;
}

// ---- dispatch

function clientCommand(spec: ClientCommandSpec): Command {
  return {
    name: spec.name,
    args: spec.args,
    summary: spec.summary,
    positionals: spec.positionals ?? [],
    options: { ...CLIENT_OPTIONS, ...spec.options },
    run: (p) => runWithClient(p, spec.plan(p)),
  };
}

async function runWithClient(p: Parsed, action: Action): Promise<number> {
  const client = await VecbusClient.connect(natsUrl(p.values), { prefix: str(p, "prefix"), auth: natsAuth(p.values) });
  try {
    const out = await action(client);
    if (flag(p, "json")) process.stdout.write(`${JSON.stringify(out.data, jsonReplacer)}\n`);
    else if (out.text) process.stdout.write(`${out.text}\n`);
    return 0;
  } finally {
    await client.close().catch(() => undefined);
  }
}

const COMMANDS: Command[] = [
  ...serverCommands(),
  ...userCommands(),
  ...[...collectionCommands(), ...partitionCommands(), ...aliasCommands(), ...indexCommands(), ...writeCommands(), ...readCommands(), ...statusCommands()].map(clientCommand),
];

function usage(): string {
  // Optional flags are left to `vecbus help COMMAND`, to keep one line per command.
  const rows = COMMANDS.map((c) => [`${c.name} ${c.args.replace(/ ?\[--[^\]]*\]/g, "")}`.trim(), c.summary]);
  rows.push(["help [COMMAND]", "this text, or one command's options"]);
  const width = Math.max(...rows.map(([a]) => a.length));
  return [
    "usage: vecbus <command> [options]",
    "",
    ...rows.map(([a, s]) => `  ${a.padEnd(width)}  ${s}`),
    "",
    `Client commands take ${CONNECTION_HELP}, --prefix P and --json.`,
  ].join("\n");
}

function commandUsage(c: Command): string {
  const opts = Object.entries(c.options).map(([k, o]) => (o.type === "string" ? `--${k} VALUE` : `--${k}`));
  return `usage: vecbus ${`${c.name} ${c.args}`.trim()}\n\n${c.summary}\noptions: ${opts.join(", ")}`;
}

function findCommand(argv: string[]): Command {
  const cmd = COMMANDS.find((c) => c.name === argv.slice(0, 2).join(" ")) ?? COMMANDS.find((c) => c.name === argv[0]);
  if (cmd) return cmd;
  if (COMMANDS.some((c) => c.name.startsWith(`${argv[0]} `))) {
    throw new UsageError(argv[1] === undefined ? `"${argv[0]}" needs a subcommand` : `unknown command "${argv[0]} ${argv[1]}"`);
  }
  throw new UsageError(`unknown command "${argv[0]}"`);
}

function parse(cmd: Command, args: string[]): Parsed {
  let r;
  try {
    r = parseArgs({ args, options: { ...cmd.options, help: { type: "boolean", short: "h" } }, allowPositionals: true, strict: true });
  } catch (e) {
    // Node's message goes on to explain `--` for positionals, which is rarely what was meant.
    throw new UsageError((e as Error).message.replace(/\. To specify a positional.*$/s, ""));
  }
  const p = { values: r.values as Values, positionals: r.positionals };
  if (!flag(p, "help") && p.positionals.length !== cmd.positionals.length) {
    const want = cmd.positionals.length === 0 ? "no arguments" : cmd.positionals.join(" ");
    throw new UsageError(`expected ${want}, got ${p.positionals.length === 0 ? "none" : p.positionals.map((x) => `"${x}"`).join(" ")}`);
  }
  return p;
}

function help(topic: string[]): number {
  const cmd = topic.length > 0 ? COMMANDS.find((c) => c.name === topic.join(" ")) : undefined;
  if (topic.length > 0 && !cmd) throw new UsageError(`unknown command "${topic.join(" ")}"`);
  console.log(cmd ? commandUsage(cmd) : usage());
  return 0;
}

async function dispatch(argv: string[]): Promise<number> {
  if (argv.length === 0 || ["help", "--help", "-h"].includes(argv[0])) return help(argv.slice(1));
  const cmd = findCommand(argv);
  try {
    const p = parse(cmd, argv.slice(cmd.name.split(" ").length));
    if (flag(p, "help")) {
      console.log(commandUsage(cmd));
      return 0;
    }
    return await cmd.run(p);
  } catch (e) {
    if (e instanceof UsageError) e.command ??= cmd;
    throw e;
  }
}

function report(e: unknown, json: boolean): number {
  if (e instanceof UsageError) {
    process.stderr.write(`vecbus: ${e.message}\n\n${e.command ? commandUsage(e.command) : usage()}\n`);
    return 2;
  }
  const err = e instanceof VecbusError ? e.toBody() : { code: "INTERNAL", message: e instanceof Error ? e.message : String(e) };
  process.stderr.write(e instanceof VecbusError ? `error ${err.code}: ${err.message}\n` : `error: ${err.message}\n`);
  if (json) process.stdout.write(`${JSON.stringify({ ok: false, error: err })}\n`);
  return 1;
}

async function main(argv: string[]): Promise<number> {
  installProcessGuard(logger("process"));
  try {
    return await dispatch(argv);
  } catch (e) {
    return report(e, argv.includes("--json"));
  }
}

// `vecbus query ... | head` closes the pipe early; that is the reader's choice, not an error.
process.stdout.on("error", (e: NodeJS.ErrnoException) => {
  if (e.code !== "EPIPE") throw e;
  process.exit(0);
});

// Exit explicitly, so an actor timer or a half-closed socket cannot keep a finished
// command alive; but only once the output is flushed, as writes to a pipe are async.
main(process.argv.slice(2)).then((code) => {
  process.stdout.write("", () => process.stderr.write("", () => process.exit(code)));
});
