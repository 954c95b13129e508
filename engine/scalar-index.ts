// A scalar index over one column of a sealed segment: its non-null slots
// sorted by value. A comparison with a literal is then a range of that
// order (two binary searches), an `in` list a union of ranges, and the
// filter's bitset costs the matching rows instead of a pass over every row.
// A selective filter that is one such test is listed from the order itself
// (IndexMatch.slots): no bitset of every slot, and no passes over one to
// drop dead rows, count and list them (at 1M rows a 1% filter went from
// ~0.65 ms to ~0.05 ms a search, `category < 1` on one segment).
// Equal values are contiguous, so one structure answers what Milvus's
// INVERTED (value → rows), BITMAP (a row set per value) and STL_SORT
// (ranges) indexes answer.
//
// The bits are exactly those of the scan in filter-bits.ts: null never
// passes a comparison, and a literal of another kind than the column's
// values (a bigint, a number against strings) is left to the scan, which
// knows COMPARE's cross-kind rules; so is a column holding more than one kind.
import type { CompareOp, LiteralValue } from "../protocol/filter/index.js";

type Kind = "number" | "string" | "boolean";

/** Positions [from, to) of the order. */
type Run = [number, number];

/** A test of one column against literals: what a scalar index answers (`lo < x <= hi` is a range with lowerOp ">" and lo). */
export type IndexTest =
  | { kind: "compare"; op: CompareOp; value: LiteralValue }
  | { kind: "range"; lowerOp: CompareOp; lo: LiteralValue; upperOp: CompareOp; hi: LiteralValue }
  | { kind: "in"; values: LiteralValue[]; negated: boolean };

/**
 * The slots a test selects: runs of an index's order (negated: every
 * non-null slot outside them, as null is never in a list or out of it).
 */
export class IndexMatch {
  constructor(
    private readonly order: Uint32Array,
    private readonly runs: Run[],
    private readonly negated: boolean,
  ) {}

  /** 1 where the test holds, over slots 0..n-1. */
  bits(n: number): Uint8Array {
    const out = new Uint8Array(n);
    const order = this.order;
    const mark = (runs: Run[], bit: number) => {
      for (const [from, to] of runs) for (let i = from; i < to; i++) out[order[i]] = bit;
    };
    if (!this.negated) mark(this.runs, 1);
    else {
      mark([[0, order.length]], 1);
      mark(this.runs, 0);
    }
    return out;
  }

  /**
   * The same slots as a list, when at most `most` match (and not negated): a
   * selective filter then costs its matches, not a bitset of every slot and
   * the passes that count and list it. In runs of equal values, each run
   * ascending (the order breaks ties by slot): in value order, or in the
   * order an `in` list names them.
   */
  slots(most: number): Int32Array | undefined {
    if (this.negated) return undefined;
    let count = 0;
    for (const [from, to] of this.runs) count += Math.max(0, to - from);
    if (count > most) return undefined;
    const out = new Int32Array(count);
    let at = 0;
    for (const [from, to] of this.runs) for (let i = from; i < to; i++) out[at++] = this.order[i];
    return out;
  }
}

export class ScalarIndex {
  private constructor(
    private readonly kind: Kind,
    /** The values in ascending order (booleans as 0/1). */
    private readonly sorted: ArrayLike<number | string>,
    /** order[i]: the slot holding sorted[i]. */
    private readonly order: Uint32Array,
  ) {}

  /** The non-null slots in value order (equal values by slot). */
  get slotOrder(): ArrayLike<number> {
    return this.order;
  }

