// One shard owned by this streaming node: its WAL, its segments, and the
// mailbox on the shard's subject. Writes are appended to the WAL one at a
// time in arrival order and applied to the segments only after JetStream acks
// them, so the segments always hold a prefix of the WAL.
//
// Sealing happens in that same order (no write interleaves): the growing
// segment becomes a sealed one when it reaches segmentRowsMax rows or
// sealBytes() of WAL records (VECBUS_SEGMENT_MAX_BYTES, at most half the WAL), after sealIdleMs without writes,
// when its WAL is full, or on `flush`. Each seal queues a flush, which
// uploads and commits in the background while writes go on into a fresh
// growing segment; flushes run one at a time, in seal order. Once flushed,
// a segment whose vectors take more than VECBUS_OWNER_SEGMENT_VECTOR_BYTES is
// served from a local file until a query node takes it over (spill).
import path from "node:path";
import { match, P } from "ts-pattern";
import type { CollectionMeta } from "../../protocol/collection.js";
import { checkStoredBatch, type ColumnBatch } from "../../protocol/columns.js";
import { walRecordBatches } from "../../protocol/wal-records.js";
import { VecbusError } from "../../protocol/errors.js";
import { placementKey, servingNodes, type Placement, type SegmentRef, type ShardMsg, type ShardReplies, type WalRecord } from "../../protocol/messages.js";
import type { PrimaryKey } from "../../protocol/rows.js";
import { primaryField } from "../../protocol/schema.js";
import { shardMsg } from "../../protocol/message-checks.js";
import type { ActorContext } from "../context.js";
import { encodedBytesBound } from "../../runtime/codec.js";
import { Mailbox, type Slot } from "../../runtime/mailbox.js";
import { retrying } from "../../runtime/retry.js";
import { MetaKey } from "../../protocol/subjects.js";
import { limit, limitText, sealBytes } from "../../protocol/limits.js";
import { checkGuaranteeAhead } from "../../protocol/timestamp.js";
import type { BlobStore } from "../../storage/object-store.js";
import { RemoteSegment, type SealedForm } from "../../engine/remote-segment.js";
import { SealedSegment } from "../../engine/sealed-segment.js";
import { remoteRetriable, SegmentSet } from "./segment-set.js";
import { readSegments } from "./shard-reads.js";
import { SegmentStore, type FlushSnapshot } from "../../storage/segment-store.js";
import { ShardWal } from "../../storage/wal.js";
import { withScratchDir } from "../../storage/scratch-dir.js";
import type { TimestampPool } from "./ts-pool.js";

const TICK_INTERVAL_MS = 200;
const READ_WAIT_MAX_MS = 5_000;
/** How often a read whose guarantee is ahead of the oracle's clock asks again. */
const GUARANTEE_POLL_MS = 20;
/** One request to a query node. */
const REMOTE_TIMEOUT_MS = 10_000;
/** How long a read waits for a segment whose query node went away to be served again (session TTL + a load). */
const REMOTE_RETRY_MS = 20_000;
const REMOTE_RETRY_PAUSE_MS = 200;
const TAKE_BACK_RETRY_MS = 1_000;
/** The scratch directories (storage/scratch-dir.ts) flushed segments' vectors are written in. */
export const SPILL_SCRATCH = "spill";

export interface SealOptions {
  /** A growing segment is sealed once it has taken this many rows (replaced and deleted ones count: they use memory). */
  segmentRowsMax: number;
  /** ... or once it has had no write for this long. */
  sealIdleMs: number;
}

/**
 * Segments of hundreds of MB, as Milvus makes them: the byte bound
 * (sealBytes: VECBUS_SEGMENT_MAX_BYTES, 512 MiB, at most half the WAL's)
 * seals a million 128-d rows as one segment, searched through one graph.
 * Ten segments of 100k searched 1M rows at 428 QPS, two of 500k at
 * 947-1,616, one of 1M at 1,475-2,212 (README, Performance). The row bound keeps
 * a segment of small rows within what one graph build and one shard's key
 * map handle.
 */
export const SEAL_DEFAULTS: SealOptions = { segmentRowsMax: 1_000_000, sealIdleMs: 10_000 };

