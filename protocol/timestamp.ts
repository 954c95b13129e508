// Hybrid timestamps: physical milliseconds in the high bits, an 18-bit logical
// counter in the low bits (as Milvus). They exceed 2^53, so they are bigints
// in code and uint64 on the wire.
import { VecbusError } from "./errors.js";
import { limit, limitText } from "./limits.js";

export const LOGICAL_BITS = 18n;
export const LOGICAL_MAX = 1 << 18;

export function composeTs(physicalMs: number, logical: number): bigint {
  return (BigInt(physicalMs) << LOGICAL_BITS) | BigInt(logical);
}

export function physicalOf(ts: bigint): number {
  return Number(ts >> LOGICAL_BITS);
}

/**
 * Refuses a read's guarantee further ahead of this clock than a write's
 * timestamp can be (the oracle's clock): a shard would hold such a read for
 * its whole wait and then time out. `what` names the guarantee.
 */
export function checkGuaranteeAhead(ts: bigint, what: string): void {
  const ahead = physicalOf(ts) - Date.now();
  if (ahead > limit("guaranteeAheadMs")) {
    throw new VecbusError("INVALID_ARGUMENT", `${what} is ${ahead} ms ahead of the clock (${limitText("guaranteeAheadMs")}); pass a write's \`timestamp\` as returned by insert, upsert or delete`);
  }
}