  /** The index of a column, or undefined when its values are not all of one kind (null aside). */
  static build(values: ArrayLike<unknown>): ScalarIndex | undefined {
    let kind: Kind | undefined;
    const slots: number[] = [];
    for (let s = 0; s < values.length; s++) {
      const v = values[s];
      if (v == null) continue;
      const k = typeof v;
      if (k !== "number" && k !== "string" && k !== "boolean") return undefined;
      if (kind !== undefined && k !== kind) return undefined;
      kind = k;
      slots.push(s);
    }
    kind ??= "number";
    const order = Uint32Array.from(slots);
    if (kind === "string") {
      const str = values as ArrayLike<string>;
      order.sort((a, b) => compareStrings(str[a], str[b]) || a - b);
      return new ScalarIndex(kind, Array.from(order, (s) => str[s]), order);
    }
    const num = new Float64Array(values.length);
    for (const s of slots) num[s] = Number(values[s]);
    order.sort((a, b) => num[a] - num[b] || a - b);
    return new ScalarIndex(kind, Float64Array.from(order, (s) => num[s]), order);
  }

  /**
   * The slots where the test holds; undefined when the scan must decide (a
   * literal of another kind, an ordering of booleans).
   */
  match(t: IndexTest): IndexMatch | undefined {
    const runs = t.kind === "compare" ? this.compareRuns(t.op, t.value) : t.kind === "range" ? this.betweenRuns(t.lowerOp, t.lo, t.upperOp, t.hi) : this.withinRuns(t.values);
    return runs && new IndexMatch(this.order, runs, t.kind === "in" && t.negated);
  }

  /** [from, to) runs of the order where `value op c`; undefined when the scan must decide. */
  private compareRuns(op: CompareOp, c: LiteralValue): Run[] | undefined {
    const key = this.key(c);
    if (key === undefined || (this.kind === "boolean" && op !== "==" && op !== "!=")) return undefined;
    const runs = [this.range(op, key)];
    if (op === "!=") runs.push([this.upper(key), this.order.length]);
    return runs;
  }

  private betweenRuns(lowerOp: CompareOp, lo: LiteralValue, upperOp: CompareOp, hi: LiteralValue): Run[] | undefined {
    const a = this.key(lo);
    const b = this.key(hi);
    const ordering = (op: CompareOp) => op !== "==" && op !== "!=";
    if (a === undefined || b === undefined || this.kind === "boolean" || !ordering(lowerOp) || !ordering(upperOp)) return undefined;
    const [f1, t1] = this.range(lowerOp, a);
    const [f2, t2] = this.range(upperOp, b);
    return [[Math.max(f1, f2), Math.min(t1, t2)]];
  }

  /** One run per distinct value listed (a value listed twice must not list its slots twice). */
  private withinRuns(values: LiteralValue[]): Run[] | undefined {
    const keys = new Set<number | string>();
    for (const v of values) {
      const k = this.key(v);
      if (k === undefined) return undefined;
      keys.add(k);
    }
    return Array.from(keys, (k): Run => [this.lower(k), this.upper(k)]);
  }

  /** The literal as a sort key, when it is of the column's kind. */
  private key(c: LiteralValue): number | string | undefined {
    if (typeof c !== this.kind) return undefined;
    return typeof c === "boolean" ? (c ? 1 : 0) : (c as number | string);
  }

  /** [from, to) of the order where `value op key` (for "!=": the part below key; the caller adds the part above). */
  private range(op: CompareOp, key: number | string): [number, number] {
    const m = this.order.length;
    switch (op) {
      case "==":
        return [this.lower(key), this.upper(key)];
      case "!=":
      case "<":
        return [0, this.lower(key)];
      case "<=":
        return [0, this.upper(key)];
      case ">":
        return [this.upper(key), m];
      case ">=":
        return [this.lower(key), m];
    }
  }

  /** The first position whose value is >= key. */
  private lower(key: number | string): number {
    let lo = 0;
    let hi = this.order.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.sorted[mid] < key) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** The first position whose value is > key. */
  private upper(key: number | string): number {
    let lo = 0;
    let hi = this.order.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.sorted[mid] <= key) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

/** The order of JavaScript's `<` on strings (UTF-16 code units), which the filters use. */
function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
