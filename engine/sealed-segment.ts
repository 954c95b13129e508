// A sealed segment: the rows a growing segment held when it was sealed, as
// columns (engine/vector-column.ts per vector field, one array per other field),
// with its keys (engine/segment-keys.ts): its rows never change, deletes
// since sealing only mark slots dead. On a query node the vector columns
// are read into memory while its budget allows; the others stay in the
// segment's local file and rows are read as they are scored (one read call
// per scattered row: a filter passing 1% of 100k rows spent 65% of its time
// there), unless the node holds their int8 codes (engine/vector-codes.ts):
// then only the best rows by code are read. A shard owner moves a large flushed segment's vectors to a file
// of their own the same way (spill) while it waits for a query node.
import fs from "node:fs";
import { VecbusError } from "../protocol/errors.js";
import { PARTITION_FIELD } from "../protocol/partitions.js";
import type { PrimaryKey, Row } from "../protocol/rows.js";
import type { MetricType } from "../protocol/schema.js";
import type { Columns, ScalarIndexes } from "./filter-bits.js";
import { ScalarIndex } from "./scalar-index.js";
import { Segment, type AnnIndex, type SegmentSearch } from "./segment.js";
import { PLACE_BYTES, placement, VectorCodes, type Placement } from "./vector-codes.js";
import type { SearchThreads } from "./search-threads.js";
import { zeroCosineQuery } from "./distance.js";
import { DISK_ROW_COST } from "./ann-search.js";
import { SegmentKeys } from "./segment-keys.js";
import { VectorColumn } from "./vector-column.js";
import { decodeSegment, encodeSegmentParts, headOf, readSegmentFile, type SegmentColumns, type SegmentHead, type VectorsOnDisk } from "./segment-format.js";

const SLOT = Symbol("slot");

/** Vector columns left in a local segment file (see readSegmentFile). */
interface DiskVectors {
  fd: number;
  columns: Map<string, VectorsOnDisk>;
  /** Set by close(): a descriptor closed twice could be another file's by then. */
  closed?: boolean;
}

/** What every form of one segment's columns shares: its row view class (one per segment keeps property access fast), partition labels, file, scalar indexes. */
interface Shared {
  View: new (slot: number) => Row;
  labels?: ReadonlySet<string>;
  disk?: DiskVectors;
  /** By field; null: the column cannot be indexed (values of more than one kind). */
  scalarIndexes: Map<string, ScalarIndex | null>;
  /** The fields whose index may lay out the codes, first first: those useScalarIndexes was given. */
  clusterBy?: readonly string[];
  /** Codes of vector columns left on disk, by field (codeVectors()). */
  codes?: Map<string, VectorCodes>;
}
const SHARED = new WeakMap<SegmentColumns, Shared>();

interface SealedOptions {
  keys?: SegmentKeys;
  /** On a query node: the shard owner's dead slots as of one request, instead of the segment's own deletes. */
  dead?: { bitmap: Uint8Array; count: number };
  indexes?: ReadonlyMap<string, AnnIndex>;
  disk?: DiskVectors;
}

export class SealedSegment extends Segment {
  readonly keys: SegmentKeys;
  private readonly shared: Shared;

  constructor(
    readonly head: SegmentHead,
    private readonly columns: SegmentColumns,
    private readonly opts: SealedOptions = {},
  ) {
    super(columns.pk.field);
    this.keys = opts.keys ?? new SegmentKeys(columns.pk.values);
    let shared = SHARED.get(columns);
    if (!shared) SHARED.set(columns, (shared = { View: rowView(columns, head, opts.disk), disk: opts.disk, scalarIndexes: new Map() }));
    this.shared = shared;
  }

  /** A blob's segment; `keys` carries the deletes of a segment already known under another form (a handoff reversed). */
  static decode(bytes: Uint8Array, keys?: SegmentKeys): SealedSegment {
    const { manifest, columns } = decodeSegment(bytes);
    return new SealedSegment(headOf(manifest), columns, { keys });
  }

