// Starting and stopping a local nats-server for `vecbus serve` and the tests.
// A server left running by a serve process that was killed (SIGKILL cannot be
// caught, so its child outlives it) is found through the pid file in the data
// dir and stopped before a new one starts on the same store.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import readline from "node:readline";
import type { Role } from "../protocol/roles.js";
import { DEFAULT_PREFIX } from "../protocol/subjects.js";
import type { NatsAuth } from "../runtime/connection.js";
import { packageFile } from "../runtime/package-file.js";
import { alive } from "../runtime/process-alive.js";
import { withFileLock } from "./users-lock.js";
import {
  actorUser,
  credentialsOf,
  ensureAuth,
  ensureSiteAuth,
  LEAF_USER,
  renderNatsConfig,
  renderSiteAuthorization,
  SITE_USER,
  siteSettings,
  usersLockFile,
  writeFileAtomically,
  type AuthFile,
  type LeafnodeListener,
} from "./nats-auth.js";

/** How long a start waits for a users-file change in progress. */
const USERS_LOCK_WAIT_MS = 5_000;

export interface NatsServer {
  url: string;
  port: number;
  process: ChildProcess;
  /** Where an edge site's leaf node connects, with the leaf user's credentials (when the server takes leaf nodes). */
  leafUrl: string | undefined;
  /** The users file the server runs with; undefined in insecure mode. */
  auth: AuthFile | undefined;
  /** The credentials of a user of the users file (none in insecure mode). */
  credentials(user: string): NatsAuth | undefined;
  /** The credentials an actor role of a prefix connects with (none in insecure mode). */
  actorCredentials(prefix: string): (role: Role) => NatsAuth | undefined;
  /** Permission violations nats-server logged (at most the last 100), for tests that check no actor was refused. */
  violations(): string[];
  /** Makes the server read its config again; settles once it has applied it (or refused it). */
  reload(): Promise<void>;
  stop(): Promise<void>;
}

/** How long a reload may take before its caller is told it was not confirmed (nats-server applies one in milliseconds). */
const RELOAD_CONFIRM_MS = 5_000;
const RELOAD_REFUSED = "Failed to reload server configuration: ";

/** Secure (the default): per-role users and permissions from the data dir's users file; insecure: anyone may do anything. */
/** `leafnodes`: where edge sites' leaf nodes connect (see nats-auth.ts LeafnodeListener). */
export type ServerSecurity = { prefixes: readonly string[]; requireAuth: boolean; leafnodes?: LeafnodeListener } | "insecure";

export function findNatsServer(): string {
  const r = spawnSync("sh", ["-c", "command -v nats-server"], { encoding: "utf8" });
  const bin = r.stdout.trim();
  if (r.status !== 0 || !bin) {
    throw new Error("nats-server is not on PATH; install it with `apt-get install -y nats-server` (or pass --nats-url to use a running server)");
  }
  return bin;
}