export interface ShardDeps {
  clock: TimestampPool;
  blobs: BlobStore;
  seal: SealOptions;
  /** This shard found a newer owner in its WAL: the node's view of the shard key is behind. */
  onFenced: () => void;
}

/** Room in a WAL record for everything but its batches (kind, ts, epoch, format). */
const RECORD_HEADROOM_BYTES = 4096;

/** Inserts waiting for one WAL record. */
interface InsertGroup {
  batches: ColumnBatch[];
  /** encodedBytesBound of the batches. */
  bytes: number;
  /** The record's timestamp once JetStream stored it. */
  written: Promise<bigint>;
}

interface WriteResult {
  count: number;
  timestamp: bigint;
}

export class Shard {
  private mailbox: Mailbox<ShardMsg> | undefined;
  private writes: Promise<unknown> = Promise.resolve();
  /** The epoch of a newer owner seen in the log; set once, never cleared. */
  private fencedBy: number | undefined;
  /** The insert group whose append has not begun yet, which an arriving insert joins. */
  private openInserts: InsertGroup | undefined;
  private pendingWrites = 0;
  /** Flushes, one at a time in seal order. */
  private flushes: Promise<unknown> = Promise.resolve();
  private flushesPending = 0;
  /** Flushed segments' vectors moved to files (spill), one at a time. */
  private spills: Promise<void> = Promise.resolve();
  private readonly segments: SegmentSet;
  /** Every vector field: a search names one of them. */
  private readonly pkField: string;

  /** Every write with a smaller timestamp is applied: the shard's "safe" time for consistency waits. */
  private appliedTs = 0n;
  /** WAL bytes of the records in the growing segment: it seals by bytes as well as by rows. */
  private growingBytes = 0;
  /** Reads waiting for their guarantee timestamp (they hold no mailbox slot). */
  private waitingReads = 0;
  private tickTimer: NodeJS.Timeout | undefined;
  /** The WAL sequence of the last record applied, and its value at the last seal. */
  private appliedSeq: number;
  private sealedSeq: number;
  /** The last write or seal: the idle seal counts from it. */
  private lastActivityMs = Date.now();
  private placementWatch: { stop(): void } | undefined;
  private placement: Placement | null = null;
  /** Segments being downloaded back from the object store because no query node serves them, one at a time. */
  private readonly takingBack = new Set<number>();
  private takeBacks: Promise<void> = Promise.resolve();
  private closed = false;

  private constructor(
    private readonly ctx: ActorContext,
    readonly meta: CollectionMeta,
    readonly shard: number,
    readonly epoch: number,
    private readonly wal: ShardWal,
    private readonly store: SegmentStore,
    sealed: SealedForm[],
    private readonly deps: ShardDeps,
  ) {
    this.pkField = primaryField(meta.schema).name;
    this.segments = new SegmentSet(meta.schema, sealed, meta.id, (node, msg) => ctx.refs.queryNode(node).ask(msg, REMOTE_TIMEOUT_MS));
    this.appliedSeq = this.sealedSeq = store.checkpoint;
  }

