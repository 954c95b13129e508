// JetStream's answers when a stream is at its byte limit (discard: new refuses
// the message) or the server cannot reserve or store more: both become
// RESOURCE_EXHAUSTED naming what is full, so a client sees why a write was
// refused; nothing already stored is dropped.
import { JetStreamApiError } from "@nats-io/jetstream";
import { VecbusError } from "../protocol/errors.js";

const INSUFFICIENT_RESOURCES = 10047;
const STORE_FAILED = 10077;

export function isStoreFull(e: unknown): boolean {
  if (!(e instanceof JetStreamApiError)) return false;
  return e.code === INSUFFICIENT_RESOURCES || (e.code === STORE_FAILED && /maximum (bytes|messages) exceeded/.test(e.message));
}

/** The error to answer with when `e` says the store is full, else undefined. `what` names the store, `remedy` what frees it. */
export function storeFullError(e: unknown, what: string, remedy: string): VecbusError | undefined {
  if (!isStoreFull(e)) return undefined;
  return new VecbusError("RESOURCE_EXHAUSTED", `${what} is full (${(e as Error).message}): nothing was written; ${remedy}`);
}
