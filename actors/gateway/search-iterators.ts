// Milvus 2.5's search iterator (search_iter_v2) over vecbus's search_iterator
// cursor. Milvus's clients keep the token of the first page for the whole
// iterator and send the last page's bound (`search_iter_last_bound`, a
// float32) with each next one; pymilvus and the Go and Java clients refuse a
// token that changes. So the token names the iterator, and the gateway keeps
// each iterator's vecbus cursor (the exact last distance and the ids returned
// at it) under its token. A token it does not hold (another gateway, a
// restart, one pushed out, or one whose last distance ties too many rows to
// keep) continues from the bound alone: rows at that distance may come once
// more, never not at all, as the bound sent is the last distance rounded to
// float32 toward the rows already returned.
import { randomUUID } from "node:crypto";
import type { VecbusClient } from "../../runtime/client.js";

export type SearchCursor = NonNullable<Awaited<ReturnType<VecbusClient["search_iterator"]>>["cursor"]>;

/** Iterators one caller keeps at once (the least recently used beyond it continue from their bound), and for how long. */
const MAX_ITERATORS = 256;
const ITERATOR_IDLE_MS = 600_000;
/** Ids tied at a last distance kept for one iterator; with more it continues from its bound. */
const MAX_TIED_IDS = 1024;

/** Where an iterator's next page starts: undefined for its first, null once it is finished. */
export interface IteratorPage {
  token: string;
  cursor: SearchCursor | null | undefined;
}

export class SearchIterators {
  private readonly byToken = new Map<string, { cursor: SearchCursor | null; bound: number; at: number }>();

  /** The page a request asks for, by its token (none: a new iterator) and the bound its client sent. */
  page(token: string, lastBound: number | undefined): IteratorPage {
    if (token === "") return { token: randomUUID(), cursor: undefined };
    const held = this.byToken.get(token);
    if (held && performance.now() - held.at < ITERATOR_IDLE_MS) {
      // A client that sends another bound than the one it was given pages from its own.
      if (held.cursor === null || lastBound === undefined || lastBound === held.bound) return { token, cursor: held.cursor };
    }
    return { token, cursor: lastBound === undefined ? undefined : { distance: lastBound, ids: [], returned: 0 } };
  }

  /** Keeps where the iterator stands after a page (null: finished) and the bound its client was sent. */
  keep(token: string, cursor: SearchCursor | null, bound: number): void {
    this.byToken.delete(token);
    if (cursor && cursor.ids.length > MAX_TIED_IDS) return;
    this.byToken.set(token, { cursor, bound, at: performance.now() });
    for (const oldest of this.byToken.keys()) {
      if (this.byToken.size <= MAX_ITERATORS) break;
      this.byToken.delete(oldest);
    }
  }
}

const F32 = new Float32Array(1);
const BITS = new Int32Array(F32.buffer);

/**
 * `d` as a float32 (what Milvus's `last_bound` carries), rounded up or down
 * when it is not exact: a bound that lies beyond `d` would skip the rows at it.
 */
export function float32Toward(d: number, up: boolean): number {
  F32[0] = d;
  const f = F32[0];
  if (f === d || !Number.isFinite(f) || f < d !== up) return f;
  // One float32 step in the wanted direction: up from a positive value (or down from a negative one) adds to
  // the bits' magnitude.
  if (f === 0) return up ? SMALLEST_FLOAT32 : -SMALLEST_FLOAT32;
  BITS[0] += up === f > 0 ? 1 : -1;
  return F32[0];
}

const SMALLEST_FLOAT32 = 1.401298464324817e-45;