  /**
   * A local segment file; close() lets the file go. A vector column is read
   * into memory if `inMemory(its bytes)` says so, else left on disk.
   */
  static open(file: string, inMemory: (bytes: number) => boolean = () => false): SealedSegment {
    const fd = fs.openSync(file, "r");
    try {
      const { manifest, columns, onDisk } = readSegmentFile(fd);
      for (const [name, { dim, offset }] of onDisk) {
        const bytes = columns.pk.values.length * dim * 4;
        if (!inMemory(bytes)) continue;
        const data = new Float32Array(bytes / 4);
        fs.readSync(fd, new Uint8Array(data.buffer), 0, bytes, offset);
        columns.vectors.set(name, VectorColumn.of(dim, data));
        onDisk.delete(name);
      }
      return new SealedSegment(headOf(manifest), columns, { disk: { fd, columns: onDisk } });
    } catch (e) {
      fs.closeSync(fd);
      throw e;
    }
  }

  close(): void {
    const disk = this.shared.disk;
    if (!disk || disk.closed) return;
    disk.closed = true;
    fs.closeSync(disk.fd);
  }

  /** Whether the segment reads rows from a file (and close() lets it go). */
  get onDisk(): boolean {
    return this.shared.disk !== undefined;
  }

  /**
   * The same rows (keys, deletes and scalar columns shared) with the vector
   * columns written to `file` and read from there from now on, as a query
   * node reads those its budget leaves on disk; undefined when none is held
   * in memory. The file's name is removed once it is open: its bytes last
   * until the form returned is closed, or the process ends however it ends.
   */
  async spill(file: string): Promise<SealedSegment | undefined> {
    if (this.columns.vectors.size === 0) return undefined;
    const fd = fs.openSync(file, "wx+", 0o600);
    try {
      fs.unlinkSync(file);
      const onDisk = new Map<string, VectorsOnDisk>();
      let offset = 0;
      for (const [name, column] of this.columns.vectors) {
        onDisk.set(name, { dim: column.dim, offset });
        for (const part of column.byteParts()) {
          for (let done = 0; done < part.byteLength; ) done += await writeAt(fd, part.subarray(done), offset + done);
          offset += part.byteLength;
        }
      }
      // A copy of the timestamps, which a decoded blob's are a view of: the blob can go with its vectors.
      const columns: SegmentColumns = { ...this.columns, timestamps: this.columns.timestamps.slice(), vectors: new Map() };
      const spilled = new SealedSegment(this.head, columns, { ...this.opts, keys: this.keys, disk: { fd, columns: onDisk } });
      // Built once per segment: the new form's cache starts with this one's.
      for (const [name, ix] of this.shared.scalarIndexes) spilled.shared.scalarIndexes.set(name, ix);
      spilled.shared.labels = this.shared.labels;
      return spilled;
    } catch (e) {
      fs.closeSync(fd);
      throw e;
    }
  }

  /**
   * Holds int8 codes of the vector columns left on disk that `metrics`
   * names (the metric each is searched with), as `allow(bytes of them all)`
   * lets (one byte a dimension): exact scoring in searchAsync then ranks
   * rows by code on `threads` and reads only the best from the file.
   * The codes are laid out in the order of the first scalar index
   * useScalarIndexes was given (a clustering key's), so that the rows a
   * filter on its field passes lie together. Returns the bytes they take.
   */
  async codeVectors(metrics: ReadonlyMap<string, MetricType>, allow: (bytes: number) => boolean, threads: SearchThreads): Promise<number> {
    const disk = this.shared.disk;
    const rows = this.keys.slotCount;
    const order = this.clusterOrder();
    // One layout for every column of the segment, counted once.
    let placed: Placement | undefined | null = null;
    let bytes = 0;
    for (const [name, { dim, offset }] of disk?.columns ?? []) {
      const metric = metrics.get(name);
      if (!metric || this.shared.codes?.has(name)) continue;
      if (placed === null) placed = order && placement(rows, order);
      const placeBytes = placed && bytes === 0 ? rows * PLACE_BYTES : 0;
      if (!allow(bytes + placeBytes + rows * dim)) continue;
      const codes = await VectorCodes.read(openDisk(disk!, this.head).fd, offset, rows, dim, metric, threads, placed);
      (this.shared.codes ??= new Map()).set(name, codes);
      bytes += placeBytes + codes.byteLength;
    }
    return bytes;
  }

