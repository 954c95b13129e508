// Keeps the k best items seen so far in a binary heap whose root is the worst
// kept item, so each offer is O(log k). Used for per-segment search and for
// reducing results across shards.

export class TopK<T> {
  private readonly heap: { score: number; item: T }[] = [];

  /** `better(a, b)` is true when score a ranks ahead of score b. */
  constructor(
    private readonly k: number,
    private readonly better: (a: number, b: number) => boolean,
  ) {}

  offer(score: number, item: T): void {
    if (this.k <= 0) return;
    const h = this.heap;
    if (h.length < this.k) {
      h.push({ score, item });
      this.up(h.length - 1);
    } else if (this.better(score, h[0].score)) {
      h[0] = { score, item };
      this.down(0);
    }
  }

  /** Best first. */
  sorted(): { score: number; item: T }[] {
    return [...this.heap].sort((a, b) => (this.better(a.score, b.score) ? -1 : this.better(b.score, a.score) ? 1 : 0));
  }

  private worse(i: number, j: number): boolean {
    return this.better(this.heap[j].score, this.heap[i].score);
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

export function scoreOrder(largerIsBetter: boolean): (a: number, b: number) => boolean {
  return largerIsBetter ? (a, b) => a > b : (a, b) => a < b;
}
