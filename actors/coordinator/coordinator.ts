// Coordinator: owns collection meta (DDL), shard assignment, the id allocator
// and the timestamp oracle; one file per job in this folder (state.ts is what
// they share), this one holds the lease and dispatches. Only the holder of the
// coordinator lease serves requests; every meta write is a compare-and-set,
// so a second coordinator that briefly overlaps a failover cannot corrupt
// anything.
//
// Takes: CoordinatorMsg on <prefix>.int.coord.
// Writes: collections.<name>, shards.<cid>.<shard>, counters.*, tso (meta bucket);
//         creates and deletes WAL streams; deletes a dropped collection's
//         segments.<cid>.<shard> keys and segment objects.
// Invariant: a collection key exists only once all its WAL streams exist.
import { processGone } from "../../runtime/liveness.js";
import { onConnectionEvent } from "../../runtime/connection.js";
import { endDeadSessions } from "./sessions.js";
import { match } from "ts-pattern";
import { COMPACTION_DEFAULTS, type CompactionPolicy } from "../../engine/compaction-plan.js";
import type { CollectionMeta } from "../../protocol/collection.js";
import { DATA_FORMAT, type DataFormat } from "../../protocol/data-format.js";
import { VecbusError } from "../../protocol/errors.js";
import { coordinatorMsg } from "../../protocol/message-checks.js";
import { type CoordinatorMsg, type CoordinatorReplies } from "../../protocol/messages.js";
import { MetaKey, SessionKey } from "../../protocol/subjects.js";
import { Lease } from "../../runtime/lease.js";
import { Mailbox } from "../../runtime/mailbox.js";
import { withDeadline } from "../../runtime/retry.js";
import type { Session } from "../../runtime/session.js";
import { asConfigured, streamBound, streamInfoIfAny } from "../../storage/stream-bounds.js";
import { ensureTaskStream } from "../../storage/tasks.js";
import { actorSession, type ActorContext } from "../context.js";
import { SEAL_DEFAULTS } from "../streaming/shard.js";
import { TimestampOracle } from "../tso.js";
import { onCompact, queueCompactions } from "./compaction.js";
import { onAlterAlias, onCreateAlias, onCreateCollection, onCreatePartition, onDropAlias, onDropCollection, onDropPartition, onRenameCollection } from "./ddl.js";
import { collectOrphanSegments, collectOrphanShards } from "./gc.js";
import { onAllocateIds } from "./ids.js";
import { onCreateIndex, onDropIndex, queueIndexBuilds } from "./indexes.js";
import { onLoad, placeSegments } from "./placement.js";
import { assignShards, balanceShards } from "./shards.js";
import type { CoordinatorState } from "./state.js";

const SWEEP_INTERVAL_MS = 2_000;
/**
 * A sweep that has not finished by then is given up on (it goes on in the
 * background, but the next one may start): one meta read that never answers
 * must not stop shard assignment, index builds and placement for good.
 */
export const SWEEP_DEADLINE_MS = 30_000;

export interface CoordinatorOptions {
  /** When segments are merged (sizes in rows; see engine/compaction-plan.ts). */
  compaction: CompactionPolicy;
  /** Whether the sweep plans compactions by itself; `compact` works either way. */
  autoCompaction: boolean;
}

export const COORDINATOR_DEFAULTS: CoordinatorOptions = { compaction: COMPACTION_DEFAULTS(SEAL_DEFAULTS.segmentRowsMax), autoCompaction: true };

export class Coordinator {
  private readonly session: Session;
  private readonly lease: Lease;
  private mailbox: Mailbox<CoordinatorMsg> | undefined;
  private sweepTimer: NodeJS.Timeout | undefined;
  private disconnects: { stop(): void } | undefined;
  private sweeping = false;
  /** Segment records changed: index builds and placement are looked at again at once (see onSegmentsChanged). */
  private reacting = false;
  private reactAgain = false;
  private segmentWatch: { stop(): void } | undefined;
  private readonly state: CoordinatorState;

  constructor(
    private readonly ctx: ActorContext,
    readonly nodeId: string,
    opts: CoordinatorOptions = COORDINATOR_DEFAULTS,
  ) {
    this.session = actorSession(ctx, "coordinator", nodeId, () => ({ in_flight: this.mailbox?.active ?? 0, leader: this.lease.isLeader }));
    this.lease = new Lease(
      ctx.sessions,
      SessionKey.coordinatorLease,
      nodeId,
      ctx.log,
      (leading) => this.onLeadership(leading),
      (holder) => processGone(ctx.nc, ctx.names.nodeSubject("coordinator", holder)),
    );
    this.state = { ctx, opts, tso: new TimestampOracle(ctx.meta), queued: new Map(), blobs: undefined, placing: Promise.resolve(), shardMove: { at: 0, running: false } };
  }

  async start(): Promise<void> {
    this.disconnects = onConnectionEvent(this.ctx.nc, "disconnect", () => this.lease.distrust());
    await this.session.start();
    await this.lease.start();
  }

  async stop(): Promise<void> {
    this.disconnects?.stop();
    await this.lease.stop();
    await this.session.stop();
  }

