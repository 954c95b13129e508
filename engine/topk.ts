// Keeps the k best items seen so far in a binary heap whose root is the worst
// kept item, so each offer is O(log k). Used for per-segment search.

/** Negative when a ranks ahead of b, positive when after, 0 when equal. */
export type Order<T> = (a: T, b: T) => number;

export class TopK<T> {
  private readonly heap: T[] = [];

  constructor(
    private readonly k: number,
    private readonly order: Order<T>,
  ) {}

  offer(item: T): void {
    if (this.k <= 0) return;
    const h = this.heap;
    if (h.length < this.k) {
      h.push(item);
      this.up(h.length - 1);
    } else if (this.order(item, h[0]) < 0) {
      h[0] = item;
      this.down(0);
    }
  }

  /** Best first. */
  sorted(): T[] {
    return [...this.heap].sort(this.order);
  }

  private worse(i: number, j: number): boolean {
    return this.order(this.heap[i], this.heap[j]) > 0;
  }

  private up(i: number): void {
    const h = this.heap;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.worse(i, p)) break;
      [h[i], h[p]] = [h[p], h[i]];
      i = p;
    }
  }

  private down(i: number): void {
    const h = this.heap;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let w = i;
      if (l < h.length && this.worse(l, w)) w = l;
      if (r < h.length && this.worse(r, w)) w = r;
      if (w === i) break;
      [h[i], h[w]] = [h[w], h[i]];
      i = w;
    }
  }
}