/** nats.conf ships at the package root; this file runs from cli/ (tsx) or dist/cli/ (built). */
export function natsConfPath(): string {
  return packageFile("nats.conf");
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

async function waitExit(pid: number, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (!alive(pid)) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return !alive(pid);
}

/** Stops a nats-server that an earlier, killed serve left running on this data dir. */
/** The nats-server a pid file names, if it still runs (a pid reused by another process does not count). */
function runningServer(pidFile: string): number | undefined {
  if (!fs.existsSync(pidFile)) return undefined;
  const pid = Number(fs.readFileSync(pidFile, "utf8").trim());
  if (!Number.isInteger(pid) || pid <= 0 || !alive(pid)) return undefined;
  const cmd = fs.existsSync(`/proc/${pid}/cmdline`) ? fs.readFileSync(`/proc/${pid}/cmdline`, "utf8") : "nats-server";
  return cmd.includes("nats-server") ? pid : undefined;
}

export async function stopOrphan(pidFile: string): Promise<void> {
  const pid = runningServer(pidFile);
  if (pid === undefined) return;
  process.kill(pid, "SIGTERM");
  if (!(await waitExit(pid, 10_000))) process.kill(pid, "SIGKILL");
}

function pidFile(dataDir: string): string {
  return path.join(dataDir, "nats-server.pid");
}

function storeDir(dataDir: string): string {
  return path.join(dataDir, "nats");
}

/** Writes the server config for this start: the package's nats.conf, plus users and permissions unless insecure. */
export function writeServerConfig(dataDir: string, security: ServerSecurity): { file: string; auth: AuthFile | undefined } {
  if (security === "insecure") return { file: natsConfPath(), auth: undefined };
  // Under the users lock: a `vecbus user` change during a start is neither lost nor left out of the config.
  return withFileLock(usersLockFile(dataDir), USERS_LOCK_WAIT_MS, () => {
    const auth = ensureAuth(dataDir, security.prefixes, security.requireAuth, security.leafnodes);
    return { file: renderServerConfig(dataDir, auth), auth };
  });
}

/** (Re)writes `<data>/nats-server.conf` from a users file; mode 0600, since it holds the passwords. */
export function renderServerConfig(dataDir: string, auth: AuthFile): string {
  const file = path.join(dataDir, "nats-server.conf");
  // The store dir is written into the config, not passed as -sd: nats-server refuses to reload a
  // config whose JetStream store dir differs from the running one, and a -sd flag counts as different.
  const shipped = fs.readFileSync(natsConfPath(), "utf8");
  const base = shipped.replace(/^jetstream \{$/m, `jetstream {\n  store_dir: ${JSON.stringify(storeDir(dataDir))}`);
  if (base === shipped) throw new Error(`${natsConfPath()} has no "jetstream {" line to put the store dir in`);
  writeFileAtomically(file, renderNatsConfig(base, auth));
  return file;
}

/** Whether the nats-server this data dir's pid file names still runs. */
export function serverRuns(dataDir: string): boolean {
  return runningServer(pidFile(dataDir)) !== undefined;
}

/** Makes a running nats-server of this data dir read its config again (after a user change); false when none runs. */
export function reloadServer(dataDir: string): boolean {
  const pid = runningServer(pidFile(dataDir));
  if (pid !== undefined) process.kill(pid, "SIGHUP");
  return pid !== undefined;
}

export async function startNatsServer(opts: { dataDir: string; port?: number; bin?: string; security?: ServerSecurity }): Promise<NatsServer> {
  const bin = opts.bin ?? findNatsServer();
  const port = opts.port ?? (await freePort());
  fs.mkdirSync(opts.dataDir, { recursive: true });
  await stopOrphan(pidFile(opts.dataDir));
  const { file: config, auth } = writeServerConfig(opts.dataDir, opts.security ?? { prefixes: [DEFAULT_PREFIX], requireAuth: false });
  const storeFlag = auth ? [] : ["-sd", storeDir(opts.dataDir)];
  return launch(bin, ["-c", config, "-p", String(port), ...storeFlag, "-P", pidFile(opts.dataDir)], port, auth);
}

/**
 * An edge site's NATS server: a leaf node of the hub at `hubUrl`
 * (nats-leaf://vecbus-leaf:PASSWORD@HOST:PORT), without JetStream of its own
 * (the site's actors use the hub's through its domain), listening on
 * loopback only, with the site's users (nats-auth.ts SITE_USER: its actors;
 * the site's API users; unless `requireAuth`, the anonymous user, with the
 * API only). The users are in a file of their own that the config includes,
 * so `vecbus user` at the site rewrites them without the hub's URL.
 *
 * API requests and their replies never cross the link: a site client's
 * requests are answered at the site (writes too: the site's proxy forwards
 * them on internal subjects and its actors' inbox), a hub client's at the hub
 * (else the request would run at the other end and its reply be lost: a
 * write done, its caller told TIMEOUT); and the hub's anonymous clients share
 * `_INBOX`, as API users of the same name at hub and site would share
 * `_VB.<prefix>.user.<name>`. So the API subjects and both reply prefixes
 * are neither imported from the hub nor exported to it.
 */
export async function startLeafServer(opts: { dataDir: string; hubUrl: string; prefix: string; requireAuth: boolean; port?: number; bin?: string }): Promise<NatsServer & { siteAuth: NatsAuth }> {
  const bin = opts.bin ?? findNatsServer();
  const port = opts.port ?? (await freePort());
  fs.mkdirSync(opts.dataDir, { recursive: true });
  await stopOrphan(pidFile(opts.dataDir));
  const site = siteSettings(opts.dataDir, opts.prefix);
  withFileLock(usersLockFile(opts.dataDir), USERS_LOCK_WAIT_MS, () => renderSiteUsersConfig(opts.dataDir, ensureSiteAuth(opts.dataDir, opts.requireAuth)));
  const config = path.join(opts.dataDir, "nats-leaf.conf");
  const local = JSON.stringify(["_INBOX.>", "_VB.*.user.>", "*.api.>"]);
  const remote = `{ url: ${JSON.stringify(opts.hubUrl)}, deny_imports: ${local}, deny_exports: ${local} }`;
  const lines = ["host: 127.0.0.1", "max_payload: 8MB", `leafnodes { remotes: [ ${remote} ] }`, `include ${JSON.stringify(SITE_USERS_CONF)}`, ""];
  fs.writeFileSync(config, lines.join("\n"), { mode: 0o600 });
  return { ...(await launch(bin, ["-c", config, "-p", String(port), "-P", pidFile(opts.dataDir)], port, undefined)), siteAuth: { user: SITE_USER, pass: site.password } };
}

const SITE_USERS_CONF = "nats-leaf-users.conf";

/** (Re)writes a site's users config (included by its leaf node's config) from its users file; mode 0600. */
export function renderSiteUsersConfig(dataDir: string, auth: AuthFile): string {
  const file = path.join(dataDir, SITE_USERS_CONF);
  writeFileAtomically(file, renderSiteAuthorization(siteSettings(dataDir), auth));
  return file;
}

async function launch(bin: string, args: string[], port: number, auth: AuthFile | undefined): Promise<NatsServer> {
  const child = spawn(bin, args, {
    stdio: ["ignore", "ignore", "pipe"],
  });
  let log = "";
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`nats-server did not become ready in 15 s:\n${log}`)), 15_000);
    child.stderr!.on("data", (d: Buffer) => {
      log += d.toString();
      if (log.includes("Server is ready")) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`nats-server exited with code ${code} before it was ready:\n${log}`));
    });
  });
  // Keep draining stderr so the child never blocks on a full pipe; only permission violations and reloads' outcomes are kept.
  child.stderr!.removeAllListeners("data");
  const violations: string[] = [];
  // A SIGHUP only asks: the server logs when it has applied its config, or why it refused it, and an
  // outcome does not say which signal it answers. So this process signals once at a time: changes
  // asked for while a reload runs wait for the next, which reads the file after them. (A `vecbus user`
  // in another process signals on its own; a reload it asked for may answer a waiter here first.)
  type Waiter = { resolve(): void; reject(e: Error): void };
  let running: Waiter[] | undefined;
  let next: Waiter[] = [];
  let unconfirmed: NodeJS.Timeout | undefined;
  const settle = (failure?: Error) => {
    clearTimeout(unconfirmed);
    const done = running ?? [];
    running = undefined;
    for (const w of done) failure ? w.reject(failure) : w.resolve();
    if (next.length > 0) signal();
  };
  const signal = () => {
    running = next;
    next = [];
    unconfirmed = setTimeout(() => settle(new Error(`nats-server did not confirm a reload of its config within ${RELOAD_CONFIRM_MS / 1000} s`)), RELOAD_CONFIRM_MS);
    if (child.exitCode !== null || child.signalCode !== null || !child.kill("SIGHUP")) settle(new Error("nats-server is not running"));
  };
  // Anchored at the log's prefix: a client's connection name shows in other lines.
  const LOGGED = /^\[\d+\] \S+ \S+ \[(\w+)\] (.*)$/;
  readline.createInterface({ input: child.stderr! }).on("line", (line) => {
    const [, level, text] = LOGGED.exec(line) ?? [];
    if (level === "INF" && text === "Reloaded server configuration") return settle();
    if (level === "ERR" && text?.startsWith(RELOAD_REFUSED)) return settle(new Error(`nats-server refused its new config: ${text.slice(RELOAD_REFUSED.length)}`));
    if (!/Violation/.test(line)) return;
    violations.push(line);
    if (violations.length > 100) violations.shift();
  });
  child.once("exit", () => settle(new Error("nats-server exited before it applied its new config")));
  return {
    url: `nats://127.0.0.1:${port}`,
    port,
    process: child,
    auth,
    leafUrl: auth?.leafnodes && `nats-leaf://${LEAF_USER}:${auth.leafnodes.password}@127.0.0.1:${auth.leafnodes.port}`,
    credentials: (user) => (auth ? credentialsOf(auth, user) : undefined),
    actorCredentials: (prefix) => (role) => (auth ? credentialsOf(auth, actorUser(prefix, role)) : undefined),
    violations: () => [...violations],
    reload: () =>
      new Promise<void>((resolve, reject) => {
        next.push({ resolve, reject });
        if (running === undefined) signal();
      }),
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
