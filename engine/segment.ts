// What every segment answers — search, query, get, count, matching ids —
// written once over numbered row slots. A segment only says how its slots
// are stored (columns appended batch by batch while growing, one column per
// field once sealed) and which are live; a deleted row keeps its slot, dead.
import type { Hit } from "../protocol/api.js";
import type { GroupBy, SearchRange } from "../protocol/messages.js";
import type { PrimaryKey, Row } from "../protocol/rows.js";
import type { MetricType } from "../protocol/schema.js";
import { kernelDistances, largerIsCloser } from "./distance.js";
import type { FieldReader } from "./filter-eval.js";
import type { CompiledFilter } from "./filter-scope.js";
import type { Columns, ScalarIndexes } from "./filter-bits.js";
import type { Projection } from "./projection.js";
import { comparePk, groupTop, hitOrder, inRange, type Ranked } from "./reduce.js";
import { TopK, type Order } from "./topk.js";
import { dropDead } from "./slot-bits.js";
import { annRounds, answerRounds, EXACT, passingBits, passingSlots, type Candidates, type Passing } from "./ann-search.js";
import { DEFAULT_PARTITION, PARTITION_FIELD, partitionOf } from "../protocol/partitions.js";
import { EF_DEFAULT } from "./vector-index.js";

export interface SegmentSearch {
  queries: Float32Array[];
  /** The vector field searched. */
  field: string;
  metric: MetricType;
  /** Hits per query vector, or groups per query vector with groupBy. */
  limit: number;
  project: Projection;
  scope?: Scope;
  range?: SearchRange;
  groupBy?: GroupBy;
  /** HNSW search breadth where a vector index is used. */
  ef?: number;
}

/** Which rows a read may see: those passing `filter`, in `partitions` (undefined: every partition). */
export interface Scope {
  filter?: CompiledFilter;
  partitions?: ReadonlySet<string>;
}

/** A vector index over a segment's slots (engine/vector-index.ts). */
export interface AnnIndex {
  /** Up to k slots, nearest first, searched with breadth ef; with their distances when those are exact. */
  search(query: Float32Array, k: number, ef: number): Candidates;
  /** The same answer, searched on another thread: the event loop goes on meanwhile. */
  searchAsync?(query: Float32Array, k: number, ef: number): Promise<Candidates>;
}

/** One index search a segment's search needs. */
interface IndexAsk {
  index: AnnIndex;
  query: Float32Array;
  k: number;
  ef: number;
}

/** Rows about to be scored exactly: the segment may first narrow them to a shortlist (shortlisted()), answered as Candidates without distances. */
interface ShortlistAsk {
  slots: ArrayLike<number>;
  query: Float32Array;
}

/** What a segment's search hands out to be answered, here or, awaited, on another thread. */
type Ask = IndexAsk | ShortlistAsk;

/** Slots sampled to estimate a filter's selectivity before an index search. */
const SAMPLE_SLOTS = 256;
const GOLDEN = 0.6180339887498949;
/** From this share of rows passing on, a filter is tested on the index's candidates only (sampled()). */
const UNSELECTIVE = 0.05;
/**
 * A scalar index lists a filter's matches when at most 1/FEW_PASSING of the
 * slots match: past that its list takes more memory than a byte a slot.
 */
const FEW_PASSING = 4;

/** Vectors gathered for one call of the distance kernel: 4096 rows of 128-d, 16 of 32768-d. */
const SCORE_BYTES = 2 << 20;
/**
 * The rows being scored, reused by every search (scoring is synchronous): a
 * fresh 2 MB buffer per search is memory the allocator must map, touch and
 * take back each time.
 */
const scoring = new Float32Array(SCORE_BYTES / 4);

interface Candidate extends Ranked {
  slot: number;
}

export abstract class Segment {
  constructor(protected readonly pkField: string) {}

  /** Live rows. */
  abstract get rowCount(): number;

  /** Marks the keys' rows dead; returns how many were live here. */
  abstract delete(ids: PrimaryKey[]): number;

  protected abstract get slotCount(): number;
  protected abstract isLive(slot: number): boolean;
  /** The live slot holding a key, if any. */
  protected abstract slotOf(pk: PrimaryKey): number | undefined;
  protected abstract pkAt(slot: number): PrimaryKey;
  /** The row as filters and projections read it. */
  protected abstract rowAt(slot: number): Row;
  /** Copies the field's vectors of slots[from..to) into `out`, one after another. */
  protected abstract gather(field: string, slots: ArrayLike<number>, from: number, to: number, out: Float32Array): void;

