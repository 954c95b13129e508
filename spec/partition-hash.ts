// The partition-key routing rule, written again from its definition (README
// "Partitions", protocol/sharding.ts) so that tests check the code against it
// instead of against itself: FNV-1a 32-bit over the key's bytes (UTF-8 for a
// string, the 8-byte little-endian two's complement for an integer), and a
// row goes to partition `_default_<hash mod num_partitions>` (and to shard
// `hash mod num_shards`).

/** FNV-1a, 32-bit, as the published reference defines it. */
export function fnv1a32(bytes: Uint8Array): number {
  let h = 2166136261;
  for (const b of bytes) {
    h = (h ^ b) >>> 0;
    // h * 16777619 mod 2^32 with 16777619 = 2^24 + 403, in exact float arithmetic.
    h = (h * 403 + (h % 256) * 2 ** 24) % 2 ** 32;
  }
  return h;
}

function keyBytes(key: string | number): Uint8Array {
  if (typeof key === "string") return Buffer.from(key, "utf8");
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigInt64(0, BigInt(key), true);
  return out;
}

/** The partition a row with this partition-key value belongs to. */
export function expectedPartition(key: string | number, numPartitions: number): string {
  return `_default_${fnv1a32(keyBytes(key)) % numPartitions}`;
}

/** The shard a row with this primary key goes to: the same hash, modulo the shard count. */
export function expectedShard(key: string | number, numShards: number): number {
  return numShards === 1 ? 0 : fnv1a32(keyBytes(key)) % numShards;
}
