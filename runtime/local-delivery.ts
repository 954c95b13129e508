// Requests between actors of one process skip the NATS round trip. `vecbus
// serve` runs every actor in one process, and a search crossed NATS three
// times (client → proxy → shard owner → query node): the two internal hops
// cost the process a socket write and read each way and nats-server a route
// per message. An actor's mailbox on an exact subject registers here; an
// actor reference (runtime/actor-ref.ts) asking that subject on the same NATS
// server hands the request to the mailbox directly, as the value it would
// have encoded: no encoding and decoding of it (an insert's batch is half a
// megabyte, and both copies showed in the ingest profile). Everything else
// is as over NATS: the same checks on receipt (a message check takes what a
// sender builds as it takes what decoding gives: typed arrays or bins,
// bigints or numbers), the same in-flight bound, timeouts and reply bytes.
// Such a request is not held to max_payload, since it never crosses NATS.
// A queue group member is a valid pick for a queue subject, and the only one
// of a per-node subject.
//
// Off with VECBUS_LOCAL_DELIVERY=0 (every request over NATS, as between processes).
import type { NatsConnection } from "@nats-io/transport-node";

export interface LocalEndpoint {
  /** The reply's bytes, or null once the mailbox no longer takes messages (its subscription closed): then NATS decides. */
  deliver(request: unknown, subject: string): Promise<Uint8Array> | null;
}

const endpoints = new Map<string, LocalEndpoint[]>();

function localDeliveryOn(): boolean {
  return process.env.VECBUS_LOCAL_DELIVERY !== "0";
}

/** Requests reach the same subscribers only through the same server (or its cluster, which routes the same way). */
function key(nc: NatsConnection, subject: string): string | undefined {
  const server = nc.info?.server_id;
  return server === undefined ? undefined : `${server} ${subject}`;
}

/** Registers a mailbox's endpoint; returns the function that removes it. */
export function serveLocally(nc: NatsConnection, subject: string, endpoint: LocalEndpoint): () => void {
  const k = key(nc, subject);
  if (k === undefined || !localDeliveryOn() || /[*>]/.test(subject)) return () => undefined;
  endpoints.set(k, [...(endpoints.get(k) ?? []), endpoint]);
  return () => {
    const rest = (endpoints.get(k) ?? []).filter((e) => e !== endpoint);
    if (rest.length > 0) endpoints.set(k, rest);
    else endpoints.delete(k);
  };
}

/** The newest endpoint in this process for a subject, if any. */
export function localEndpoint(nc: NatsConnection, subject: string): LocalEndpoint | undefined {
  const k = key(nc, subject);
  const list = k === undefined ? undefined : endpoints.get(k);
  return list?.[list.length - 1];
}
