// Typed request-reply over NATS. Transport failures are turned into the same
// VecbusError codes a remote actor would send, so callers handle one kind of error.
import { errors as natsErrors, type NatsConnection } from "@nats-io/transport-node";
import { VecbusError } from "../protocol/errors.js";
import { decode, encode } from "./codec.js";
import { unwrapReply } from "./envelope.js";
import { localEndpoint } from "./local-delivery.js";
import { onConnectionEvent } from "./connection.js";

export const DEFAULT_TIMEOUT_MS = 30_000;

export async function request<T>(nc: NatsConnection, subject: string, body: unknown, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<T> {
  // A closed connection has no server info (max_payload) either.
  if (nc.isClosed()) throw transportError(new natsErrors.ClosedConnectionError(), subject, timeoutMs);
  const sent = requestEncoded<T>(nc, subject, encodeRequest(nc, body), timeoutMs);
  sent.catch(() => undefined);
  return Promise.race([sent, dropOf(nc)]);
}

/**
 * Per connection, a promise that rejects when it drops. NATS delivers no
 * reply to a request whose connection dropped (a server died, or this
 * process stalled and was cut off): it would wait out its whole timeout.
 * It fails at once instead, and the caller may retry on the reconnected
 * connection.
 */
const drops = new WeakMap<NatsConnection, { promise: Promise<never>; drop(): void }>();

function dropOf(nc: NatsConnection): Promise<never> {
  let d = drops.get(nc);
  if (!d) {
    drops.set(nc, (d = dropSignal()));
    onConnectionEvent(nc, "disconnect", () => {
      const dropped = drops.get(nc);
      drops.set(nc, dropSignal());
      dropped?.drop();
    });
  }
  return d.promise;
}

function dropSignal(): { promise: Promise<never>; drop(): void } {
  let drop = () => {};
  const promise = new Promise<never>((_, reject) => {
    drop = () =>
      reject(
        new VecbusError(
          "UNAVAILABLE",
          "the connection to NATS dropped while the request was in flight: it may or may not have been carried out; retry it (an insert, upsert or delete by primary key is idempotent)",
        ),
      );
  });
  promise.catch(() => undefined);
  return { promise, drop };
}

async function requestEncoded<T>(nc: NatsConnection, subject: string, payload: Uint8Array, timeoutMs: number): Promise<T> {
  let msg;
  try {
    msg = await nc.request(subject, payload, { timeout: timeoutMs });
  } catch (e) {
    throw transportError(e, subject, timeoutMs);
  }
  return unwrapReply<T>(decode(msg.data));
}

/**
 * `request` between actors: to a mailbox of this process when one serves the
 * subject (runtime/local-delivery.ts), else over NATS.
 */
export async function actorRequest<T>(nc: NatsConnection, subject: string, body: unknown, timeoutMs = DEFAULT_TIMEOUT_MS, mayBeLocal = true): Promise<T> {
  const local = mayBeLocal ? localEndpoint(nc, subject) : undefined;
  if (!local) return request<T>(nc, subject, body, timeoutMs);
  // The same errors as the NATS path gives: transportError words them.
  if (nc.isClosed()) throw transportError(new natsErrors.ClosedConnectionError(), subject, timeoutMs);
  const delivered = local.deliver(body, subject);
  if (!delivered) return request<T>(nc, subject, body, timeoutMs);
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(transportError(new natsErrors.TimeoutError(), subject, timeoutMs)), timeoutMs);
  });
  try {
    return unwrapReply<T>(decode(await Promise.race([delivered, timeout])));
  } finally {
    clearTimeout(timer);
  }
}

function encodeRequest(nc: NatsConnection, body: unknown): Uint8Array {
  const payload = encode(body);
  if (payload.byteLength > nc.info!.max_payload) {
    throw new VecbusError(
      "PAYLOAD_TOO_LARGE",
      `the request is ${payload.byteLength} bytes but the NATS server accepts at most ${nc.info!.max_payload}; send fewer rows per request`,
    );
  }
  return payload;
}

/** NATS's answer to a request on a subject nobody subscribes to (two shapes, by client version and path). */
export function isNoResponders(e: unknown): boolean {
  return (e instanceof natsErrors.RequestError && e.isNoResponders()) || e instanceof natsErrors.NoRespondersError;
}

export function transportError(e: unknown, subject: string, timeoutMs: number): VecbusError {
  if (e instanceof VecbusError) return e;
  if (isNoResponders(e)) return new VecbusError("UNAVAILABLE", `nothing is serving ${subject}; check that vecbus is running (vecbus status)`);
  const denied = e instanceof natsErrors.PermissionViolationError ? e : e instanceof natsErrors.RequestError && e.cause instanceof natsErrors.PermissionViolationError ? e.cause : undefined;
  if (denied) {
    return new VecbusError("PERMISSION_DENIED", `this NATS user may not ${denied.operation} to ${denied.subject}; connect as a user whose role allows it`);
  }
  if (e instanceof natsErrors.TimeoutError || (e instanceof natsErrors.RequestError && e.cause instanceof natsErrors.TimeoutError)) {
    return new VecbusError("TIMEOUT", `no reply on ${subject} within ${timeoutMs} ms`);
  }
  if (e instanceof natsErrors.ClosedConnectionError || e instanceof natsErrors.DrainingConnectionError) {
    return new VecbusError("UNAVAILABLE", "the NATS connection is closed");
  }
  const msg = e instanceof Error ? e.message : String(e);
  if (/max_payload/i.test(msg)) {
    return new VecbusError("PAYLOAD_TOO_LARGE", `the message exceeds the NATS server's max_payload; send less per request`);
  }
  return new VecbusError("UNAVAILABLE", `request on ${subject} failed: ${msg}`);
}

/** Whether an error is a NoResponders/unavailable condition that a retry may cure. */
export function isUnavailable(e: unknown): boolean {
  return e instanceof VecbusError && (e.code === "UNAVAILABLE" || e.code === "SHARD_NOT_READY");
}
