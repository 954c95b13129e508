// Filtered search over one indexed segment, per query vector: either score
// exactly the rows that pass the filter, or ask the HNSW index for more
// neighbours than wanted and drop those that fail it (usearch's JS binding
// has no filtered search). Pure: the index and the scoring are callbacks.
//
// The choice compares costs. Measured with usearch 2.25 (M=16,
// efConstruction=128, ef 64-128, uniform random 32-d rows, limit 10 and 100):
// the exact scan with top-k costs ~55-160 ns a row (more on larger segments:
// cache misses), an index candidate, searched, filtered and ranked, ~0.5-3 µs
// (more for small k, whose search still expands to ef). The scan stayed the
// faster up to ~15% selectivity on 20k rows at limit 10 (~35% at limit 100),
// up to ~5% on 100k rows (~20% at limit 100).

import { slotsOf } from "./slot-bits.js";

/** Index candidates: slots nearest first, with their distances when the index's own are exact (float32 vectors). */
export interface Candidates {
  slots: ArrayLike<number>;
  distances?: ArrayLike<number>;
}

export interface AnnRequest<C> extends AnnPlan<C> {
  /**
   * Index candidates for the query: up to k slots, nearest first (may include
   * dead or filtered-out slots). Search with the request's ef: usearch expands
   * to k when k is larger, so asking for more candidates deepens the search.
   */
  candidates: (k: number) => Candidates;
}

/** An index search as annRounds plans it: the index itself is asked by whoever drives the rounds. */
export interface AnnPlan<C> {
  /** Slots in the index (0..slotCount-1), dead ones included. */
  slotCount: number;
  /** The live slots passing the filter (every live slot when there is no filter). */
  passing: Passing;
  limit: number;
  /** What scoring one passing row exactly costs, in rows held in memory: more when rows are read from disk (DISK_ROW_COST). */
  rowCost?: number;
  /** Exact top-`limit` among the given slots, best first (scored by the caller unless their exact distances come along; ties broken by primary key). */
  rank: (slots: ArrayLike<number>, distances?: ArrayLike<number>) => C[];
}

/**
 * A set of slots: how many, membership, and (only computed when asked) the
 * list: ascending, or, when a scalar index listed them, in runs of equal
 * values (each run ascending) in value order or the order an `in` list
 * names the values.
 */
export interface Passing {
  count: number;
  /** The count is an estimate: membership is checked on every candidate whatever it says. */
  estimated?: boolean;
  has(slot: number): boolean;
  list(): ArrayLike<number>;
}

export interface AnnResult<C> {
  hits: C[];
  /** How the hits were ranked: over every passing row, or over index candidates. */
  strategy: "exact" | "index";
  /** Index searches made (an exact fallback after some still counts them). */
  rounds: number;
}

/**
 * Candidates asked for per hit wanted, over the selectivity. With 1, fewer
 * than `limit` candidates passed in about half the queries; with 2, in none
 * of 1,200 (2-90% selectivity, limit 10 and 100).
 */
export const OVERSAMPLE = 2;

/**
 * One index candidate costs about as much as scoring this many rows exactly.
 * With k = OVERSAMPLE × limit / selectivity the scan wins while
 * passing² <= 2 × 16 × limit × slotCount: 12.6% / 40% / 5.7% / 18% selectivity
 * for the four cases measured above at ~15 / ~35 / ~5 / ~20%. Ties go to the
 * scan, whose recall is 1.
 */
export const CANDIDATE_COST_IN_ROWS = 16;

/**
 * Scoring a row read from a segment file costs about as much as scoring this
 * many rows held in memory. Measured (128-d, every 100th row of 500k, file
 * cached): ~3 µs a row read and scored against ~340-400 ns in memory, and
 * ~100-190 ns in the contiguous scans CANDIDATE_COST_IN_ROWS is counted in:
 * a row from disk costs about one index candidate.
 */
export const DISK_ROW_COST = 16;

/** Growth of k when the candidates left fewer than `limit` hits (range bounds, an unlucky filter). */
export const WIDEN = 4;

export function annSearch<C>(req: AnnRequest<C>): AnnResult<C> {
  return answerRounds(annRounds(req), (asked) => (asked === EXACT ? { slots: req.passing.list() } : req.candidates(asked)));
}

/**
 * What annRounds yields when it ranks the passing rows exactly: answered
 * with the rows to score, every passing row or a shortlist of them (a
 * segment that can tell the best apart cheaply, engine/vector-codes.ts).
 */
export const EXACT = "exact";

/** Runs rounds to their end on this thread, answering each thing they yield with `answer`. */
export function answerRounds<Y, R, A>(rounds: Generator<Y, R, A>, answer: (asked: Y) => A): R {
  let step = rounds.next();
  while (!step.done) step = rounds.next(answer(step.value));
  return step.value;
}

/**
 * annSearch's rounds: yields the number of candidates to ask the index for
 * and takes them back, so the index may be asked on this thread or, awaited,
 * on another (engine/search-threads.ts), with the same rounds either way;
 * and EXACT, taking back the rows to rank exactly.
 */
export function* annRounds<C>(req: AnnPlan<C>): Generator<number | typeof EXACT, AnnResult<C>, Candidates> {
  const { passing, limit, slotCount } = req;
  const scanCost = passing.count * (req.rowCost ?? 1);
  const exact = function* (rounds: number): Generator<typeof EXACT, AnnResult<C>, Candidates> {
    const rows: Candidates = yield EXACT;
    return { hits: req.rank(rows.slots), strategy: "exact", rounds };
  };
  if (passing.count === 0) return yield* exact(0);
  let k = Math.max(limit, Math.ceil((limit * OVERSAMPLE * slotCount) / passing.count));
  if (scanCost <= k * CANDIDATE_COST_IN_ROWS) return yield* exact(0);
  // Without a filter or dead rows there is nothing to drop.
  const filtered = passing.count < slotCount || passing.estimated === true;
  for (let rounds = 1; ; rounds++) {
    const found: Candidates = yield k;
    const pass = filtered ? kept(found, passing) : found;
    const hits = req.rank(pass.slots, pass.distances);
    if (hits.length >= limit) return { hits, strategy: "index", rounds };
    // The index has nothing more to give, or more would cost more than the scan.
    if (found.slots.length < k || scanCost <= k * WIDEN * CANDIDATE_COST_IN_ROWS) return yield* exact(rounds);
    k *= WIDEN;
  }
}

/** A Passing over a list of slots. */
export function passingSlots(slots: ArrayLike<number>, slotCount: number): Passing {
  let bits: Uint8Array | undefined;
  return {
    count: slots.length,
    has: (slot) => {
      if (!bits) {
        bits = new Uint8Array(slotCount);
        for (let i = 0; i < slots.length; i++) bits[slots[i]] = 1;
      }
      return bits[slot] === 1;
    },
    list: () => slots,
  };
}

/** A Passing over a bitset of slots (1: passing) with its count. */
export function passingBits(bits: Uint8Array, count: number): Passing {
  let slots: number[] | undefined;
  return {
    count,
    has: (slot) => bits[slot] === 1,
    list: () => (slots ??= slotsOf(bits)),
  };
}

function kept(found: Candidates, passing: Passing): Candidates {
  const slots: number[] = [];
  const distances: number[] = [];
  const d = found.distances;
  for (let i = 0; i < found.slots.length; i++) {
    if (!passing.has(found.slots[i])) continue;
    slots.push(found.slots[i]);
    if (d) distances.push(d[i]);
  }
  return { slots, distances: d ? distances : undefined };
}