  /** Loads the flushed segments, replays the WAL after their checkpoint, then starts serving. */
  static async open(ctx: ActorContext, meta: CollectionMeta, shard: number, epoch: number, deps: ShardDeps): Promise<Shard> {
    const started = Date.now();
    const wal = await ShardWal.open(
      ctx.js,
      ctx.jsm,
      { stream: ctx.names.walStream(meta.id, shard), subject: ctx.names.walSubject(meta.id, shard) },
      (seq, error) => {
        ctx.log.error("skipped a WAL record that cannot be applied", { collection: meta.name, shard, seq, error });
      },
    );
    // Segments a query node has loaded stay there: only their keys are kept here.
    const placed = (await ctx.meta.get<Placement>(MetaKey.placement(meta.id)))?.value.segments ?? {};
    const servedBy = (id: number) => servingNodes(placed[placementKey(shard, id)]);
    const { store, segments } = await SegmentStore.open({ meta: ctx.meta, blobs: deps.blobs, wal, log: ctx.log }, { collectionId: meta.id, shard, epoch }, servedBy);
    const s = new Shard(ctx, meta, shard, epoch, wal, store, segments, deps);
    const replay = wal.replay(store.checkpoint, (rec, seq, bytes) => s.apply(rec, seq, bytes));
    // A flush sealed during the replay waits for it: its purge must not race the replay's reads.
    s.flushes = replay;
    const records = await replay;
    await s.claimLog();
    ctx.log.info("opened shard", {
      collection: meta.name,
      shard,
      epoch,
      segments: segments.length,
      checkpoint: store.checkpoint,
      records,
      rows: s.segments.rowCount,
      ms: Date.now() - started,
    });
    // Before the mailbox: if the watch cannot start, nothing is left subscribed.
    s.placementWatch = await ctx.meta.watch<Placement>(MetaKey.placement(meta.id), (_key, p) => s.onPlacement(p));
    s.mailbox = new Mailbox<ShardMsg>(ctx.nc, {
      subject: ctx.names.shardSubject(meta.id, shard, epoch),
      // One subscriber answers even if two nodes briefly both think they own the shard.
      queue: `shard-${meta.id}-${shard}`,
      maxInFlight: 32,
      check: (value) => shardMsg(value, "message"),
      handle: (msg, _subject, slot) => s.handle(msg, slot),
      log: ctx.log,
    });
    s.tickTimer = setInterval(() => {
      void s.tick().catch(() => undefined);
      s.sealIfIdle();
    }, TICK_INTERVAL_MS);
    s.tickTimer.unref();
    // Only once open: a shard that failed to open is dropped without close(), which closes the files.
    s.queueSpill(segments.map((x) => x.head.segment_id));
    return s;
  }

  /** Requests being handled (or waiting their turn). */
  get inFlight(): number {
    return this.mailbox?.active ?? 0;
  }

