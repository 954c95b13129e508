// Three nats-servers as one JetStream cluster on loopback, each started from
// the documented nats-cluster.conf with its own environment (free ports, a
// temp store), so the tests run the config users are told to run.
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { findNatsServer, freePort } from "../cli/nats-server.js";
import { tempDir } from "./harness.js";
import { ROOT } from "./cli/serve-process.js";
import { eventually } from "./timeouts.js";

export interface NatsCluster {
  /** Every server's client URL, comma-separated: what `--nats-url` takes for a cluster. */
  urls: string;
  url(i: number): string;
  /** SIGKILLs server i (0-based) and waits for it to exit. */
  kill(i: number): Promise<void>;
  /** Starts server i again on its store. */
  restart(i: number): Promise<void>;
  /** Stops every server and removes the stores. */
  stop(): Promise<void>;
}

interface Member {
  env: Record<string, string>;
  port: number;
  child?: ChildProcess;
  log: string;
}

export async function startNatsCluster(size = 3): Promise<NatsCluster> {
  const dir = tempDir("nats-cluster");
  const ports = await Promise.all(Array.from({ length: size * 2 }, () => freePort()));
  const routes = Object.fromEntries(Array.from({ length: size }, (_, i) => [`NATS_ROUTE_${i + 1}`, `nats-route://127.0.0.1:${ports[size + i]}`]));
  const members: Member[] = Array.from({ length: size }, (_, i) => ({
    port: ports[i],
    log: "",
    env: {
      NATS_NAME: `n${i + 1}`,
      NATS_HOST: "127.0.0.1",
      NATS_PORT: String(ports[i]),
      NATS_CLUSTER_PORT: String(ports[size + i]),
      NATS_STORE: path.join(dir, `n${i + 1}`),
      ...routes,
    },
  }));
  const start = async (m: Member) => {
    m.log = "";
    const child = spawn(findNatsServer(), ["-c", path.join(ROOT, "nats-cluster.conf")], { env: { ...process.env, ...m.env }, stdio: ["ignore", "ignore", "pipe"] });
    m.child = child;
    child.stderr!.on("data", (d: Buffer) => {
      m.log = (m.log + d.toString()).slice(-20_000);
    });
    await eventually(`${m.env.NATS_NAME} to be ready`, () => m.log.includes("Server is ready") || child.exitCode !== null);
    if (child.exitCode !== null) throw new Error(`${m.env.NATS_NAME} exited with ${child.exitCode}:\n${m.log}`);
  };
  await Promise.all(members.map(start));
  // JetStream answers once the servers have elected a meta leader.
  await eventually("a JetStream meta leader", () => members.some((m) => /metadata leader/.test(m.log)));
  return {
    urls: members.map((m) => `nats://127.0.0.1:${m.port}`).join(","),
    url: (i) => `nats://127.0.0.1:${members[i].port}`,
    kill: async (i) => {
      const child = members[i].child!;
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGKILL");
      await exited;
    },
    restart: (i) => start(members[i]),
    stop: async () => {
      await Promise.all(
        members.map(async (m) => {
          const child = m.child;
          if (!child || child.exitCode !== null || child.signalCode !== null) return;
          const exited = new Promise((r) => child.once("exit", r));
          child.kill("SIGTERM");
          const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
          await exited;
          clearTimeout(timer);
        }),
      );
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
