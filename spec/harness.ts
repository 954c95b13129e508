// Shared test set-up: a real nats-server on a free port with a temp store,
// and (optionally) every vecbus actor in this process. Always torn down in
// `finally` by the tests that use it.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { startCluster, type Cluster, type Role } from "../cli/cluster.js";
import { startNatsServer, type NatsServer } from "../cli/nats-server.js";
import { VecbusClient } from "../runtime/client.js";

export interface TestEnv {
  nats: NatsServer;
  dataDir: string;
  cluster: Cluster | undefined;
  client: VecbusClient;
  /** Stops actors, client and server, and removes the store. */
  close(): Promise<void>;
}

export function tempDir(tag: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `vecbus-${tag}-`));
}

export async function startEnv(opts: { roles?: readonly Role[] | "none"; tag?: string } = {}): Promise<TestEnv> {
  const dataDir = tempDir(opts.tag ?? "test");
  const nats = await startNatsServer({ dataDir });
  let cluster: Cluster | undefined;
  let client: VecbusClient | undefined;
  try {
    if (opts.roles !== "none") cluster = await startCluster({ natsUrl: nats.url, nodeId: "test", roles: opts.roles });
    client = await VecbusClient.connect(nats.url, { timeoutMs: 20_000 });
  } catch (e) {
    await cluster?.stop();
    await nats.stop();
    throw e;
  }
  return {
    nats,
    dataDir,
    cluster,
    client,
    close: async () => {
      await client!.close().catch(() => undefined);
      await cluster?.stop();
      await nats.stop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