  /**
   * With a vector index on the field, a plain top-k goes through annSearch
   * (exact over the passing rows when few pass, else the index with
   * oversampling); group-by and range searches, and segments without an
   * index, score every live row that passes the filter.
   */
  search(req: SegmentSearch): Hit[][] {
    return answerRounds(this.searching(req), (ask) => ("index" in ask ? ask.index.search(ask.query, ask.k, ask.ef) : { slots: ask.slots }));
  }

  /**
   * The same search, with the index asked on another thread where it can be
   * (AnnIndex.searchAsync), and rows about to be scored shortlisted where
   * the segment can (shortlisted()): the same rounds, the same hits.
   */
  async searchAsync(req: SegmentSearch): Promise<Hit[][]> {
    const rounds = this.searching(req);
    let step = rounds.next();
    while (!step.done) {
      const ask = step.value;
      if (!("index" in ask)) step = rounds.next({ slots: await this.shortlisted(req, ask.slots, ask.query) });
      else step = rounds.next(ask.index.searchAsync ? await ask.index.searchAsync(ask.query, ask.k, ask.ef) : ask.index.search(ask.query, ask.k, ask.ef));
    }
    return step.value;
  }

  /** The search, yielding each index search it needs and taking its candidates back, and each exact scoring and taking the rows to score back. */
  private *searching(req: SegmentSearch): Generator<Ask, Hit[][], Candidates> {
    const order = hitOrder(largerIsCloser(req.metric));
    const index = req.groupBy || req.range ? undefined : this.annIndex(req.field);
    const scope = this.narrowed(req.scope);
    const selected = (index && scope && this.sampled(scope)) || this.select(scope);
    // Only a share of the candidates pass the filter: search as much wider, up to 4×, to keep recall.
    const ef = (req.ef ?? EF_DEFAULT) * Math.min(4, Math.max(1, this.slotCount / Math.max(1, selected.count)));
    const rowCost = this.rowCost(req.field);
    const out: Hit[][] = [];
    for (let q = 0; q < req.queries.length; q++) {
      const query = req.queries[q];
      let picked: Candidate[];
      if (req.groupBy) picked = this.bestGroups(selected.list(), query, req, req.groupBy, q, order);
      else if (index) {
        const rounds = annRounds({
          slotCount: this.slotCount,
          passing: selected,
          limit: req.limit,
          rowCost,
          rank: (some, distances) => (distances ? this.bestOf(some, distances, req.limit, order) : this.best(some, query, req, order)),
        });
        let step = rounds.next();
        while (!step.done) step = rounds.next(step.value === EXACT ? yield { slots: selected.list(), query } : yield { index, query, k: step.value, ef });
        picked = step.value.hits;
      } else {
        const all = selected.list();
        // A range keeps rows by distance, not rank: a shortlist by rank could leave out the ones it wants.
        picked = this.best(req.range ? all : (yield { slots: all, query }).slots, query, req, order);
      }
      out.push(picked.map((c) => ({ id: c.id, distance: c.distance, entity: req.project(this.rowAt(c.slot)) })));
    }
    return out;
  }

  count(scope?: Scope): number {
    return this.select(this.narrowed(scope)).count;
  }

  /** Rows in scope in primary-key order, at most `limit`. */
  query(project: Projection, limit: number, scope?: Scope): Row[] {
    const slots = Array.from(this.select(this.narrowed(scope)).list());
    slots.sort((a, b) => comparePk(this.pkAt(a), this.pkAt(b)));
    return slots.slice(0, limit).map((s) => project(this.rowAt(s)));
  }

  matchingIds(scope?: Scope): PrimaryKey[] {
    return Array.from(this.select(this.narrowed(scope)).list(), (s) => this.pkAt(s));
  }

  get(ids: PrimaryKey[], project: Projection, scope?: Scope): Row[] {
    const out: Row[] = [];
    for (const id of ids) {
      const slot = this.slotOf(id);
      if (slot === undefined) continue;
      const row = this.rowAt(slot);
      if (inScope(row, scope)) out.push(project(row));
    }
    return out;
  }

  /** The segment's index of a vector field, if it has one loaded. */
  protected annIndex(_field: string): AnnIndex | undefined {
    return undefined;
  }

  /** What scoring one row of the field exactly costs, in rows held in memory (see DISK_ROW_COST). */
  protected rowCost(_field: string): number {
    return 1;
  }

