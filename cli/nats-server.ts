// Starting and stopping a local nats-server for `vecbus serve` and the tests.
// A server left running by a serve process that was killed (SIGKILL cannot be
// caught, so its child outlives it) is found through the pid file in the data
// dir and stopped before a new one starts on the same store.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";

export interface NatsServer {
  url: string;
  port: number;
  process: ChildProcess;
  stop(): Promise<void>;
}

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
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 4; i++) {
    const p = path.join(dir, "nats.conf");
    if (fs.existsSync(p)) return p;
    dir = path.dirname(dir);
  }
  throw new Error("nats.conf not found next to the vecbus package");
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

/** Whether a process runs; a zombie (killed, its parent gone, not reaped yet: containers often lack an init that reaps) does not. */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return true;
  }
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
export async function stopOrphan(pidFile: string): Promise<void> {
  if (!fs.existsSync(pidFile)) return;
  const pid = Number(fs.readFileSync(pidFile, "utf8").trim());
  if (!Number.isInteger(pid) || pid <= 0 || !alive(pid)) return;
  const cmd = fs.existsSync(`/proc/${pid}/cmdline`) ? fs.readFileSync(`/proc/${pid}/cmdline`, "utf8") : "nats-server";
  if (!cmd.includes("nats-server")) return;
  process.kill(pid, "SIGTERM");
  if (!(await waitExit(pid, 10_000))) process.kill(pid, "SIGKILL");
}

export async function startNatsServer(opts: { dataDir: string; port?: number; bin?: string }): Promise<NatsServer> {
  const bin = opts.bin ?? findNatsServer();
  const port = opts.port ?? (await freePort());
  fs.mkdirSync(opts.dataDir, { recursive: true });
  const pidFile = path.join(opts.dataDir, "nats-server.pid");
  await stopOrphan(pidFile);
  const child = spawn(bin, ["-c", natsConfPath(), "-p", String(port), "-sd", path.join(opts.dataDir, "nats"), "-P", pidFile], {
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
  // Keep draining stderr, unread, so the child never blocks on a full pipe.
  child.stderr!.removeAllListeners("data");
  child.stderr!.resume();
  return {
    url: `nats://127.0.0.1:${port}`,
    port,
    process: child,
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
