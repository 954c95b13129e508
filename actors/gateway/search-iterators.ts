// Milvus 2.5's search iterator (search_iter_v2) over vecbus's search_iterator
// cursor. Milvus's clients keep the token of the first page for the whole
// iterator and send the last page's bound (`search_iter_last_bound`, a
// float32) with each next one; pymilvus and the Go and Java clients refuse a
// token that changes. So the token names the iterator, and the gateway keeps
// each iterator's vecbus cursor (the exact last distance and the ids returned
// at it) under its token. A token it does not hold (another gateway, a
// restart, or one pushed out) continues from the bound alone: rows at exactly
// that distance may come once more.
import { randomUUID } from "node:crypto";
import type { VecbusClient } from "../../runtime/client.js";

export type SearchCursor = NonNullable<Awaited<ReturnType<VecbusClient["search_iterator"]>>["cursor"]>;

/** Iterators one caller keeps at once (the least recently used beyond it continue from their bound), and for how long. */
const MAX_ITERATORS = 256;
const ITERATOR_IDLE_MS = 600_000;

/** Where an iterator's next page starts: undefined for its first, null once it is finished. */
export interface IteratorPage {
  token: string;
  cursor: SearchCursor | null | undefined;
}

export class SearchIterators {
  private readonly byToken = new Map<string, { cursor: SearchCursor | null; at: number }>();

  /** The page a request asks for, by its token (none: a new iterator) and the bound its client sent. */
  page(token: string, lastBound: number | undefined): IteratorPage {
    if (token === "") return { token: randomUUID(), cursor: undefined };
    const held = this.byToken.get(token);
    if (held && performance.now() - held.at < ITERATOR_IDLE_MS) {
      // A client that sends another bound than the one it was given pages from its own.
      if (held.cursor === null || lastBound === undefined || Math.fround(held.cursor.distance) === Math.fround(lastBound)) return { token, cursor: held.cursor };
    }
    return { token, cursor: lastBound === undefined ? undefined : { distance: lastBound, ids: [], returned: 0 } };
  }

  /** Keeps where the iterator stands after a page (null: finished). */
  keep(token: string, cursor: SearchCursor | null): void {
    this.byToken.delete(token);
    this.byToken.set(token, { cursor, at: performance.now() });
    for (const oldest of this.byToken.keys()) {
      if (this.byToken.size <= MAX_ITERATORS) break;
      this.byToken.delete(oldest);
    }
  }
}
