// One shard as an edge replica keeps it: a read-only copy built from what
// the owner commits and logs, never from the owner itself. Its state is a
// function of the shard's segments record (meta key segments.<cid>.<shard>)
// and the WAL after that record's checkpoint: the committed segments, loaded
// from their blobs with their delete logs, plus every WAL record after the
// checkpoint applied in order. A new record (a flush, a compaction) starts a
// new generation built the same way; the old one serves until the new one
// has caught up with the WAL, then it is dropped. So a read always sees one
// prefix of the WAL, however far behind the site's link leaves it.
//
// Takes: ShardMsg reads (search, query, get) and stats on
// <prefix>.int.edge.<site>.<cid>.<shard>, queue group per site.
// Reads: segments.<cid>.<shard> (watch), the shard's WAL stream (an ordered
// consumer), segment objects and delete logs.
import type { CollectionMeta } from "../../protocol/collection.js";
import { VecbusError } from "../../protocol/errors.js";
import { isEdgeRead, isShardRead, type SegmentRef, type ShardMsg, type ShardReplies, type ShardSegments, type WalRecord } from "../../protocol/messages.js";
import { shardMsg } from "../../protocol/message-checks.js";
import { MetaKey } from "../../protocol/subjects.js";
import { walRecordBatches } from "../../protocol/wal-records.js";
import { Mailbox } from "../../runtime/mailbox.js";
import { encode } from "../../runtime/codec.js";
import { DeliverPolicy, type ConsumerMessages } from "@nats-io/jetstream";
import type { BlobStore } from "../../storage/object-store.js";
import { loadSegment, mustGet } from "../../storage/segment-store.js";
import { decodeWalRecord } from "../../storage/wal.js";
import type { SealedSegment } from "../../engine/sealed-segment.js";
import { VectorIndex } from "../../engine/vector-index.js";
import { needsBuild, usearchConfig } from "../../protocol/indexes.js";
import type { FileCache } from "../../storage/file-cache.js";
import type { ActorContext } from "../context.js";
import { SegmentSet } from "../streaming/segment-set.js";
import { readSegments } from "../streaming/shard-reads.js";

/** A generation: the set built from one segments record, and the WAL consumer feeding it. */
interface Generation {
  record: ShardSegments;
  set: SegmentSet;
  /** The last WAL sequence applied, and the newest timestamp among the records applied. */
  seq: number;
  ts: bigint;
  messages: ConsumerMessages | undefined;
  /** Resolves once the consumer has delivered everything the stream held (the generation may serve). */
  caughtUp: Promise<void>;
  /** Replaced by a newer generation, or the follower closed: its consumer is not started again. */
  retired: boolean;
  /** When the generation last knew it had applied every record the hub's WAL held (0: not yet). */
  caughtUpAt: number;
  /** When its consumer last brought a record or a heartbeat (GENERATION_STALL_MS). */
  progressAt: number;
  /** The vector index builds the collection declared when it was built (JSON), and the indexes it opened of them. */
  builds: string;
  indexes: VectorIndex[];
  files: string[];
}

/**
 * A pull over the leaf link lasts 10 s; while it has nothing to send, the
 * hub sends a heartbeat every 2.5 s, naming the last record it delivered.
 * Each one that names a record applied refreshes the lag (NodeLoad.lag_ms),
 * so while the link is up the lag stays under ~5 s (a pull's last heartbeat
 * to the next pull's first); two missed ones make the consumer check and
 * pull again, so a link that was down is noticed ~5 s after it is back.
 */
const WAL_PULL = { expires: 10_000, idle_heartbeat: 2_500 };
/**
 * A heartbeat names the last record the hub delivered; one not applied
 * this long after was lost on the way (sent while the leaf link was
 * reconnecting), and the consumer starts again after the last record
 * applied. The wait lets records delivered just before the heartbeat be
 * applied first.
 */
