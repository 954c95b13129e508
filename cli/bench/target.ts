// The vecbus a bench runs against: one given by URL, or a `vecbus serve`
// child process in a temporary directory (so the bench's own work does not
// share the actors' event loop), which it can also SIGKILL and restart.
import fs from "node:fs";
import path from "node:path";
import { spawn, type ChildProcess } from "node:child_process";
import { SUPERUSER } from "../../protocol/permissions.js";
import type { NatsAuth } from "../../runtime/connection.js";
import { credentialsOf, readAuth } from "../nats-auth.js";
import { freePort, serverRuns } from "../nats-server.js";
import { alive } from "../../runtime/process-alive.js";
import { makeScratchDir, removeOrphanedScratchDirs } from "../../storage/scratch-dir.js";

export interface Memory {
  vecbus_rss: number;
  vecbus_peak: number;
  nats_rss: number;
  nats_peak: number;
}

export interface Target {
  url: string;
  /** HOST:PORT of the serve child's Milvus gRPC front door (none with a vecbus given by URL). */
  milvus?: string;
  /** Who may create a scratch stream and read the object store: the serve's superuser, or the given credentials. */
  admin?: NatsAuth;
  log?: string;
  /** With a child process: SIGKILL it and its nats-server, start it again, resolve when it says ready. */
  crash?: () => Promise<void>;
  /** With a child process: resident memory of every actor (the vecbus process) and of its nats-server, in MB. */
  memory?: () => Memory;
  stop(): Promise<void>;
}

export async function startTarget(natsUrl: string | undefined, auth: NatsAuth | undefined): Promise<Target> {
  if (natsUrl) return { url: natsUrl, admin: auth, stop: async () => {} };
  // A bench that was killed left its serve child's data (1.2 GB at 1M rows), unless its child still serves from it.
  await removeOrphanedScratchDirs("bench", undefined, serverRuns);
  const dir = await makeScratchDir("bench");
  const port = await freePort();
  let { child, milvus } = await spawnServe(dir, port);
  const natsPid = () => Number(fs.readFileSync(path.join(dir, "nats-server.pid"), "utf8"));
  const users = readAuth(dir);
  return {
    url: `nats://127.0.0.1:${port}`,
    // A restarted child's front door takes another free port.
    get milvus() {
      return milvus;
    },
    admin: users && credentialsOf(users, SUPERUSER),
    log: `${dir}.serve.log`,
    crash: async () => {
      const pid = natsPid();
      child.kill("SIGKILL");
      process.kill(pid, "SIGKILL");
      while (alive(pid) || (child.exitCode === null && child.signalCode === null)) await new Promise((r) => setTimeout(r, 20));
      ({ child, milvus } = await spawnServe(dir, port));
    },
    memory: () => {
      const v = memoryOf(child.pid!);
      const n = memoryOf(natsPid());
      return { vecbus_rss: v.rss, vecbus_peak: v.peak, nats_rss: n.rss, nats_peak: n.peak };
    },
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill("SIGTERM");
        await new Promise((r) => child.once("exit", r));
      }
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** This same CLI, as a `vecbus serve` child process with its Milvus front door on a free port; resolves once it prints where that listens. */
async function spawnServe(dataDir: string, port: number): Promise<{ child: ChildProcess; milvus?: string }> {
  const child = spawn(process.execPath, [...process.execArgv, process.argv[1], "serve", "--data", dataDir, "--port", String(port), "--milvus-port", "0"], {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, VECBUS_LOG: process.env.VECBUS_LOG ?? "warn" },
  });
  let out = "";
  let err = "";
  // The child's log (VECBUS_LOG sets how much) goes to a file next to the data dir, for a look afterwards.
  const log = fs.createWriteStream(`${dataDir}.serve.log`, { flags: "a" });
  child.stderr!.on("data", (d) => {
    err = (err + d).slice(-4000);
    log.write(d);
  });
  // Ready, and then the front door's line, or its warning that it did not start.
  const milvus = await new Promise<string | undefined>((resolve, reject) => {
    const check = () => {
      if (!/vecbus ready on/.test(out)) return;
      const at = /milvus grpc on (\S+)/.exec(out);
      if (at) resolve(at[1]);
      else if (/Milvus front door did not start/.test(err)) resolve(undefined);
    };
    child.stdout!.on("data", (d) => {
      out += d;
      check();
    });
    child.stderr!.on("data", check);
    child.once("exit", (code) => reject(new Error(`vecbus serve exited (${code}) before it was ready:\n${err}`)));
  });
  return { child, milvus };
}

/** VmRSS and VmHWM from /proc, in MB. */
function memoryOf(pid: number): { rss: number; peak: number } {
  const status = fs.readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = (key: string) => Number(status.match(new RegExp(`${key}:\\s+(\\d+) kB`))?.[1] ?? 0);
  return { rss: Math.round(kb("VmRSS") / 1024), peak: Math.round(kb("VmHWM") / 1024) };
}