  /** The slot order of the first index of clusterBy the column allows (not one of mixed kinds), if any. */
  private clusterOrder(): ArrayLike<number> | undefined {
    for (const name of this.shared.clusterBy ?? []) {
      const ix = this.scalarIndex(name);
      if (ix) return ix.slotOrder;
    }
    return undefined;
  }

  /** Bytes of vector columns held in memory. */
  get vectorBytes(): number {
    let bytes = 0;
    for (const v of this.columns.vectors.values()) bytes += v.byteLength;
    return bytes;
  }

  /** The same rows with the given slots dead instead of this segment's own deletes (shares the columns). */
  withDead(deadSlots: ArrayLike<number>): SealedSegment {
    if (deadSlots.length === 0 && !this.opts.dead && this.keys.deletedCount === 0) return this;
    const bitmap = new Uint8Array(this.keys.slotCount);
    let count = 0;
    for (let i = 0; i < deadSlots.length; i++) {
      const s = deadSlots[i];
      if (s >= 0 && s < bitmap.length && bitmap[s] === 0) {
        bitmap[s] = 1;
        count++;
      }
    }
    return new SealedSegment(this.head, this.columns, { ...this.opts, keys: this.keys, dead: { bitmap, count } });
  }

  /** The same segment, searched through these vector indexes (by field) where they help. */
  withIndexes(indexes: ReadonlyMap<string, AnnIndex>): SealedSegment {
    return new SealedSegment(this.head, this.columns, { ...this.opts, keys: this.keys, indexes });
  }

  protected override annIndex(field: string): AnnIndex | undefined {
    return this.opts.indexes?.get(field);
  }

  protected override rowCost(field: string): number {
    // With codes a row costs about what a row in memory does (engine/vector-codes.ts), plus a few rows read after.
    return this.columns.vectors.has(field) || this.shared.codes?.has(field) ? 1 : DISK_ROW_COST;
  }

  protected override shortlisted(req: SegmentSearch, slots: ArrayLike<number>, query: Float32Array): Promise<ArrayLike<number>> | ArrayLike<number> {
    const codes = this.shared.codes?.get(req.field);
    // A zero COSINE query is at distance 0 from every row: ties all, which only the primary key breaks.
    return codes && !zeroCosineQuery(req.metric, query) ? codes.shortlist(slots, query, req.metric, req.limit) : slots;
  }

  protected override partitionLabels(): ReadonlySet<string> {
    return (this.shared.labels ??= new Set(this.partitions as string[]));
  }

  encode(): ReturnType<typeof encodeSegmentParts> {
    // A blob without its vector columns would decode as a segment without the field.
    if (this.shared.disk?.columns.size) throw new VecbusError("INTERNAL", `segment ${this.head.segment_id} reads its vectors from a file; it is encoded only while they are in memory`);
    return encodeSegmentParts(this.head, this.columns);
  }

  /** The partition label of every slot: what a shard owner keeps of a segment a query node serves. */
  get partitions(): unknown[] {
    return this.columns.scalars.get(PARTITION_FIELD)!;
  }

  get rowCount(): number {
    const dead = this.opts.dead;
    return dead ? this.keys.slotCount - dead.count : this.keys.liveCount;
  }

  delete(ids: PrimaryKey[]): number {
    return this.keys.delete(ids);
  }

