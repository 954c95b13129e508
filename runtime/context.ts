// What every actor gets: one NATS connection and the JetStream handles and
// buckets built on it. Creating buckets here is idempotent, so any process
// may be the first to start.
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager } from "@nats-io/jetstream";
import { Kvm, type KV } from "@nats-io/kv";
import { VecbusError } from "../protocol/errors.js";
import { Names } from "../protocol/subjects.js";
import { MetaStore } from "../storage/meta-store.js";
import { logger, type Logger } from "./log.js";

/** A session key not refreshed within this time is gone: its actor counts as dead. */
export const SESSION_TTL_MS = 6_000;

export interface ActorContext {
  nc: NatsConnection;
  js: JetStreamClient;
  jsm: JetStreamManager;
  names: Names;
  meta: MetaStore;
  sessions: KV;
  log: Logger;
}

/**
 * Actors reconnect forever (a NATS restart must not end them); clients give up
 * after the library's default attempts, so a request fails instead of hanging.
 */
export async function connectNats(url: string, name: string, opts: { reconnectForever: boolean }): Promise<NatsConnection> {
  try {
    return await connect({ servers: url, name, maxReconnectAttempts: opts.reconnectForever ? -1 : 10, reconnectTimeWait: 500 });
  } catch (e) {
    throw new VecbusError("UNAVAILABLE", `cannot connect to NATS at ${url} (${(e as Error).message}); start it with "vecbus serve" or pass --nats-url`);
  }
}

export async function openContext(nc: NatsConnection, prefix: string, logName: string): Promise<ActorContext> {
  const names = new Names(prefix);
  const jsm = await jetstreamManager(nc);
  const js = jetstream(nc);
  const kvm = new Kvm(nc);
  const metaKv = await kvm.create(names.metaBucket(), { history: 5, storage: "file" });
  const sessions = await kvm.create(names.sessionBucket(), { history: 1, storage: "file", ttl: SESSION_TTL_MS });
  return { nc, js, jsm, names, meta: new MetaStore(metaKv), sessions, log: logger(logName) };
}

/**
 * Drains (lets pending replies go out) when the server is there; a drain on a
 * connection that is reconnecting would wait for the server forever, so it is
 * cut short and the connection closed.
 */
export async function closeConnection(nc: NatsConnection, drainMs = 3_000): Promise<void> {
  if (nc.isClosed()) return;
  let timer: NodeJS.Timeout | undefined;
  const cut = new Promise<void>((resolve) => (timer = setTimeout(resolve, drainMs)));
  await Promise.race([nc.drain().catch(() => undefined), cut]);
  clearTimeout(timer);
  if (!nc.isClosed()) await nc.close().catch(() => undefined);
}