  get rowCount(): number {
    return this.segments.rowCount;
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.tickTimer);
    this.placementWatch?.stop();
    await this.mailbox?.stop();
    await this.writes.catch(() => undefined);
    await this.flushes;
    await this.spills;
    this.segments.close();
  }

  private async handle(msg: ShardMsg, slot: Slot): Promise<ShardReplies[ShardMsg["kind"]]> {
    if (this.fencedBy !== undefined) throw this.fencedError();
    // An absent field arrives as nil from clients of other languages: treat both as "no guarantee".
    if ("guarantee_ts" in msg && msg.guarantee_ts != null) await this.waitFor(msg.guarantee_ts, slot);
    return match(msg)
      .with({ kind: "insert" }, (m) => this.onInsert(m.batch))
      .with({ kind: "delete" }, (m) => {
        const partitions = m.partition_names;
        // Without a partition restriction every id is deleted, present or not (it may be in flight).
        if (!partitions) return this.onDelete(async () => m.ids);
        return this.onDelete(() => this.reading(async () => (await this.segments.get(m.ids, [], partitions)).map((r) => r[this.pkField] as PrimaryKey)));
      })
      .with({ kind: "delete_by_filter" }, (m) => this.onDelete(() => this.reading(() => this.segments.matchingIds(m))))
      .with({ kind: "drop_partition" }, (m) => this.onDelete(() => this.segments.matchingIds({ partition_names: [m.partition_name] })))
      .with({ kind: P.union("search", "query", "get") }, (m) => readSegments(this.segments, this.meta, m, (read) => this.reading(read)))
      .with({ kind: "stats" }, async () => ({
        row_count: this.segments.rowCount,
        wal_last_seq: this.wal.lastSeq,
        segments: this.segments.sealedSegments.length,
        growing_rows: this.segments.growingSize,
        served_by_query_nodes: this.segments.sealedSegments.filter((x) => x instanceof RemoteSegment).length,
        sealed_vector_bytes: this.segments.sealedSegments.reduce((n, x) => n + (x instanceof SealedSegment ? x.vectorBytes : 0), 0),
        skipped_records: this.wal.skippedRecords,
      }))
      .with({ kind: "flush" }, async () => {
        const { flushed } = await this.serialized(async () => this.seal());
        return { flushed_segments: await flushed };
      })
      .with({ kind: "swap_segments" }, (m) => this.swap(m.sources, m.segment))
      .exhaustive();
  }

  /**
   * Time tick: with no write queued, every write below a fresh timestamp is
   * applied, so the safe time can move up to it. Idle shards do this every
   * TICK_INTERVAL_MS; a read whose guarantee is ahead does it at once.
   *
   * Only if no other owner wrote meanwhile: a process that stalled past its
   * session TTL may have lost the shard and not heard of it yet (its meta
   * watch recovers after its shard subscriptions do). A new owner appends a
   * fence before anything else, so a WAL tail, read after the timestamp was
   * issued, that holds nothing this shard has not applied proves that no
   * write below the timestamp is missing; a longer one is applied first
   * (which fences this shard if it came from a newer owner).
   */
  private async tick(target = 0n): Promise<void> {
    if (this.pendingWrites > 0) return;
    const ts = await this.deps.clock.take(target);
    const tail = await this.wal.serverTail();
    if (this.pendingWrites > 0 || this.fencedBy !== undefined) return;
    if (tail > this.wal.lastSeq) {
      await this.serialized(() => this.wal.catchUp((r, at, bytes) => this.apply(r, at, bytes)));
      return;
    }
    if (ts > this.appliedTs) this.appliedTs = ts;
  }

  /**
   * Holds a read until every write below its guarantee timestamp is applied.
   * A waiting read gives its request slot back, so writes (which it may be
   * waiting for) always find one; the waiting reads have their own bound.
   */
  private async waitFor(guarantee: bigint, slot: Slot): Promise<void> {
    const g = BigInt(guarantee);
    if (this.appliedTs >= g) return;
    checkGuaranteeAhead(g, "the read's guarantee timestamp");
    if (this.waitingReads >= limit("waitingReads")) {
      throw new VecbusError("UNAVAILABLE", `shard ${this.shard} of "${this.meta.name}" already holds ${this.waitingReads} reads waiting for writes (${limitText("waitingReads")}); retry shortly`);
    }
    slot.release();
    this.waitingReads++;
    try {
      const deadline = Date.now() + READ_WAIT_MAX_MS;
      while (this.appliedTs < g) {
        if (Date.now() > deadline) {
          throw new VecbusError("TIMEOUT", `shard ${this.shard} of "${this.meta.name}" did not reach the read's guarantee timestamp within ${READ_WAIT_MAX_MS} ms`);
        }
        await this.writes;
        await this.tick(g);
        if (this.fencedBy !== undefined) throw this.fencedError();
        if (this.appliedTs < g) await new Promise((r) => setTimeout(r, GUARANTEE_POLL_MS));
      }
    } finally {
      this.waitingReads--;
    }
  }

  /**
   * Handoff. A segment a query node reports loaded is answered there from
   * the next read on (by any of its loaded copies), and its rows here are
   * dropped; a served segment that lost every copy while the collection is
   * loaded comes back here from its blob until another node has loaded it.
   * Both swaps happen between reads.
   */
  private onPlacement(p: Placement | null): void {
    this.placement = p;
    const entries = p?.segments ?? {};
    for (const seg of this.segments.sealedSegments) {
      const id = seg.head.segment_id;
      const e = entries[placementKey(this.shard, id)];
      const serving = servingNodes(e);
      if (serving.length > 0) {
        if (seg instanceof SealedSegment && this.segments.handOff(id, serving)) {
          this.ctx.log.info("handed off a segment", { collection: this.meta.name, shard: this.shard, segment: id, nodes: serving });
        } else if (seg instanceof RemoteSegment) this.segments.reroute(id, serving);
      } else if (seg instanceof RemoteSegment && p?.loaded) {
        // A copy reloading new index builds answers with its old ones meanwhile.
        const reloading = seg.nodes.filter((n) => e?.copies.some((c) => c.node === n));
        // No query node has it, or the coordinator moved it off nodes that died: serve it here meanwhile.
        if (reloading.length > 0) this.segments.reroute(id, reloading);
        else this.takeBack(id);
      }
    }
    this.segments.dropReadsOutside(new Set(Object.values(entries).flatMap((e) => e.copies.map((c) => c.node))));
  }

  /** One download at a time, so a query node's death does not pull all its segments in at once; a failure is retried after a pause. */
  private takeBack(id: number): void {
    if (this.takingBack.has(id) || this.closed) return;
    this.takingBack.add(id);
    this.takeBacks = this.takeBacks.then(async () => {
      try {
        const back = this.closed ? undefined : await this.segments.takeBack(id, (keys) => this.store.reload(id, keys));
        if (back) this.queueSpill([id]);
        this.ctx.log.info("took a segment back from the query nodes", { collection: this.meta.name, shard: this.shard, segment: id });
        this.takingBack.delete(id);
      } catch (e) {
        this.ctx.log.warn("taking a segment back failed; reads of it wait, retrying", { segment: id, error: String(e) });
        await new Promise((r) => setTimeout(r, TAKE_BACK_RETRY_MS));
        this.takingBack.delete(id);
      }
      // The placement may have moved on while the blob downloaded.
      this.onPlacement(this.placement);
    });
  }

  /** A read that reaches query nodes is planned again when one of them is gone or not ready, until REMOTE_RETRY_MS. */
  private reading<T>(read: () => Promise<T>): Promise<T> {
    return retrying(read, {
      ms: REMOTE_RETRY_MS,
      retriable: remoteRetriable,
      pauseMs: REMOTE_RETRY_PAUSE_MS,
    });
  }

  /**
   * The owner checks rows against its schema itself: it stores nothing that
   * does not fit, whoever sent it. Inserts that arrive while the WAL append
   * before them is in flight join one record (up to max_payload), so a
   * shard's appends, one at a time for the fence, carry every waiting batch.
   */
  private onInsert(batch: ColumnBatch): Promise<ShardReplies["insert"]> {
    const checked = checkStoredBatch(this.meta.schema, batch, "batch");
    const bytes = encodedBytesBound(checked);
    const open = this.openInserts;
    const group = open && open.bytes + bytes <= (this.ctx.nc.info?.max_payload ?? 0) - RECORD_HEADROOM_BYTES ? open : this.insertGroup();
    group.batches.push(checked);
    group.bytes += bytes;
    return group.written.then((timestamp) => ({ insert_count: checked.count, timestamp }));
  }

  /** Queues the append of a new group of inserts: it takes the batches that joined the group by the time its turn comes. */
  private insertGroup(): InsertGroup {
    const batches: ColumnBatch[] = [];
    const written = this.write(async (ts) => {
      if (this.openInserts?.batches === batches) this.openInserts = undefined;
      return { kind: "insert_columns", ts, epoch: this.epoch, batches };
    }, true).then((w) => w.timestamp);
    const group = { batches, bytes: 0, written };
    // A write that failed before its turn took the batches (no timestamp: the oracle out of reach) leaves the group
    // open; closed here, or every later insert would join it and fail with its old error.
    written.catch(() => {
      if (this.openInserts === group) this.openInserts = undefined;
    });
    return (this.openInserts = group);
  }

  /** `ids` runs in write order, so a delete by filter sees every write queued before it. */
  private async onDelete(ids: () => Promise<PrimaryKey[]>): Promise<ShardReplies["delete"]> {
    const { count, timestamp } = await this.write(async (ts) => ({ kind: "delete", ts, epoch: this.epoch, ids: await ids() }));
    return { delete_count: count, timestamp };
  }

  /**
   * Queues one WAL append behind the previous one and applies the record once
   * it is durable; resolves with the rows it affected. A fenced append means
   * another writer got in: re-read the tail so this node's segment includes
   * it, and let the client retry.
   */
  private write(make: (ts: bigint) => WalRecord | Promise<WalRecord>, rowsChecked = false): Promise<WriteResult> {
    // A write queued after an open insert group goes after it: later inserts start a group of their own.
    this.openInserts = undefined;
    this.pendingWrites++;
    return this.serialized(async () => {
      try {
        this.lastActivityMs = Date.now();
        const rec = await make(await this.deps.clock.take());
        if (rec.kind === "delete" && rec.ids.length === 0) return { count: 0, timestamp: rec.ts };
        if (this.fencedBy !== undefined) throw this.fencedError();
        let appended: { seq: number; bytes: number };
        try {
          appended = await this.wal.append(rec);
        } catch (e) {
          // Fenced by another writer, or the ack was lost after the record was stored: either way the
          // log may hold records this segment lacks. Apply them before anything else is served.
          await this.wal.catchUp((r, at, bytes) => this.apply(r, at, bytes)).catch((ce) => this.ctx.log.warn("WAL catch-up failed", { error: String(ce) }));
          // A full WAL empties only once its records are flushed: seal now rather than at the idle timer.
          if (e instanceof VecbusError && e.code === "RESOURCE_EXHAUSTED" && this.appliedSeq > this.sealedSeq) this.seal();
          throw e;
        }
        return { count: this.apply(rec, appended.seq, appended.bytes, rowsChecked), timestamp: rec.ts };
      } finally {
        this.pendingWrites--;
      }
    });
  }

  /** Runs `task` after every write and seal queued before it, and before any queued after. */
  private serialized<T>(task: () => Promise<T>): Promise<T> {
    const next = this.writes.then(task);
    this.writes = next.catch(() => undefined);
    return next;
  }

  /**
   * Applies one WAL record; called in WAL order only (start-up replay, then
   * the write queue). Rows read back from the WAL are checked against the
   * schema before anything changes, so a record that does not fit throws
   * with the shard untouched (replay then skips it); rows this owner checked
   * on their way in are not checked twice.
   */
  private apply(rec: WalRecord, seq: number, bytes: number, rowsChecked = false): number {
    const batches = walRecordBatches(this.meta.schema, rec, `WAL record ${seq}`, rowsChecked);
    if (BigInt(rec.ts) > this.appliedTs) this.appliedTs = BigInt(rec.ts);
    this.appliedSeq = seq;
    this.growingBytes += bytes;
    if (rec.epoch > this.epoch) this.fence(rec.epoch);
    return match(rec)
      .with({ kind: P.union("insert_columns", "insert") }, (r) => {
        let rows = 0;
        for (const b of batches) {
          this.segments.insert(b, BigInt(r.ts));
          rows += b.count;
        }
        if (this.segments.growingSize >= this.deps.seal.segmentRowsMax || this.growingBytes >= sealBytes()) this.seal();
        return rows;
      })
      .with({ kind: "delete" }, (r) => this.segments.delete(r.ids))
      .with({ kind: "fence" }, () => 0)
      .exhaustive();
  }

  /**
   * Appends a fence record before serving: an owner that missed the
   * reassignment fails its next append on it and learns it was replaced. It
   * carries the newest applied timestamp (the oracle may not be up yet at
   * start-up, and a fence writes no data).
   */
  private async claimLog(): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        const { seq, bytes } = await this.wal.append({ kind: "fence", ts: this.appliedTs, epoch: this.epoch });
        this.apply({ kind: "fence", ts: this.appliedTs, epoch: this.epoch }, seq, bytes);
        return;
      } catch (e) {
        if (attempt >= 3) throw e;
        await this.wal.catchUp((r, at, bytes) => this.apply(r, at, bytes));
      }
    }
  }

  /** A newer owner wrote to the log: stop serving at once; the node closes the shard when its key changes. */
  private fence(epoch: number): void {
    if (this.fencedBy !== undefined) return;
    this.fencedBy = epoch;
    this.ctx.log.warn("shard fenced by a newer owner", { collection: this.meta.name, shard: this.shard, epoch: this.epoch, newer: epoch });
    void this.mailbox?.stop();
    this.deps.onFenced();
  }

  private fencedError(): VecbusError {
    return new VecbusError("SHARD_NOT_READY", `shard ${this.shard} of "${this.meta.name}" moved to a newer owner (epoch ${this.fencedBy}); try again`);
  }

  /** Between writes, after sealIdleMs without any, if something is not flushed yet (or a flush failed). */
  private sealIfIdle(): void {
    const idle = this.pendingWrites === 0 && this.flushesPending === 0 && Date.now() - this.lastActivityMs >= this.deps.seal.sealIdleMs;
    if (idle && this.appliedSeq > this.store.checkpoint) void this.serialized(async () => this.seal());
  }

  /**
   * Seals the growing segment and queues the flush of everything not
   * flushed yet; `flushed` resolves with the segments it wrote. Runs only
   * where apply() may run, so the snapshot is of a WAL prefix.
   */
  private seal(): { flushed: Promise<number> } {
    const seq = this.appliedSeq;
    this.segments.seal({ segment_id: seq, collection_id: this.meta.id, shard: this.shard, seq_from: this.sealedSeq + 1, seq_to: seq });
    this.sealedSeq = seq;
    this.growingBytes = 0;
    this.lastActivityMs = Date.now();
    return { flushed: this.queueCommit() };
  }

  /**
   * Compaction's swap: the compacted segment (downloaded first, outside the
   * write order) replaces its sources between two writes, and the new
   * segment list is committed like a flush, at the last seal's checkpoint;
   * the reply waits for that commit, the writes behind it do not. The commit
   * deletes the sources' objects. A repeated request (the data node's reply
   * was lost) finds the segment swapped in already and waits for its commit.
   */
  private async swap(sources: number[], ref: SegmentRef): Promise<ShardReplies["swap_segments"]> {
    const id = ref.segment_id;
    const present = () => this.segments.sealedSegments.some((s) => s.head.segment_id === id);
    const merged = present() ? undefined : await this.store.fetch(ref);
    // The commit is wrapped so that the write queue moves on as soon as the swap is made.
    const { committed } = await this.serialized(async () => {
      if (present()) return { committed: this.flushes };
      if (!merged || !this.segments.replace(sources, merged)) return { committed: undefined };
      this.ctx.log.info("swapped in a compacted segment", { collection: this.meta.name, shard: this.shard, sources, segment: id, rows: merged.rowCount });
      return { committed: this.queueCommit(new Map([[id, ref]])) };
    });
    if (!committed) return { swapped: false };
    await committed;
    return { swapped: true };
  }

  private queueCommit(uploaded?: FlushSnapshot["uploaded"]): Promise<number> {
    const snap: FlushSnapshot = {
      checkpoint: this.sealedSeq,
      segments: this.segments.sealedSegments.map((segment) => ({ segment, deletions: segment.keys.deletedCount })),
      uploaded,
    };
    this.flushesPending++;
    const flushed = this.flushes.then(() => this.store.commit(snap)).finally(() => this.flushesPending--);
    this.flushes = flushed.then(
      () => this.queueSpill(snap.segments.map((x) => x.segment.head.segment_id)),
      (e) => this.ctx.log.warn("flush failed; the WAL keeps the records", { stream: this.wal.loc.stream, checkpoint: snap.checkpoint, error: String(e) }),
    );
    return flushed;
  }

  /**
   * Spills in a chain of their own: a flush behind one does not wait for its
   * file (1.6 s at 1M rows). By id, each looked up when its turn comes: a
   * segment spilled, handed off or merged meanwhile is not written again,
   * and the queue holds no form's vectors.
   */
  private queueSpill(committed: readonly number[]): void {
    this.spills = this.spills.then(() => this.spill(committed)).catch(() => undefined);
  }

  /**
   * A flushed segment waits in its owner until a query node has its index
   * (a build of ~250 s at 1M rows): its vectors beside the build's put a
   * `vecbus serve` at 1.5 GB. Those of more than VECBUS_OWNER_SEGMENT_VECTOR_BYTES
   * go to a local file (its name removed once open: the open file keeps the
   * bytes, and a crash leaves at most an empty directory), read from there by exact scoring,
   * slower than from memory, until the handoff. Only committed segments
   * (flushed, loaded at open, taken back): the object store has them, so a
   * failure here only keeps the vectors in memory, and nothing encodes them
   * again. One segment at a time.
   */
  private async spill(committed: readonly number[]): Promise<void> {
    for (const id of committed) {
      const segment = this.segments.sealedSegments.find((x) => x.head.segment_id === id);
      if (!(segment instanceof SealedSegment) || segment.vectorBytes <= limit("ownerSegmentVectorBytes") || this.closed) continue;
      try {
        const started = Date.now();
        const form = await withScratchDir(SPILL_SCRATCH, (dir) => segment.spill(path.join(dir, "vectors")));
        if (form && this.segments.swapForm(segment, form)) {
          this.ctx.log.info("serving a flushed segment's vectors from a local file", { collection: this.meta.name, shard: this.shard, segment: segment.head.segment_id, bytes: segment.vectorBytes, ms: Date.now() - started });
        }
      } catch (e) {
        this.ctx.log.warn("could not move a flushed segment's vectors to a local file; they stay in memory", { collection: this.meta.name, shard: this.shard, segment: segment.head.segment_id, error: String(e) });
      }
    }
  }
}