const LOST_RECORD_GRACE_MS = 1_000;
/** A generation's index files outlive it this long: reads that started on it may still be searching them. */
const RETIRED_FILES_GRACE_MS = 30_000;
/**
 * How long a new generation catching up with the hub's WAL may go without a
 * record or a heartbeat before it is given up and built again: one started as
 * the link drops can be left with a consumer that never delivers, and the
 * generations after it queue behind it (seen in CI: a site kept serving rows
 * but never opened the indexes built meanwhile). Progress, not a deadline: a
 * long tail over a slow link takes as long as it takes.
 */
const GENERATION_STALL_MS = 30_000;

export class ShardFollower {
  private serving: Generation | undefined;
  private building: Promise<void> = Promise.resolve();
  private latest: ShardSegments | null = null;
  private watch: { stop(): void } | undefined;
  private mailbox: Mailbox<ShardMsg> | undefined;
  /** Segment blobs by object name, for generations built from records that keep them. */
  private readonly blobCache = new Map<string, Uint8Array>();
  private closed = false;
  private skipped = 0;

  constructor(
    private readonly ctx: ActorContext,
    private current: CollectionMeta,
    readonly shard: number,
    private readonly site: string,
    private readonly blobs: BlobStore,
    private readonly files: FileCache,
  ) {}

  get meta(): CollectionMeta {
    return this.current;
  }

  /** The collection's meta changed: a vector index declared, rebuilt or dropped makes a new generation with it. */
  updateMeta(meta: CollectionMeta): void {
    const before = JSON.stringify(indexBuilds(this.current));
    this.current = meta;
    if (JSON.stringify(indexBuilds(meta)) !== before) this.onRecord(this.latest);
  }