  /** The slots worth scoring exactly for the best `req.limit` of `slots`, where the segment can tell them apart cheaply (engine/vector-codes.ts). */
  protected shortlisted(_req: SegmentSearch, slots: ArrayLike<number>, _query: Float32Array): Promise<ArrayLike<number>> | ArrayLike<number> {
    return slots;
  }

  /**
   * The segment's columns by field name, where it has them: filters the
   * bitset form covers run column by column, the others read fields by slot
   * (no row objects).
   */
  protected scalarColumns(): Columns | undefined {
    return undefined;
  }

  /** 1 per dead slot and how many, where the segment keeps them so (else isLive is asked slot by slot). */
  protected deadSlotBytes(): { bytes: Uint8Array; count: number } | undefined {
    return undefined;
  }

  /** The segment's scalar indexes by field, where it can have them (sealed columns). */
  protected scalarIndexes(): ScalarIndexes | undefined {
    return undefined;
  }

  /** Every partition label the segment's rows carry, when known without a scan. */
  protected partitionLabels(): ReadonlySet<string> | undefined {
    return undefined;
  }

  private best(slots: ArrayLike<number>, query: Float32Array, req: SegmentSearch, order: Order<Ranked>): Candidate[] {
    const top = new TopK<Candidate>(req.limit, order);
    this.score(slots, query, req, (c) => top.offer(c));
    return top.sorted();
  }

  /** Top-`limit` of slots whose exact distances are known already. */
  private bestOf(slots: ArrayLike<number>, distances: ArrayLike<number>, limit: number, order: Order<Ranked>): Candidate[] {
    const top = new TopK<Candidate>(limit, order);
    for (let i = 0; i < slots.length; i++) top.offer({ distance: distances[i], id: this.pkAt(slots[i]), slot: slots[i] });
    return top.sorted();
  }

  /** Groups need the whole ranking: a group's members can be anywhere in it. */
  private bestGroups(slots: ArrayLike<number>, query: Float32Array, req: SegmentSearch, g: GroupBy, q: number, order: Order<Ranked>): Candidate[] {
    const only = g.values && new Set(g.values[q]);
    const groupOf = (slot: number) => this.rowAt(slot)[g.field];
    const ranked: Candidate[] = [];
    this.score(only ? Array.from(slots).filter((s) => only.has(groupOf(s))) : slots, query, req, (c) => ranked.push(c));
    return groupTop(ranked.sort(order), (c) => groupOf(c.slot), only ? only.size : req.limit, g.size).flat();
  }

  /** Visits every slot within the search's range with its distance to the query (usearch's kernel, a chunk of rows per call). */
  private score(slots: ArrayLike<number>, query: Float32Array, req: SegmentSearch, visit: (c: Candidate) => void): void {
    const keep = req.range ? inRange(req.metric, req.range) : () => true;
    const dim = query.length;
    const chunk = Math.max(1, Math.floor(scoring.length / dim));
    for (let from = 0; from < slots.length; from += chunk) {
      const to = Math.min(slots.length, from + chunk);
      this.gather(req.field, slots, from, to, scoring);
      const d = kernelDistances(req.metric, query, scoring.subarray(0, (to - from) * dim), to - from);
      for (let i = from; i < to; i++) {
        const slot = slots[i];
        if (keep(d[i - from])) visit({ distance: d[i - from], id: this.pkAt(slot), slot });
      }
    }
  }

  /**
   * The scope as this segment needs it: a partition restriction that covers
   * every partition the segment holds is none (reads always name the
   * partitions that exist, so this is the common case); undefined when it
   * covers none of them.
   */
  private narrowed(scope: Scope = {}): Scope | undefined {
    const partitions = scope.partitions;
    const own = partitions && this.partitionLabels();
    if (!partitions || !own) return scope;
    if (![...own].some((p) => partitions.has(p))) return undefined;
    return [...own].every((p) => partitions.has(p)) ? { filter: scope.filter } : scope;
  }

