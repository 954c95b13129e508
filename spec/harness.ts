// Shared test set-up: a real nats-server on a free port with a temp store,
// and (optionally) every vecbus actor in this process. Always torn down in
// `finally` by the tests that use it.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { DataNodeOptions } from "../actors/data.js";
import type { SealOptions } from "../actors/streaming/shard.js";
import { startCluster, type Cluster, type Role } from "../cli/cluster.js";
import { startNatsServer, type NatsServer } from "../cli/nats-server.js";
import { VecbusClient } from "../runtime/client.js";
import { CLIENT_TIMEOUT_MS } from "./timeouts.js";

export interface TestEnv {
  nats: NatsServer;
  dataDir: string;
  cluster: Cluster | undefined;
  client: VecbusClient;
  /** Stops the actors and starts them again (same node id) on the same server: a restart from what NATS stored. */
  restart(): Promise<void>;
  /** Stops actors, client and server, and removes the store. */
  close(): Promise<void>;
}

export function tempDir(tag: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `vecbus-${tag}-`));
}

export async function startEnv(
  opts: { roles?: readonly Role[] | "none"; tag?: string; seal?: Partial<SealOptions>; data?: Partial<DataNodeOptions>; autoCompaction?: boolean } = {},
): Promise<TestEnv> {
  const dataDir = tempDir(opts.tag ?? "test");
  const nats = await startNatsServer({ dataDir });
  const roles = opts.roles;
  const start = () =>
    roles === "none"
      ? Promise.resolve(undefined)
      : startCluster({
          natsUrl: nats.url,
          nodeId: "test",
          roles,
          seal: opts.seal,
          data: opts.data,
          cacheDir: path.join(dataDir, "query-cache"),
          // Off unless a test asks: tests that count segments must not see them merged behind their back.
          autoCompaction: opts.autoCompaction ?? false,
        });
  let cluster: Cluster | undefined;
  let client: VecbusClient | undefined;
  try {
    cluster = await start();
    client = await VecbusClient.connect(nats.url, { timeoutMs: CLIENT_TIMEOUT_MS });
  } catch (e) {
    await cluster?.stop();
    await nats.stop();
    throw e;
  }
  return {
    nats,
    dataDir,
    get cluster() {
      return cluster;
    },
    client,
    restart: async () => {
      await cluster?.stop();
      cluster = undefined;
      cluster = await start();
    },
    close: async () => {
      await client!.close().catch(() => undefined);
      await cluster?.stop();
      await nats.stop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