  async start(): Promise<void> {
    this.watch = await this.ctx.meta.watch<ShardSegments>(MetaKey.segments(this.meta.id, this.shard), (_key, record) => this.onRecord(record));
    await this.building;
    this.mailbox = new Mailbox<ShardMsg>(this.ctx.nc, {
      subject: this.ctx.names.edgeShardSubject(this.site, this.meta.id, this.shard),
      queue: `edge-${this.site}-${this.meta.id}-${this.shard}`,
      maxInFlight: 32,
      check: (value) => shardMsg(value, "message"),
      handle: (msg) => this.handle(msg),
      log: this.ctx.log,
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    this.watch?.stop();
    await this.mailbox?.stop();
    await this.building.catch(() => undefined);
    if (this.serving) retire(this.serving);
  }

  get rowCount(): number {
    return this.serving?.set.rowCount ?? 0;
  }

  get segmentCount(): number {
    return this.serving?.set.sealedSegments.length ?? 0;
  }

  get indexCount(): number {
    return this.serving?.indexes.length ?? 0;
  }

  get inFlight(): number {
    return this.mailbox?.active ?? 0;
  }

  /** See NodeLoad.lag_ms; undefined until a generation serves. */
  get lagMs(): number | undefined {
    return this.serving && Date.now() - this.serving.caughtUpAt;
  }

  private async handle(msg: ShardMsg): Promise<ShardReplies[ShardMsg["kind"]]> {
    const g = this.serving;
    if (!g) throw new VecbusError("SHARD_NOT_READY", `the edge replica of shard ${this.shard} of "${this.meta.name}" at site ${this.site} is still loading`);
    if (msg.kind === "stats") {
      return { row_count: g.set.rowCount, wal_last_seq: g.seq, segments: g.set.sealedSegments.length, growing_rows: g.set.growingSize, skipped_records: this.skipped };
    }
    if (!isShardRead(msg)) throw new VecbusError("INVALID_ARGUMENT", `an edge replica only reads; ${msg.kind} goes to the shard's owner`);
    // Strong and Session reads need every write before their timestamp: only the owner can promise that.
    if (!isEdgeRead(msg)) {
      throw new VecbusError("INVALID_ARGUMENT", `an edge replica answers Bounded and Eventually reads only; a ${msg.consistency_level ?? "Strong"} read goes to the shard's owner`);
    }
    return readSegments(g.set, this.meta, msg);
  }

  /** Each record change builds a generation, one at a time; a record that arrives during a build is built next (only the newest). */
  private onRecord(record: ShardSegments | null): void {
    this.latest = record;
    this.building = this.building.then(() => this.buildLatest()).catch((e) => this.retryLater(e));
  }

  private retryLater(e: unknown): void {
    this.ctx.log.warn("edge replica: building a generation failed; retrying", { collection: this.meta.name, shard: this.shard, error: String(e) });
    if (!this.closed) setTimeout(() => this.onRecord(this.latest), 1_000).unref();
  }

  private async buildLatest(): Promise<void> {
    const meta = this.meta;
    const record = this.latest ?? { collection_id: meta.id, shard: this.shard, epoch: 0, checkpoint_seq: 0, segments: [] };
    const builds = indexBuilds(meta);
    // Compared as msgpack bytes: the record's key bounds may be bigints, which JSON.stringify refuses.
    if (this.closed || (this.serving && this.serving.builds === JSON.stringify(builds) && Buffer.from(encode(this.serving.record)).equals(encode(record)))) return;
    const started = Date.now();
    const sealed: SealedSegment[] = [];
    const indexes: VectorIndex[] = [];
    const files: string[] = [];
    for (const ref of record.segments) {
      const segment = await loadSegment(ref, (name) => this.blob(ref, name));
      // Searched through the HNSW index of the build the collection declares, as on a query node; exactly until it is built.
      const opened = new Map<string, VectorIndex>();
      for (const [field, build] of Object.entries(builds)) {
        const built = ref.indexes?.[field];
        if (built?.build !== build) continue;
        const file = await this.files.file(built.object, `an index of a segment site ${this.site} keeps`);
        const dim = meta.schema.fields.find((f) => f.name === field)!.dim!;
        opened.set(field, new VectorIndex(file, dim, usearchConfig(meta.indexes![field])));
        files.push(file);
      }
      indexes.push(...opened.values());
      sealed.push(opened.size > 0 ? segment.withIndexes(opened) : segment);
    }
    const set = new SegmentSet(meta.schema, sealed, meta.id, () => Promise.reject(new VecbusError("INTERNAL", "an edge replica holds every segment itself")));
    const g: Generation = {
      record,
      set,
      seq: record.checkpoint_seq,
      ts: 0n,
      messages: undefined,
      caughtUp: Promise.resolve(),
      retired: false,
      caughtUpAt: 0,
      progressAt: Date.now(),
      builds: JSON.stringify(builds),
      indexes,
      files,
    };
    let timer: NodeJS.Timeout | undefined;
    const stalled = new Promise<"stalled">((resolve) => (timer = setInterval(() => Date.now() - g.progressAt > GENERATION_STALL_MS && resolve("stalled"), 1_000)));
    const reached = await Promise.race([this.follow(g).then(() => g.caughtUp), stalled]).finally(() => clearInterval(timer));
    if (reached === "stalled") {
      retire(g);
      throw new VecbusError("UNAVAILABLE", `a new generation catching up with the hub's WAL got nothing for ${GENERATION_STALL_MS} ms`);
    }
    if (this.closed) return retire(g);
    const before = this.serving;
    this.serving = g;
    if (before) {
      retire(before);
      setTimeout(() => void this.files.remove(before.files, this.serving?.files), RETIRED_FILES_GRACE_MS).unref();
    }
    // Blobs no generation can need again.
    const kept = new Set(record.segments.map((r) => r.object));
    for (const name of this.blobCache.keys()) if (!kept.has(name)) this.blobCache.delete(name);
    this.ctx.log.info("edge replica: serving a new generation", {
      collection: this.meta.name,
      shard: this.shard,
      site: this.site,
      segments: record.segments.length,
      indexes: indexes.length,
      checkpoint: record.checkpoint_seq,
      applied_seq: g.seq,
      rows: set.rowCount,
      ms: Date.now() - started,
    });
  }

  /** Segment blobs are kept (they never change); delete logs are small and read each time. */
  private async blob(ref: SegmentRef, name: string): Promise<Uint8Array> {
    if (name !== ref.object) return mustGet(this.blobs, name);
    let bytes = this.blobCache.get(name);
    if (!bytes) this.blobCache.set(name, (bytes = await mustGet(this.blobs, name)));
    return bytes;
  }

  /** Applies the WAL after the generation's checkpoint, and keeps applying what the owner appends. */
  private async follow(g: Generation): Promise<void> {
    const stream = this.ctx.names.walStream(this.meta.id, this.shard);
    let reached: () => void = () => undefined;
    g.caughtUp = new Promise<void>((resolve) => (reached = resolve));
    const caughtUp = () => {
      g.caughtUpAt = Date.now();
      reached();
    };
    // Nothing after the checkpoint yet: an empty tail is caught up at once.
    const info = await this.ctx.jsm.streams.info(stream);
    if (info.state.last_seq <= g.seq) caughtUp();
    await this.consume(g, stream, caughtUp);
  }

  /** An ordered consumer from the record after the last one applied, feeding the generation until it is retired; `caughtUp` when it has all the hub has. */
  private async consume(g: Generation, stream: string, caughtUp: () => void): Promise<void> {
    const consumer = await this.ctx.js.consumers.get(stream, { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: g.seq + 1 });
    const messages = await consumer.consume({ max_messages: 256, ...WAL_PULL });
    // Given up while it started (GENERATION_CATCH_UP_MS): nothing may keep its consumer.
    if (g.retired) return void messages.stop();
    g.messages = messages;
    // The ordered consumer sees a record lost only by the gap before the next one; the hub's heartbeats show it at once.
    void (async () => {
      for await (const s of messages.status()) {
        if (s.type !== "heartbeat") continue;
        g.progressAt = Date.now();
        if (s.lastStreamSequence <= g.seq) {
          caughtUp();
          continue;
        }
        const delivered = s.lastStreamSequence;
        setTimeout(() => {
          if (g.retired || g.messages !== messages || g.seq >= delivered) return;
          this.ctx.log.warn("edge replica: WAL records were lost on the leaf link; reading them again", { stream, applied_seq: g.seq, delivered_seq: delivered });
          messages.stop();
          this.consume(g, stream, caughtUp).catch((e) => this.lostConsumer(g, stream, caughtUp, e));
        }, LOST_RECORD_GRACE_MS).unref();
      }
    })();
    void (async () => {
      for await (const m of messages) {
        // A consumer started again takes over; records the old one had queued may come from both.
        if (g.messages !== messages) break;
        if (m.seq <= g.seq) continue;
        const where = `${stream} record ${m.seq}`;
        try {
          this.apply(g, decodeWalRecord(m.data, where), where);
        } catch (e) {
          // As the owner's replay does: a record that cannot be applied is reported and skipped.
          this.skipped++;
          this.ctx.log.error("edge replica: skipped a WAL record that cannot be applied", { where, error: String(e) });
        }
        g.seq = m.seq;
        g.progressAt = Date.now();
        if (m.info.pending === 0) caughtUp();
      }
    })().catch((e) => this.ctx.log.warn("edge replica: following the WAL stopped", { stream, error: String(e) }));
  }

  /** Starting the consumer again failed (the link went down again): retried until it works or the generation retires. */
  private lostConsumer(g: Generation, stream: string, caughtUp: () => void, e: unknown): void {
    this.ctx.log.warn("edge replica: starting the WAL consumer again failed; retrying", { stream, error: String(e) });
    setTimeout(() => {
      if (!g.retired) this.consume(g, stream, caughtUp).catch((err) => this.lostConsumer(g, stream, caughtUp, err));
    }, 1_000).unref();
  }

  private apply(g: Generation, rec: WalRecord, where: string): void {
    const batches = walRecordBatches(this.meta.schema, rec, where);
    if (BigInt(rec.ts) > g.ts) g.ts = BigInt(rec.ts);
    if (rec.kind === "delete") g.set.delete(rec.ids);
    for (const b of batches) g.set.insert(b, BigInt(rec.ts));
  }
}

function retire(g: Generation): void {
  g.retired = true;
  g.messages?.stop();
  for (const ix of g.indexes) ix.close();
}

/** The vector index builds a collection declares, by field (FLAT and scalar indexes have nothing to load). */
function indexBuilds(meta: CollectionMeta): Record<string, number> {
  return Object.fromEntries(
    Object.values(meta.indexes ?? {})
      .filter(needsBuild)
      .map((ix) => [ix.field_name, ix.build]),
  );
}
