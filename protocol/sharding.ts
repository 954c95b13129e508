// Which shard a primary key belongs to. The hash is fixed forever for a
// collection: changing it would send a key's delete to a shard that never saw
// its insert.
import type { PrimaryKey } from "./rows.js";

const encoder = new TextEncoder();

/** FNV-1a, 32-bit, over the key's canonical bytes (UTF-8 for strings, 8-byte LE for integers). */
export function hashKey(pk: PrimaryKey): number {
  let h = 0x811c9dc5;
  const mix = (byte: number) => {
    h ^= byte;
    h = Math.imul(h, 0x01000193) >>> 0;
  };
  if (typeof pk === "string") {
    for (const b of encoder.encode(pk)) mix(b);
  } else {
    let v = BigInt.asUintN(64, BigInt(pk));
    for (let i = 0; i < 8; i++) {
      mix(Number(v & 0xffn));
      v >>= 8n;
    }
  }
  return h >>> 0;
}

export function shardOf(pk: PrimaryKey, numShards: number): number {
  return numShards === 1 ? 0 : hashKey(pk) % numShards;
}

/** Splits items by the shard of their key, keeping each shard's items in input order. */
export function groupByShard<T>(items: T[], keyOf: (t: T) => PrimaryKey, numShards: number): Map<number, T[]> {
  const groups = new Map<number, T[]>();
  for (const it of items) {
    const s = shardOf(keyOf(it), numShards);
    let g = groups.get(s);
    if (!g) groups.set(s, (g = []));
    g.push(it);
  }
  return groups;
}