  /** Rows at the given slots, live or not: a shard owner asks for slots it knows are live. */
  rowsAt(slots: number[], project: (row: Row) => Row): Row[] {
    return slots.filter((s) => s >= 0 && s < this.keys.slotCount).map((s) => project(this.rowAt(s)));
  }

  protected get slotCount(): number {
    return this.keys.slotCount;
  }

  protected override deadSlotBytes(): { bytes: Uint8Array; count: number } {
    return this.opts.dead ? { bytes: this.opts.dead.bitmap, count: this.opts.dead.count } : { bytes: this.keys.deadBytes, count: this.keys.deletedCount };
  }

  protected isLive(slot: number): boolean {
    const dead = this.opts.dead;
    return dead ? dead.bitmap[slot] === 0 : this.keys.isLive(slot);
  }

  protected slotOf(pk: PrimaryKey): number | undefined {
    const slot = this.keys.liveSlot(pk);
    return slot !== undefined && this.isLive(slot) ? slot : undefined;
  }

  protected pkAt(slot: number): PrimaryKey {
    return this.columns.pk.values[slot];
  }

  protected rowAt(slot: number): Row {
    return new this.shared.View(slot);
  }

  /** The field's scalar index, built on first use and kept (its rows never change) until useScalarIndexes lets it go. */
  scalarIndex(name: string): ScalarIndex | undefined {
    const cache = this.shared.scalarIndexes;
    let ix = cache.get(name);
    if (ix === undefined) {
      const values = this.scalarColumns()(name);
      ix = (values && ScalarIndex.build(values)) ?? null;
      cache.set(name, ix);
    }
    return ix ?? undefined;
  }

  /**
   * Builds the scalar indexes of `fields` (those declared) and lets go of
   * any other (an index dropped). The first of them that has an index lays
   * out codes made after this (codeVectors).
   */
  useScalarIndexes(fields: ReadonlySet<string>): void {
    this.shared.clusterBy = [...fields];
    for (const name of this.shared.scalarIndexes.keys()) if (!fields.has(name)) this.shared.scalarIndexes.delete(name);
    for (const name of fields) this.scalarIndex(name);
  }

  protected override scalarIndexes(): ScalarIndexes {
    return (name) => this.scalarIndex(name);
  }

  protected override scalarColumns(): Columns {
    const { pk, scalars } = this.columns;
    return (name) => (name === pk.field ? pk.values : scalars.get(name));
  }

  protected gather(field: string, slots: ArrayLike<number>, from: number, to: number, out: Float32Array): void {
    const inMemory = this.columns.vectors.get(field);
    if (inMemory) {
      for (let i = from; i < to; i++) out.set(inMemory.row(slots[i]), (i - from) * inMemory.dim);
      return;
    }
    const disk = openDisk(this.shared.disk!, this.head);
    const { dim, offset } = disk.columns.get(field)!;
    readRows(disk.fd, offset, dim * 4, slots, from, to, new Uint8Array(out.buffer, out.byteOffset, out.byteLength));
  }
}

function writeAt(fd: number, bytes: Uint8Array, position: number): Promise<number> {
  return new Promise((resolve, reject) => fs.write(fd, bytes, 0, bytes.byteLength, position, (e, written) => (e ? reject(e) : resolve(written))));
}

/** One read call costs about as much as copying this many bytes more (measured: ~2.5 µs a pread of a cached 512-byte row). */
const READ_CALL_BYTES = 16_384;
/** The most a dense run reads at once. */
const RUN_BYTES = 1 << 20;
let scratch = new Uint8Array(0);

/**
 * Rows slots[from..to) of a column at `offset` in a file, into `out` one
 * after another. They are read in ascending slot order (a scalar index lists
 * a filter's slots in value order): where slots lie close together (a filter
 * passing every tenth row) their whole span is read in one call and the rows
 * copied out; scattered ones are read one call each.
 */
