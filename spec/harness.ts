// Shared test set-up: a real nats-server on a free port with a temp store,
// and (optionally) every vecbus actor in this process. Always torn down in
// `finally` by the tests that use it.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { DataNodeOptions } from "../actors/data.js";
import type { SealOptions } from "../actors/streaming/shard.js";
import { startCluster, type Cluster, type Role } from "../cli/cluster.js";
import { freePort, startNatsServer, type NatsServer } from "../cli/nats-server.js";
import type { LeafnodeListener } from "../cli/nats-auth.js";
import type { NatsConnection } from "@nats-io/transport-node";
import { actorInbox, ANONYMOUS_USER, SUPERUSER } from "../protocol/permissions.js";
import { DEFAULT_PREFIX, Names } from "../protocol/subjects.js";
import { closeConnection, connectNats, type NatsAuth } from "../runtime/connection.js";
import { VecbusClient } from "../runtime/client.js";
import { CLIENT_TIMEOUT_MS } from "./timeouts.js";
import { startVecbus, type ServeProcess } from "./cli/serve-process.js";

export interface TestEnv {
  nats: NatsServer;
  dataDir: string;
  cluster: Cluster | undefined;
  client: VecbusClient;
  /** A connection as the superuser, for tests that look at (or tamper with) what actors store: the client's anonymous one may not. */
  admin: NatsConnection;
  /** The credentials actors of the harness's prefix connect with. */
  credentials: (role: Role) => NatsAuth | undefined;
  /** A connection as an actor of `role` opens it (its NATS user and inbox prefix), for tests that run an actor by hand. */
  connectAs(role: Role, name: string): Promise<NatsConnection>;
  /** Stops the actors and starts them again (same node id) on the same server: a restart from what NATS stored. */
  restart(): Promise<void>;
  /** Stops actors, client and server, and removes the store. */
  close(): Promise<void>;
}

export function tempDir(tag: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `vecbus-${tag}-`));
}

export async function startEnv(
  opts: {
    roles?: readonly Role[] | "none";
    tag?: string;
    seal?: Partial<SealOptions>;
    data?: Partial<DataNodeOptions>;
    autoCompaction?: boolean;
    prefix?: string;
    prefixes?: string[];
    refusalsExpected?: boolean;
    /** false: actors of this process ask each other over NATS (as separate processes do), for tests that watch those requests on the wire. */
    localDelivery?: boolean;
    /** Edge sites may connect: the server takes leaf nodes (TestEnv.nats.leafUrl; on this port and advertising this address if given) and its JetStream has the hub's domain. */
    leafnodes?: true | LeafnodeListener;
  } = {},
): Promise<TestEnv> {
  if (opts.localDelivery === false) process.env.VECBUS_LOCAL_DELIVERY = "0";
  const dataDir = tempDir(opts.tag ?? "test");
  const leafnodes = opts.leafnodes === true ? { port: await freePort() } : opts.leafnodes;
  const nats = await startNatsServer({ dataDir, security: { prefixes: opts.prefixes ?? [opts.prefix ?? DEFAULT_PREFIX], requireAuth: false, leafnodes } });
  const roles = opts.roles;
  const names = new Names(opts.prefix ?? DEFAULT_PREFIX);
  const credentials = nats.actorCredentials(names.prefix);
  const start = () =>
    roles === "none"
      ? Promise.resolve(undefined)
      : startCluster({
          natsUrl: nats.url,
          prefix: opts.prefix,
          credentials,
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
  let admin: NatsConnection | undefined;
  try {
    cluster = await start();
    client = await VecbusClient.connect(nats.url, { timeoutMs: CLIENT_TIMEOUT_MS, prefix: opts.prefix });
    admin = await connectNats(nats.url, "test-admin", { reconnectForever: false, auth: nats.credentials(SUPERUSER) });
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
    admin,
    credentials,
    connectAs: (role, name) => connectNats(nats.url, name, { reconnectForever: false, auth: credentials(role), inboxPrefix: actorInbox(names, role) }),
    restart: async () => {
      await cluster?.stop();
      cluster = undefined;
      cluster = await start();
    },
    close: async () => {
      await client!.close().catch(() => undefined);
      await closeConnection(admin!);
      await cluster?.stop();
      await nats.stop();
      if (opts.localDelivery === false) delete process.env.VECBUS_LOCAL_DELIVERY;
      fs.rmSync(dataDir, { recursive: true, force: true });
      // Every actor must get by with its role's permissions: a refusal of anyone but the anonymous user is a gap in the table
      // (unless the test provokes refusals on purpose).
      const refused = nats.violations().filter((line) => !line.includes(`"${ANONYMOUS_USER}"`));
      if (refused.length > 0 && !opts.refusalsExpected) throw new Error(`nats-server refused vecbus users:\n${refused.join("\n")}`);
    },
  };
}

/** `vecbus start ROLE` as a child process with the role's credentials, ready; its actor id is `<nodeId>-<role>`. `url`: another way to the server (a proxy in front of it). */
export function startActorProcess(env: TestEnv, role: Role, nodeId: string, url = env.nats.url): Promise<ServeProcess> {
  const { user, pass } = env.credentials(role)!;
  return startVecbus(["start", role, "--nats-url", url, "--user", user!, "--password", pass!, "--node-id", nodeId]);
}
