// The byte bounds of vecbus's streams and buckets, and JetStream's answers at
// them. A bound refuses a message once reached (discard: new), never drops the
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

/** A stream as it must be: one made by an earlier release (no bound, discard old) is given `bound`. Returns its info as it now is. */
export async function withBound(jsm: JetStreamManager, info: StreamInfo, bound: StreamBound): Promise<StreamInfo> {
  if (info.config.max_bytes === bound.max_bytes && info.config.discard === bound.discard) return info;
  return jsm.streams.update(info.config.name, { ...info.config, ...bound });
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