function readRows(fd: number, offset: number, rowBytes: number, slots: ArrayLike<number>, from: number, to: number, out: Uint8Array): void {
  const window = Math.max(1, Math.floor(RUN_BYTES / rowBytes));
  if (scratch.byteLength < window * rowBytes) scratch = new Uint8Array(window * rowBytes);
  // by[i]: the position in slots of the i-th smallest slot, when they are not ascending already.
  let by: Int32Array | undefined;
  for (let k = from + 1; k < to && !by; k++) if (slots[k] < slots[k - 1]) by = ascendingPositions(slots, from, to);
  const at = (i: number) => (by ? by[i - from] : i);
  for (let i = from; i < to; ) {
    const first = slots[at(i)];
    let j = i + 1;
    while (j < to && slots[at(j)] > slots[at(j - 1)] && slots[at(j)] - first < window) j++;
    const span = slots[at(j - 1)] - first + 1;
    if (j - i > 1 && span * rowBytes <= (j - i) * READ_CALL_BYTES) {
      fs.readSync(fd, scratch, 0, span * rowBytes, offset + first * rowBytes);
      for (let k = i; k < j; k++) {
        const row = slots[at(k)] - first;
        out.set(scratch.subarray(row * rowBytes, (row + 1) * rowBytes), (at(k) - from) * rowBytes);
      }
    } else {
      for (let k = i; k < j; k++) fs.readSync(fd, out, (at(k) - from) * rowBytes, rowBytes, offset + slots[at(k)] * rowBytes);
    }
    i = j;
  }
}

/** Positions from..to-1 of slots, ordered by the slot at each. */
function ascendingPositions(slots: ArrayLike<number>, from: number, to: number): Int32Array {
  const by = new Int32Array(to - from);
  for (let i = 0; i < by.length; i++) by[i] = from + i;
  return by.sort((a, b) => slots[a] - slots[b]);
}

/**
 * The file, refused once closed: its descriptor may be another file's by
 * then. A read that outlived the segment (longer than SegmentSet keeps a
 * file open after the segment left) is planned again.
 */
function openDisk(disk: DiskVectors, head: SegmentHead): DiskVectors {
  if (disk.closed) throw new VecbusError("UNAVAILABLE", `segment ${head.segment_id} of shard ${head.shard} moved while the read was in flight; read again`);
  return disk;
}

/** Reads one vector at a time from a segment file; the array returned is reused by the next read. */
function diskRows(disk: DiskVectors, head: SegmentHead, field: string, fresh = false): (slot: number) => Float32Array {
  const { dim, offset } = disk.columns.get(field)!;
  const bytes = dim * 4;
  let row = new Float32Array(dim);
  return (slot) => {
    if (fresh) row = new Float32Array(dim);
    openDisk(disk, head);
    fs.readSync(disk.fd, new Uint8Array(row.buffer), 0, bytes, offset + slot * bytes);
    return row;
  };
}

/**
 * Rows as filters and projections read them, without copying a column:
 * a one-slot object whose prototype has a getter per column.
 */
function rowView(columns: SegmentColumns, head: SegmentHead, disk?: DiskVectors): new (slot: number) => Row {
  class View {
    [SLOT]: number;
    constructor(slot: number) {
      this[SLOT] = slot;
    }
  }
  const define = (name: string, read: (slot: number) => unknown) =>
    Object.defineProperty(View.prototype, name, {
      enumerable: true,
      get(this: View) {
        return read(this[SLOT]);
      },
    });
  define(columns.pk.field, (s) => columns.pk.values[s]);
  for (const [name, values] of columns.scalars) define(name, (s) => values[s]);
  for (const [name, column] of columns.vectors) define(name, (s) => column.row(s));
  for (const name of disk?.columns.keys() ?? []) define(name, diskRows(disk!, head, name, true));
  return View as unknown as new (slot: number) => Row;
}
