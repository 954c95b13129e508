// Starting actors inside this process: all of them for `vecbus serve` and the
// tests, or one role for `vecbus start <role>`. Each role gets its own NATS
// connection, as it would in its own process.
import type { NatsConnection } from "@nats-io/transport-node";
import { Coordinator, type CoordinatorOptions } from "../actors/coordinator/coordinator.js";
import { COMPACTION_DEFAULTS } from "../engine/compaction-plan.js";
import { DataNode, type DataNodeOptions } from "../actors/data.js";
import { EdgeReplica } from "../actors/edge/replica.js";
import { Proxy } from "../actors/proxy/proxy.js";
import { SHARD_ATTEMPT_MS, SHARD_RETRY_MS } from "../protocol/api.js";
import { QueryNode } from "../actors/query.js";
import { StreamingNode } from "../actors/streaming/node.js";
import { SEAL_DEFAULTS, type SealOptions } from "../actors/streaming/shard.js";
import { actorInbox } from "../protocol/permissions.js";
import { ROLES, type Role } from "../protocol/roles.js";
import { DEFAULT_PREFIX, Names } from "../protocol/subjects.js";
import { closeConnection, connectNats, type NatsAuth } from "../runtime/connection.js";
import { openContext, type ActorContext } from "../actors/context.js";
import { tuneHeapGrowth } from "./heap-tuning.js";

export { ROLES, type Role };

export interface ClusterOptions {
  natsUrl: string;
  prefix?: string;
  /** Defaults to every role. */
  roles?: readonly Role[];
  /** Node ids are `<nodeId>-<role>`; a stable id lets a restarted process take back its shards and lease at once. */
  nodeId: string;
  /**
   * When streaming nodes seal growing segments. Unset fields come from
   * VECBUS_SEGMENT_ROWS_MAX and VECBUS_SEAL_IDLE_MS, else the defaults
   * (100000 rows, 10000 ms): the environment reaches `vecbus serve` and `start`.
   */
  seal?: Partial<SealOptions>;
  /** Data node options (ack wait, build threads); unset fields take DATA_DEFAULTS. */
  data?: Partial<DataNodeOptions>;
  /** Whether the coordinator compacts by itself (default: on unless VECBUS_AUTO_COMPACTION=0). */
  autoCompaction?: boolean;
  /** Where a query node keeps downloaded segment and index files, and an edge replica index files (default: under the OS temp dir). */
  cacheDir?: string;
  /** The credentials each role connects with (none: anonymous, for a server without auth). */
  credentials?: (role: Role) => NatsAuth | undefined;
  /** The edge site of an edge replica, and of a proxy that serves a site (its Bounded and Eventually reads go to the site's replicas). */
  site?: string;
  /** The hub's JetStream domain, for actors connected to an edge site's leaf node. */
  jsDomain?: string;
  /** The collections an edge replica keeps (absent: every one). */
  edgeCollections?: readonly string[];
}

export interface Cluster {
  stop(): Promise<void>;
}

interface Running {
  start(): Promise<void>;
  stop(): Promise<void>;
}

const ACTORS: Record<Role, (ctx: ActorContext, id: string, opts: ClusterOptions) => Running> = {
  streaming: (ctx, id, opts) => new StreamingNode(ctx, id, sealOptions(opts.seal)),
  coordinator: (ctx, id, opts) => new Coordinator(ctx, id, coordinatorOptions(opts)),
  data: (ctx, id, opts) => new DataNode(ctx, id, opts.data),
  query: (ctx, id, opts) => new QueryNode(ctx, id, { cacheDir: opts.cacheDir }),
  edge: (ctx, id, opts) => new EdgeReplica(ctx, id, { site: opts.site ?? DEFAULT_SITE, collections: opts.edgeCollections, cacheDir: opts.cacheDir }),
  proxy: (ctx, id, opts) => new Proxy(ctx, id, { shardRetryMs: SHARD_RETRY_MS, shardAttemptMs: SHARD_ATTEMPT_MS, site: opts.site }),
};

/** The site an edge replica serves when none is named. */
export const DEFAULT_SITE = "edge";

/** What `vecbus serve` runs: every role but the edge replica, which runs at an edge site. */
export const SERVE_ROLES: readonly Role[] = ROLES.filter((r) => r !== "edge");

export async function startCluster(opts: ClusterOptions): Promise<Cluster> {
  tuneHeapGrowth();
  const roles = opts.roles ?? SERVE_ROLES;
  const names = new Names(opts.prefix ?? DEFAULT_PREFIX);
  const running: { actor: Running; nc: NatsConnection }[] = [];
  const stop = async () => {
    for (const r of running.reverse()) {
      await r.actor.stop().catch(() => undefined);
      await closeConnection(r.nc);
    }
  };
  try {
    // In ROLES order: streaming first (its shards replay while the others start), the
    // proxy last, so the first request it takes finds everything it routes to.
    for (const role of ROLES.filter((r) => roles.includes(r))) {
      const id = `${opts.nodeId}-${role}`;
      const nc = await connectNats(opts.natsUrl, `vecbus-${id}`, { reconnectForever: true, auth: opts.credentials?.(role), inboxPrefix: actorInbox(names, role) });
      const actor = ACTORS[role](await openContext(nc, names.prefix, role, opts.credentials?.(role) ? role : undefined, opts.jsDomain), id, opts);
      running.push({ actor, nc });
      await actor.start();
    }
  } catch (e) {
    await stop();
    throw e;
  }
  return { stop };
}

function coordinatorOptions(opts: ClusterOptions): CoordinatorOptions {
  const env = process.env.VECBUS_AUTO_COMPACTION;
  return {
    compaction: COMPACTION_DEFAULTS(sealOptions(opts.seal).segmentRowsMax),
    autoCompaction: opts.autoCompaction ?? (env === undefined || env === "" ? true : env !== "0"),
  };
}

function sealOptions(given: Partial<SealOptions> = {}): SealOptions {
  return {
    segmentRowsMax: given.segmentRowsMax ?? envInt("VECBUS_SEGMENT_ROWS_MAX") ?? SEAL_DEFAULTS.segmentRowsMax,
    sealIdleMs: given.sealIdleMs ?? envInt("VECBUS_SEAL_IDLE_MS") ?? SEAL_DEFAULTS.sealIdleMs,
  };
}

function envInt(name: string): number | undefined {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return undefined;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < 1) throw new Error(`${name} must be a positive integer; got "${raw}"`);
  return n;
}
