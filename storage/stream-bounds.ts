// The byte bounds and replica counts of vecbus's streams and buckets, and
// JetStream's answers at the bounds. A bound refuses a message once reached (discard: new), never drops the
// oldest (discard: old, JetStream's default, would lose unflushed WAL
// records); that refusal, and a server that cannot reserve or store more,
// become RESOURCE_EXHAUSTED naming what is full. Nothing stored is dropped.
import { DiscardPolicy, JetStreamApiError, type JetStreamManager, type StreamInfo } from "@nats-io/jetstream";
import { VecbusError } from "../protocol/errors.js";
import { limit } from "../protocol/limits.js";

export interface StreamBound {
  max_bytes: number;
  discard: DiscardPolicy;
}

export function streamBound(name: "walBytes" | "taskBytes" | "metaBytes"): StreamBound {
  return { max_bytes: limit(name), discard: DiscardPolicy.New };
}

/**
 * A stream as it must be: one made by an earlier release (no bound, discard
 * old) is given `bound`, and one with fewer replicas than VECBUS_REPLICAS
 * gets that many (never fewer: dropping copies is an operator's decision),
 * so a store that grows from one NATS server to a cluster keeps its data
 * and gains the copies. Returns its info as it now is.
 */
export async function asConfigured(jsm: JetStreamManager, info: StreamInfo, bound?: StreamBound): Promise<StreamInfo> {
  const replicas = Math.max(info.config.num_replicas, limit("replicas"));
  const bounded = !bound || (info.config.max_bytes === bound.max_bytes && info.config.discard === bound.discard);
  if (bounded && replicas === info.config.num_replicas) return info;
  const updated = await jsm.streams.update(info.config.name, { ...info.config, ...bound, num_replicas: replicas });
  return replicas === info.config.num_replicas ? updated : withReplicas(jsm, info.config.name, replicas);
}

/** How long a stream given more replicas may take to elect a leader with every new copy caught up. */
const REPLICATION_WAIT_MS = 60_000;

/**
 * The stream's info once it has a leader and `replicas - 1` followers caught
 * up: right after the change it answers nothing for a moment (measured on
 * 2.9.10: "jetstream is not enabled" or a timeout), and a write then would fail.
 */
async function withReplicas(jsm: JetStreamManager, name: string, replicas: number): Promise<StreamInfo> {
  const deadline = Date.now() + REPLICATION_WAIT_MS;
  for (;;) {
    const info = await jsm.streams.info(name).catch((e) => (Date.now() > deadline ? Promise.reject(e) : undefined));
    const followers = info?.cluster?.replicas?.filter((r) => r.current) ?? [];
    if (info?.cluster?.leader && followers.length >= replicas - 1) return info;
    if (Date.now() > deadline) {
      throw new VecbusError("UNAVAILABLE", `the stream ${name} has not caught up ${replicas} replicas within ${REPLICATION_WAIT_MS / 1000} s; are ${replicas} JetStream servers in the cluster?`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** JetStream's "stream not found". */
export const STREAM_NOT_FOUND = 10059;

/** The stream's info; undefined when it does not exist (yet). */
export async function streamInfoIfAny(jsm: JetStreamManager, name: string): Promise<StreamInfo | undefined> {
  try {
    return await jsm.streams.info(name);
  } catch (e) {
    if (e instanceof JetStreamApiError && e.code === STREAM_NOT_FOUND) return undefined;
    throw e;
  }
}

const INSUFFICIENT_RESOURCES = 10047;
const STORE_FAILED = 10077;

function isStoreFull(e: unknown): boolean {
  if (!(e instanceof JetStreamApiError)) return false;
  return e.code === INSUFFICIENT_RESOURCES || (e.code === STORE_FAILED && /maximum (bytes|messages) exceeded/.test(e.message));
}

/** The error to answer with when `e` says the store is full, else undefined. `what` names the store, `remedy` what frees it. */
export function storeFullError(e: unknown, what: string, remedy: string): VecbusError | undefined {
  if (!isStoreFull(e)) return undefined;
  return new VecbusError("RESOURCE_EXHAUSTED", `${what} is full (${(e as Error).message}): nothing was written; ${remedy}`);
}