  private async onLeadership(leading: boolean): Promise<void> {
    if (leading) {
      // Marks the store with this release's format (one of release 0.1.0 has no mark and is format 1): a release that
      // cannot read what this one writes then refuses the store at start-up instead of skipping its records.
      await this.ctx.meta.casUpdate<DataFormat>(MetaKey.format, (cur) => ((cur?.version ?? 0) >= DATA_FORMAT ? undefined : { version: DATA_FORMAT }));
      await configureBuckets(this.ctx);
      await this.state.tso.init();
      await ensureTaskStream(this.ctx.jsm, this.ctx.names);
      this.mailbox = new Mailbox<CoordinatorMsg>(this.ctx.nc, {
        subject: this.ctx.names.coordinatorSubject(),
        // Two leaders can overlap for a moment around a failover: one answer per request.
        queue: "coordinator",
        maxInFlight: 64,
        check: (value) => coordinatorMsg(value, "message"),
        handle: (msg) => this.handle(msg),
        log: this.ctx.log,
      });
      this.sweepTimer = setInterval(() => void this.sweep(), SWEEP_INTERVAL_MS);
      this.sweepTimer.unref();
      // Not awaited: the lease is renewed only once this takeover returns, and a first sweep right after a
      // NATS server died can take many seconds (JetStream elects stream leaders meanwhile). Waiting for it left
      // the new leader not fresh (refusing requests with NOT_LEADER) and let its lease key expire under it.
      void this.sweep();
      // Without the watch the sweep still does this work, only later: a failure to start it does not undo the takeover.
      this.segmentWatch = await this.ctx.meta.watch(MetaKey.segmentsPrefix, () => void this.onSegmentsChanged()).catch((e) => {
        this.ctx.log.warn("watching segment records failed; changes wait for the sweep", { error: String(e) });
        return undefined;
      });
    } else {
      this.segmentWatch?.stop();
      this.segmentWatch = undefined;
      clearInterval(this.sweepTimer);
      await this.mailbox?.stop();
      this.mailbox = undefined;
    }
  }

  private async handle(msg: CoordinatorMsg): Promise<CoordinatorReplies[CoordinatorMsg["kind"]]> {
    if (!this.lease.isFresh) throw new VecbusError("NOT_LEADER", "this coordinator has not renewed its lease lately; another one may be taking over, try again");
    return match(msg)
      .with({ kind: "create_collection" }, (m) => onCreateCollection(this.state, m))
      .with({ kind: "drop_collection" }, (m) => onDropCollection(this.state, m))
      .with({ kind: "rename_collection" }, (m) => onRenameCollection(this.state, m))
      .with({ kind: "create_partition" }, (m) => onCreatePartition(this.state, m))
      .with({ kind: "drop_partition" }, (m) => onDropPartition(this.state, m))
      .with({ kind: "create_alias" }, (m) => onCreateAlias(this.state, m))
      .with({ kind: "alter_alias" }, (m) => onAlterAlias(this.state, m))
      .with({ kind: "drop_alias" }, (m) => onDropAlias(this.state, m))
      .with({ kind: "allocate_ids" }, (m) => onAllocateIds(this.state, m))
      .with({ kind: "allocate_ts" }, async (m) => ({ ts: await this.state.tso.allocate(m.count) }))
      .with({ kind: "create_index" }, (m) => onCreateIndex(this.state, m))
      .with({ kind: "drop_index" }, (m) => onDropIndex(this.state, m))
      .with({ kind: "load_collection" }, (m) => onLoad(this.state, m.collection_name, true, m.replica_number))
      .with({ kind: "release_collection" }, (m) => onLoad(this.state, m.collection_name, false))
      .with({ kind: "compact" }, (m) => onCompact(this.state, m.collection_name))
      .exhaustive();
  }

  /**
   * A flushed segment gets its index builds queued, and a segment whose
   * indexes are built is placed, at once rather than at the next sweep: a
   * load waits up to a sweep interval less. Compaction planning stays with
   * the sweep (it waits for more small segments to gather).
   */
  private async onSegmentsChanged(): Promise<void> {
    if (this.reacting) {
      this.reactAgain = true;
      return;
    }
    this.reacting = true;
    try {
      do {
        this.reactAgain = false;
        if (!this.lease.isLeader) return;
        await queueIndexBuilds(this.state);
        await placeSegments(this.state);
      } while (this.reactAgain);
    } catch (e) {
      if (!(e instanceof VecbusError && (e.code === "UNAVAILABLE" || e.code === "CONFLICT"))) this.ctx.log.warn("placing changed segments failed", { error: String(e) });
    } finally {
      this.reacting = false;
    }
  }

  private async sweep(): Promise<void> {
    if (this.sweeping || !this.lease.isLeader) return;
    this.sweeping = true;
    try {
      await withDeadline(SWEEP_DEADLINE_MS, "the sweep", async () => {
        await endDeadSessions(this.state);
        await collectOrphanShards(this.state);
        await collectOrphanSegments(this.state);
        await assignShards(this.state);
        await balanceShards(this.state);
        await queueIndexBuilds(this.state);
        await placeSegments(this.state);
        if (this.state.opts.autoCompaction) {
          for (const { value } of (await this.ctx.meta.list<CollectionMeta>(MetaKey.collectionsPrefix)).values()) await queueCompactions(this.state, value, false);
        }
      });
    } catch (e) {
      const quiet = e instanceof VecbusError && (e.code === "UNAVAILABLE" || e.code === "CONFLICT");
      if (!quiet) this.ctx.log.warn("shard sweep failed", { error: String(e) });
    } finally {
      this.sweeping = false;
    }
  }
}

/**
 * A meta bucket made by release 0.1.0 has no byte bound: the leader gives it
 * this release's; and the buckets every actor shares get the configured
 * replicas (the WAL and task streams get theirs where they are opened).
 */
async function configureBuckets(ctx: ActorContext): Promise<void> {
  await asConfigured(ctx.jsm, await ctx.jsm.streams.info(`KV_${ctx.names.metaBucket()}`), streamBound("metaBytes"));
  await asConfigured(ctx.jsm, await ctx.jsm.streams.info(`KV_${ctx.names.sessionBucket()}`));
  const objects = await streamInfoIfAny(ctx.jsm, `OBJ_${ctx.names.objectBucket()}`);
  if (objects) await asConfigured(ctx.jsm, objects);
}
