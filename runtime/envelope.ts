// The reply envelope every request gets, public or internal.
import { VecbusError, isErrorCode, type ErrorBody } from "../protocol/errors.js";

export type Reply<T> = { ok: true; data: T } | { ok: false; error: ErrorBody };

export function okReply<T>(data: T): Reply<T> {
  return { ok: true, data };
}

export function errorReply(e: unknown): Reply<never> {
  return { ok: false, error: toVecbusError(e).toBody() };
}

/**
 * NATS client errors that say NATS cannot answer now (JetStream electing a
 * stream leader after a server died, a server gone): by name, as each
 * @nats-io package defines its own classes.
 */
const NATS_UNAVAILABLE = new Set(["JetStreamNotEnabled", "TimeoutError", "NoResponders", "RequestError", "ClosedConnectionError", "ConnectionError"]);

/** Anything thrown inside an actor becomes a VecbusError: NATS not answering is UNAVAILABLE (callers retry it), other unknown throws INTERNAL. */
export function toVecbusError(e: unknown): VecbusError {
  if (e instanceof VecbusError) return e;
  const msg = e instanceof Error ? e.message : String(e);
  if (e instanceof Error && NATS_UNAVAILABLE.has(e.name)) return new VecbusError("UNAVAILABLE", `NATS did not answer (${e.name}: ${msg}); try again`);
  return new VecbusError("INTERNAL", `internal error: ${msg}`);
}

/** Unwraps a decoded reply, rethrowing a remote error with its original code. */
export function unwrapReply<T>(reply: unknown): T {
  const r = reply as Partial<Reply<T>> | null;
  if (r && r.ok === true) return r.data as T;
  if (r && r.ok === false && r.error && isErrorCode(r.error.code)) {
    throw new VecbusError(r.error.code, String(r.error.message));
  }
  throw new VecbusError("INTERNAL", "a reply did not have the {ok, data | error} envelope");
}
