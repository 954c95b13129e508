// Hybrid timestamps: physical milliseconds in the high bits, an 18-bit logical
// counter in the low bits (as Milvus). They exceed 2^53, so they are bigints
// in code and uint64 on the wire.
export const LOGICAL_BITS = 18n;
export const LOGICAL_MAX = 1 << 18;

export function composeTs(physicalMs: number, logical: number): bigint {
  return (BigInt(physicalMs) << LOGICAL_BITS) | BigInt(logical);
}

export function physicalOf(ts: bigint): number {
  return Number(ts >> LOGICAL_BITS);
}