  /**
   * The live rows in scope (undefined: a scope that excludes every row here).
   * Without a filter or partition restriction nothing is scanned (an ANN
   * search then costs no pass over the rows): the count is the live count
   * and the list is made only if asked.
   */
  private select(scope: Scope | undefined): Passing {
    if (!scope) return passingSlots([], this.slotCount);
    const { filter, partitions } = scope;
    const n = this.slotCount;
    if (!partitions && !filter) {
      let live: number[] | undefined;
      return { count: this.rowCount, has: (s) => this.isLive(s), list: () => (live ??= this.liveSlots()) };
    }
    const indexes = this.scalarIndexes();
    const listed = indexes && !partitions ? filter?.indexSlots?.(indexes, n / FEW_PASSING) : undefined;
    if (listed) return passingSlots(this.live(listed), n);
    const columns = this.scalarColumns();
    const bits = columns && filter?.bits ? filter.bits(columns, n, indexes) : undefined;
    const dead = bits && !partitions ? this.deadSlotBytes() : undefined;
    if (bits && dead) return passingBits(bits, dropDead(bits, dead.count > 0 ? dead.bytes : undefined, n));
    if (bits) {
      const inPartition = partitions && partitionTest(bySlot(columns!), partitions);
      let count = 0;
      // Only set bits are looked at: most slots of a selective filter are 0 already.
      for (let s = 0; s < n; s++) {
        if (bits[s] === 0) continue;
        if (this.isLive(s) && (!inPartition || inPartition(s))) count++;
        else bits[s] = 0;
      }
      return passingBits(bits, count);
    }
    const out: number[] = [];
    const test = this.scopeTest(filter, partitions, columns);
    for (let s = 0; s < n; s++) if (this.isLive(s) && test(s)) out.push(s);
    return passingSlots(out, n);
  }

  private scopeTest(filter: CompiledFilter | undefined, partitions: ReadonlySet<string> | undefined, columns: Columns | undefined): (slot: number) => boolean {
    if (!columns) return (s) => inScope(this.rowAt(s), { filter, partitions });
    const read = bySlot(columns);
    const pass = filter?.slots(read);
    if (!partitions) return pass!;
    const inPartition = partitionTest(read, partitions);
    return pass ? (s) => inPartition(s) && pass(s) : inPartition;
  }

  /**
   * For an index search under a filter most rows pass: the share passing
   * among sampled slots stands for the count, and the filter is tested only
   * on the index's candidates, not over every row. Undefined when the
   * filter is selective (or there is none): select() then makes the exact
   * set, as the exact scan would need its list anyway. Every hit passes the
   * filter either way; only the number of candidates asked rests on the
   * estimate.
   */
  private sampled(scope: Scope): Passing | undefined {
    if (!scope.filter && !scope.partitions) return undefined;
    const n = this.slotCount;
    const test = this.scopeTest(scope.filter, scope.partitions, this.scalarColumns());
    let live = 0;
    let passed = 0;
    // Golden-ratio steps: no period for a filter on a row's position (`id % 2`) to fall in step with.
    for (let i = 0; i < Math.min(n, SAMPLE_SLOTS); i++) {
      const s = Math.floor(((i * GOLDEN) % 1) * n);
      if (!this.isLive(s)) continue;
      live++;
      if (test(s)) passed++;
    }
    if (live < SAMPLE_SLOTS / 2 || passed < live * UNSELECTIVE) return undefined;
    let exact: Passing | undefined;
    return {
      count: Math.max(1, Math.round((this.rowCount * passed) / live)),
      estimated: true,
      has: (s) => this.isLive(s) && test(s),
      list: () => (exact ??= this.select(scope)).list(),
    };
  }

  /** The live ones of `slots`. */
  private live(slots: Int32Array): Int32Array {
    const dead = this.deadSlotBytes();
    if (dead) return dead.count === 0 ? slots : slots.filter((s) => dead.bytes[s] === 0);
    return slots.filter((s) => this.isLive(s));
  }

  protected liveSlots(): number[] {
    const out: number[] = [];
    const n = this.slotCount;
    for (let s = 0; s < n; s++) if (this.isLive(s)) out.push(s);
    return out;
  }
}

/** A field read by slot from the columns; a field without a column reads as missing. */
function bySlot(columns: Columns): FieldReader<number> {
  return (name) => {
    const values = columns(name);
    return values ? (slot) => values[slot] : () => undefined;
  };
}

function partitionTest(read: FieldReader<number>, partitions: ReadonlySet<string>): (slot: number) => boolean {
  const label = read(PARTITION_FIELD);
  return (s) => partitions.has((label(s) as string | null | undefined) ?? DEFAULT_PARTITION);
}

function inScope(row: Row, scope?: Scope): boolean {
  if (!scope) return true;
  if (scope.partitions && !scope.partitions.has(partitionOf(row))) return false;
  return !scope.filter || scope.filter.row(row);
}
