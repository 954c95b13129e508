// What every actor gets: one NATS connection and the JetStream handles and
// buckets built on it. Creating buckets here is idempotent, so any process
// may be the first to start.
import type { NatsConnection } from "@nats-io/transport-node";
import { jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager } from "@nats-io/jetstream";
import { Kvm, type KV } from "@nats-io/kv";
import { limit } from "../protocol/limits.js";
import { rolePublishes } from "../protocol/permissions.js";
import type { Role } from "../protocol/roles.js";
import { checkDataFormat, type DataFormat } from "../protocol/data-format.js";
import { VecbusError } from "../protocol/errors.js";
import type { NodeLoad, ShardAssignment } from "../protocol/messages.js";
import { MetaKey, Names } from "../protocol/subjects.js";
import { Refs, type ShardRef } from "../runtime/actor-ref.js";
import { logger, type Logger } from "../runtime/log.js";
import { Session, SESSION_TTL_MS } from "../runtime/session.js";
import { MetaStore } from "../storage/meta-store.js";
import { streamBound } from "../storage/stream-bounds.js";

export interface ActorContext {
  nc: NatsConnection;
  js: JetStreamClient;
  jsm: JetStreamManager;
  names: Names;
  /** Typed references to the other actors, on this connection. */
  refs: Refs;
  meta: MetaStore;
  sessions: KV;
  log: Logger;
}

/** At an edge site, how often meta watches start again (see MetaStore): a change lost on the leaf link is seen this late at worst. */
const EDGE_WATCH_RESYNC_MS = 30_000;

/**
 * `role`: the NATS user the connection is (its requests to actors of this
 * process are held to that role's permissions); none for the superuser.
 * `jsDomain`: the JetStream domain of the hub, for actors at an edge site
 * (a leaf node without JetStream of its own reaches the hub's through it).
 */
export async function openContext(nc: NatsConnection, prefix: string, logName: string, role?: Role, jsDomain?: string): Promise<ActorContext> {
  const names = new Names(prefix);
  const domain = jsDomain ? { domain: jsDomain } : {};
  const jsm = await jetstreamManager(nc, domain);
  const js = jetstream(nc, domain);
  const kvm = new Kvm(js);
  // The meta bucket's own byte reservation keeps room for drops (tombstones) when the WAL or object store is full.
  // Its reads go to the stream's leader, not to any replica (direct gets): a replica still catching up (one just
  // added when VECBUS_REPLICAS grew) answered "no such key", and a collection read as not existing.
  const metaKv = await kvm.create(names.metaBucket(), {
    history: 5,
    storage: "file",
    max_bytes: streamBound("metaBytes").max_bytes,
    replicas: limit("replicas"),
    allow_direct: false,
  });
  const sessions = await kvm.create(names.sessionBucket(), { history: 1, storage: "file", ttl: SESSION_TTL_MS, replicas: limit("replicas") });
  const log = logger(logName);
  const meta = new MetaStore(metaKv, (key, error) => log.error("meta store: a value skipped or a watch failed", { key, error }), nc, jsDomain ? EDGE_WATCH_RESYNC_MS : undefined);
  // An unreadable mark is reported by the meta store and read as no mark.
  checkDataFormat((await meta.get<DataFormat>(MetaKey.format).catch(() => null))?.value ?? null);
  return { nc, js, jsm, names, refs: new Refs(nc, names, role && rolePublishes(names, role)), meta, sessions, log };
}

/** The shard's assignment in meta now; UNAVAILABLE while it has none. `collection` names it in the error. */
export async function shardAssignment(ctx: ActorContext, collectionId: number, shard: number, collection = `collection ${collectionId}`): Promise<ShardAssignment> {
  const a = await ctx.meta.get<ShardAssignment>(MetaKey.shard(collectionId, shard));
  if (!a) throw new VecbusError("UNAVAILABLE", `shard ${shard} of ${collection} has no owner yet; retry shortly`);
  return a.value;
}

/** The shard's owner as its assignment in meta names it now. */
export async function shardOwner(ctx: ActorContext, collectionId: number, shard: number): Promise<ShardRef> {
  return ctx.refs.shard(collectionId, shard, (await shardAssignment(ctx, collectionId, shard)).epoch);
}

/** The actor's session key, with its load reported on its node subject (which the coordinator's pings ask). */
export function actorSession(ctx: ActorContext, role: Role, nodeId: string, report: () => NodeLoad): Session {
  return new Session(ctx.sessions, role, nodeId, ctx.log, { nc: ctx.nc, subject: ctx.names.nodeSubject(role, nodeId), report });
}
