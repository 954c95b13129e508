// Coordinator: owns collection meta (DDL), shard assignment, the id allocator
// and the timestamp oracle. Only the holder of the coordinator lease serves
// requests; every meta write is a compare-and-set, so a second coordinator
// that briefly overlaps a failover cannot corrupt anything.
//
// Takes: CoordinatorMsg on <prefix>.int.coord.
// Writes: collections.<name>, shards.<cid>.<shard>, counters.*, tso (meta bucket);
//         creates and deletes WAL streams; deletes a dropped collection's
//         segments.<cid>.<shard> keys and segment objects.
// Invariant: a collection key exists only once all its WAL streams exist.
import { DATA_FORMAT, type DataFormat } from "../protocol/data-format.js";
import { match } from "ts-pattern";
import { VecbusError } from "../protocol/errors.js";
import type { CollectionMeta } from "../protocol/collection.js";
import { placementKey, sameBuilds, type CompactionRecord, type AliasMeta, type CoordinatorMsg, type CoordinatorReplies, type Placement, type SegmentRef, type ShardAssignment, type ShardSegments } from "../protocol/messages.js";
import { COMPACTED_SEGMENT_BASE, needsBuild, sameSpec, taskMsgId, type BuildIndexTask, type CompactTask, type IndexMeta } from "../protocol/indexes.js";
import { PARTITIONS_MAX, unknownPartition } from "../protocol/partitions.js";
import { MetaKey, ObjectName, SessionKey } from "../protocol/subjects.js";
import { decode } from "../runtime/codec.js";
import { coordinatorMsg } from "../protocol/message-checks.js";
import type { ActorContext } from "./context.js";
import { Lease } from "../runtime/lease.js";
import { Mailbox } from "../runtime/mailbox.js";
import { retrying } from "../runtime/retry.js";
import { liveNodes, Session } from "../runtime/session.js";
import { BlobStore } from "../storage/object-store.js";
import { COMPACTION_DEFAULTS, planCompactions, type CompactionPolicy } from "../engine/compaction-plan.js";
import { SEAL_DEFAULTS } from "./streaming/shard.js";
import { ensureTaskStream, publishTask, TASK_DUPLICATE_WINDOW_MS } from "../storage/tasks.js";
import { createWalStream, deleteWalStream } from "../storage/wal.js";
import { TimestampOracle } from "./tso.js";

const SWEEP_INTERVAL_MS = 2_000;
/**
 * A sweep that has not finished by then is given up on (it goes on in the
 * background, but the next one may start): one meta read that never answers
 * must not stop shard assignment, index builds and placement for good.
 */
const SWEEP_DEADLINE_MS = 30_000;

export interface CoordinatorOptions {
  /** When segments are merged (sizes in rows; see storage/compaction-plan.ts). */
  compaction: CompactionPolicy;
  /** Whether the sweep plans compactions by itself; `compact` works either way. */
  autoCompaction: boolean;
}

export const COORDINATOR_DEFAULTS: CoordinatorOptions = { compaction: COMPACTION_DEFAULTS(SEAL_DEFAULTS.segmentRowsMax), autoCompaction: true };
const SHARD_READY_TIMEOUT_MS = 15_000;

export class Coordinator {
  private readonly session: Session;
  private readonly lease: Lease;
  private readonly tso: TimestampOracle;
  private mailbox: Mailbox<CoordinatorMsg> | undefined;
  private sweepTimer: NodeJS.Timeout | undefined;
  private sweeping = false;
  /** msgID -> when this leader last queued that build task: re-queued only once the duplicate window has passed. */
  private readonly queued = new Map<string, number>();
  private blobs: BlobStore | undefined;
  private placing: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly ctx: ActorContext,
    readonly nodeId: string,
    private readonly opts: CoordinatorOptions = COORDINATOR_DEFAULTS,
  ) {
    this.session = new Session(ctx.sessions, "coordinator", nodeId, ctx.log);
    this.lease = new Lease(ctx.sessions, SessionKey.coordinatorLease, nodeId, ctx.log, (leading) => this.onLeadership(leading));
    this.tso = new TimestampOracle(ctx.meta);
  }

  async start(): Promise<void> {
    await this.session.start();
    await this.lease.start();
  }

  async stop(): Promise<void> {
    await this.lease.stop();
    await this.session.stop();
  }

  private async onLeadership(leading: boolean): Promise<void> {
    if (leading) {
      // Marks the store's format once (a store of release 0.1.0 has no mark and is format 1).
      await this.ctx.meta.create<DataFormat>(MetaKey.format, { version: DATA_FORMAT }).catch((e) => {
        if (!(e instanceof VecbusError && e.code === "CONFLICT")) throw e;
      });
      await this.tso.init();
      await ensureTaskStream(this.ctx.jsm, this.ctx.names);
      this.mailbox = new Mailbox<CoordinatorMsg>(this.ctx.nc, {
        subject: this.ctx.names.coordinatorSubject(),
        // Two leaders can overlap for a moment around a failover: one answer per request.
        queue: "coordinator",
        maxInFlight: 64,
        parse: (data) => coordinatorMsg(decode(data), "message"),
        handle: (msg) => this.handle(msg),
        log: this.ctx.log,
      });
      this.sweepTimer = setInterval(() => void this.sweep(), SWEEP_INTERVAL_MS);
      this.sweepTimer.unref();
      await this.sweep();
    } else {
      clearInterval(this.sweepTimer);
      await this.mailbox?.stop();
      this.mailbox = undefined;
    }
  }

  private async handle(msg: CoordinatorMsg): Promise<CoordinatorReplies[CoordinatorMsg["kind"]]> {
    if (!this.lease.isFresh) throw new VecbusError("NOT_LEADER", "this coordinator has not renewed its lease lately; another one may be taking over, try again");
    return match(msg)
      .with({ kind: "create_collection" }, (m) => this.onCreateCollection(m))
      .with({ kind: "drop_collection" }, (m) => this.onDropCollection(m))
      .with({ kind: "rename_collection" }, (m) => this.onRenameCollection(m))
      .with({ kind: "create_partition" }, (m) => this.onCreatePartition(m))
      .with({ kind: "drop_partition" }, (m) => this.onDropPartition(m))
      .with({ kind: "create_alias" }, (m) => this.onCreateAlias(m))
      .with({ kind: "alter_alias" }, (m) => this.onAlterAlias(m))
      .with({ kind: "drop_alias" }, (m) => this.onDropAlias(m))
      .with({ kind: "allocate_ids" }, (m) => this.onAllocateIds(m))
      .with({ kind: "allocate_ts" }, async (m) => ({ ts: await this.tso.allocate(m.count) }))
      .with({ kind: "create_index" }, (m) => this.onCreateIndex(m))
      .with({ kind: "drop_index" }, (m) => this.onDropIndex(m))
      .with({ kind: "load_collection" }, (m) => this.onLoad(m.collection_name, true))
      .with({ kind: "release_collection" }, (m) => this.onLoad(m.collection_name, false))
      .with({ kind: "compact" }, (m) => this.onCompact(m.collection_name))
      .exhaustive();
  }

  private async onCreateCollection(m: Extract<CoordinatorMsg, { kind: "create_collection" }>): Promise<CollectionMeta> {
    const key = MetaKey.collection(m.name);
    await this.assertNameFree(m.name);
    if ((await liveNodes(this.ctx.sessions, "streaming")).length === 0) {
      throw new VecbusError("UNAVAILABLE", "no streaming node is running; start one with `vecbus start streaming`");
    }
    const { start: id } = await this.onAllocate("collection_id", 1);
    const meta: CollectionMeta = {
      id,
      name: m.name,
      schema: m.schema,
      num_shards: m.num_shards,
      metric_type: m.metric_type,
      created_at: Date.now(),
      partitions: m.partitions,
      consistency_level: m.consistency_level,
    };
    for (let s = 0; s < meta.num_shards; s++) {
      await createWalStream(this.ctx.jsm, { stream: this.ctx.names.walStream(id, s), subject: this.ctx.names.walSubject(id, s) });
    }
    try {
      await this.ctx.meta.create(key, meta);
    } catch (e) {
      await this.deleteStreams(meta);
      if (e instanceof VecbusError && e.code === "CONFLICT") {
        throw new VecbusError("COLLECTION_ALREADY_EXISTS", `collection "${m.name}" already exists; drop it first or pick another name`);
      }
      throw e;
    }
    await this.assignShards(meta);
    // The collection exists from here on: a slow shard start is not a failed create (the proxy waits for shards).
    await this.waitShardsReady(meta).catch((e) => this.ctx.log.warn("shards are slow to start", { name: m.name, error: String(e) }));
    this.ctx.log.info("created collection", { name: m.name, id, shards: m.num_shards });
    return meta;
  }

  private async onDropCollection(m: Extract<CoordinatorMsg, { kind: "drop_collection" }>): Promise<{ dropped: boolean }> {
    const cur = await this.ctx.meta.get<CollectionMeta>(MetaKey.collection(m.name));
    if (!cur) throw new VecbusError("COLLECTION_NOT_FOUND", `collection "${m.name}" does not exist`);
    const aliases = await this.aliasesOf(m.name);
    if (aliases.length > 0) {
      throw new VecbusError("INVALID_ARGUMENT", `collection "${m.name}" still has aliases (${aliases.join(", ")}); drop them first with drop_alias`);
    }
    await this.ctx.meta.delete(MetaKey.collection(m.name), cur.revision);
    for (let s = 0; s < cur.value.num_shards; s++) {
      await this.ctx.meta.delete(MetaKey.shard(cur.value.id, s)).catch(() => undefined);
    }
    await this.deleteStreams(cur.value);
    await this.ctx.meta.delete(MetaKey.placement(cur.value.id)).catch(() => undefined);
    await this.deleteSegments(cur.value.id);
    this.ctx.log.info("dropped collection", { name: m.name, id: cur.value.id });
    return { dropped: true };
  }

  /** The new key is written before the old one goes, so a crash in between leaves both names, never neither. */
  private async onRenameCollection(m: Extract<CoordinatorMsg, { kind: "rename_collection" }>): Promise<CollectionMeta> {
    const cur = await this.ctx.meta.get<CollectionMeta>(MetaKey.collection(m.old_name));
    if (!cur) throw new VecbusError("COLLECTION_NOT_FOUND", `collection "${m.old_name}" does not exist`);
    await this.assertNameFree(m.new_name);
    const renamed: CollectionMeta = { ...cur.value, name: m.new_name };
    await this.ctx.meta.create(MetaKey.collection(m.new_name), renamed);
    // Shard keys and aliases move while both names exist, so a crash here leaves nothing pointing at a missing name.
    for (let s = 0; s < renamed.num_shards; s++) {
      await this.ctx.meta.casUpdate<ShardAssignment>(MetaKey.shard(renamed.id, s), (a) => (a ? { ...a, collection_name: m.new_name } : undefined));
    }
    for (const alias of await this.aliasesOf(m.old_name)) {
      await this.ctx.meta.casUpdate<AliasMeta>(MetaKey.alias(alias), (a) => (a ? { ...a, collection_name: m.new_name } : undefined));
    }
    await this.ctx.meta.delete(MetaKey.collection(m.old_name), cur.revision);
    this.ctx.log.info("renamed collection", { from: m.old_name, to: m.new_name });
    return renamed;
  }

  private async onCreatePartition(m: Extract<CoordinatorMsg, { kind: "create_partition" }>): Promise<CollectionMeta> {
    return this.updateCollection(m.collection_name, (c) => {
      if (c.partitions.includes(m.partition_name)) {
        throw new VecbusError("PARTITION_ALREADY_EXISTS", `partition "${m.partition_name}" already exists in "${c.name}"`);
      }
      if (c.partitions.length >= PARTITIONS_MAX) {
        throw new VecbusError("INVALID_ARGUMENT", `a collection has at most ${PARTITIONS_MAX} partitions`);
      }
      return { ...c, partitions: [...c.partitions, m.partition_name] };
    });
  }

  /** Meta first, so no new row can enter the partition; then every shard deletes its rows through the WAL. */
  private async onDropPartition(m: Extract<CoordinatorMsg, { kind: "drop_partition" }>): Promise<CollectionMeta> {
    const meta = await this.updateCollection(m.collection_name, (c) => {
      if (!c.partitions.includes(m.partition_name)) throw unknownPartition(c.name, m.partition_name);
      return { ...c, partitions: c.partitions.filter((p) => p !== m.partition_name) };
    });
    // Reads only ever look at the partitions in meta, so rows left behind by a shard that misses this stay invisible.
    const results = await Promise.allSettled(
      Array.from({ length: meta.num_shards }, (_, s) =>
        this.ctx.refs.shard(meta.id, s).ask({ kind: "drop_partition", partition_name: m.partition_name }),
      ),
    );
    const failed = results.filter((r) => r.status === "rejected").length;
    if (failed > 0) this.ctx.log.warn("some shards kept rows of a dropped partition", { collection: meta.name, partition: m.partition_name, failed });
    return meta;
  }

  private async updateCollection(name: string, fn: (c: CollectionMeta) => CollectionMeta): Promise<CollectionMeta> {
    const next = await this.ctx.meta.casUpdate<CollectionMeta>(MetaKey.collection(name), (c) => {
      if (!c) throw new VecbusError("COLLECTION_NOT_FOUND", `collection "${name}" does not exist`);
      return fn(c);
    });
    return next!;
  }

  private async onCreateAlias(m: Extract<CoordinatorMsg, { kind: "create_alias" }>): Promise<AliasMeta> {
    await this.assertCollection(m.collection_name);
    if (await this.ctx.meta.get(MetaKey.collection(m.alias))) {
      throw new VecbusError("ALIAS_ALREADY_EXISTS", `"${m.alias}" is already a collection name; an alias needs a name of its own`);
    }
    const alias: AliasMeta = { alias: m.alias, collection_name: m.collection_name };
    try {
      await this.ctx.meta.create(MetaKey.alias(m.alias), alias);
    } catch (e) {
      if (e instanceof VecbusError && e.code === "CONFLICT") {
        throw new VecbusError("ALIAS_ALREADY_EXISTS", `alias "${m.alias}" already exists; use alter_alias to point it elsewhere`);
      }
      throw e;
    }
    return alias;
  }

  private async onAlterAlias(m: Extract<CoordinatorMsg, { kind: "alter_alias" }>): Promise<AliasMeta> {
    await this.assertCollection(m.collection_name);
    const next = await this.ctx.meta.casUpdate<AliasMeta>(MetaKey.alias(m.alias), (a) => {
      if (!a) throw new VecbusError("ALIAS_NOT_FOUND", `alias "${m.alias}" does not exist; create it with create_alias`);
      return { ...a, collection_name: m.collection_name };
    });
    return next!;
  }

  private async onDropAlias(m: Extract<CoordinatorMsg, { kind: "drop_alias" }>): Promise<{ dropped: boolean }> {
    const cur = await this.ctx.meta.get<AliasMeta>(MetaKey.alias(m.alias));
    if (!cur) throw new VecbusError("ALIAS_NOT_FOUND", `alias "${m.alias}" does not exist`);
    await this.ctx.meta.delete(MetaKey.alias(m.alias), cur.revision);
    return { dropped: true };
  }

  /** Declares the indexes not declared yet (an identical one is a no-op) and queues builds for flushed segments. */
  private async onCreateIndex(m: Extract<CoordinatorMsg, { kind: "create_index" }>): Promise<IndexMeta[]> {
    const { start } = await this.onAllocate("index_build", m.indexes.length);
    let result: IndexMeta[] = [];
    const meta = await this.ctx.meta.casUpdate<CollectionMeta>(MetaKey.collection(m.collection_name), (c) => {
      if (!c) throw new VecbusError("COLLECTION_NOT_FOUND", `collection "${m.collection_name}" does not exist`);
      const indexes = { ...(c.indexes ?? {}) };
      let changed = false;
      result = m.indexes.map((spec, i) => {
        const cur = indexes[spec.field_name];
        if (cur) {
          if (sameSpec(cur, spec)) return cur;
          throw new VecbusError(
            "INVALID_ARGUMENT",
            `field "${spec.field_name}" already has index "${cur.index_name}" (${cur.index_type}); a field has one index: drop_index it first to change it`,
          );
        }
        const clash = Object.values(indexes).find((ix) => ix.index_name === spec.index_name);
        if (clash) throw new VecbusError("INVALID_ARGUMENT", `index_name "${spec.index_name}" is already used by field "${clash.field_name}"; pick another index_name`);
        const ix: IndexMeta = { ...spec, build: start + i, created_at: Date.now() };
        indexes[spec.field_name] = ix;
        changed = true;
        return ix;
      });
      return changed ? { ...c, indexes } : undefined;
    });
    if (meta) await this.queueIndexBuilds([meta]).catch((e) => this.ctx.log.warn("queueing index builds failed; the sweep retries", { error: String(e) }));
    this.ctx.log.info("created index", { collection: m.collection_name, indexes: result.map((r) => r.index_name) });
    return result;
  }

  /** Meta first (from then on nothing counts the index), then the segments' records of it and its files. */
  private async onDropIndex(m: Extract<CoordinatorMsg, { kind: "drop_index" }>): Promise<{ dropped: boolean }> {
    let dropped: IndexMeta | undefined;
    const meta = await this.updateCollection(m.collection_name, (c) => {
      dropped = Object.values(c.indexes ?? {}).find((ix) => ix.index_name === m.index_name);
      if (!dropped) throw new VecbusError("INDEX_NOT_FOUND", `collection "${c.name}" has no index "${m.index_name}"; list_indexes shows its indexes`);
      const { [dropped.field_name]: _gone, ...rest } = c.indexes ?? {};
      return { ...c, indexes: rest };
    });
    const ix = dropped!;
    try {
      for (const key of (await this.ctx.meta.list<ShardSegments>(MetaKey.segmentsOf(meta.id))).keys()) {
        await this.ctx.meta.casUpdate<ShardSegments>(key, (cur) => {
          if (!cur || !cur.segments.some((s) => s.indexes?.[ix.field_name]?.build === ix.build)) return undefined;
          const segments = cur.segments.map((s) => {
            if (s.indexes?.[ix.field_name]?.build !== ix.build) return s;
            const { [ix.field_name]: _old, ...others } = s.indexes;
            return { ...s, indexes: others };
          });
          return { ...cur, segments };
        });
      }
      this.blobs ??= await BlobStore.open(this.ctx.nc, this.ctx.names.objectBucket());
      for (const o of await this.blobs.list()) if (ObjectName.isIndexOf(meta.id, ix.field_name, ix.build, o.name)) await this.blobs.delete(o.name);
    } catch (e) {
      this.ctx.log.warn("removing a dropped index's files failed; they are never read", { collection: meta.name, index: ix.index_name, error: String(e) });
    }
    this.ctx.log.info("dropped index", { collection: meta.name, index: ix.index_name });
    return { dropped: true };
  }

  /** Plans every shard's compaction as Milvus's manual compact does, queues the tasks, and records them for get_compaction_state. */
  private async onCompact(name: string): Promise<{ compaction_id: number }> {
    const meta = await this.ctx.meta.get<CollectionMeta>(MetaKey.collection(name));
    if (!meta) throw new VecbusError("COLLECTION_NOT_FOUND", `collection "${name}" does not exist`);
    const { start: id } = await this.onAllocate("compaction_id", 1);
    const tasks = await this.queueCompactions(meta.value, true);
    await this.ctx.meta.create(MetaKey.compaction(id), { compaction_id: id, collection_id: meta.value.id, created_at: Date.now(), tasks } satisfies CompactionRecord);
    this.ctx.log.info("compaction queued", { collection: name, compaction_id: id, tasks: tasks.length });
    return { compaction_id: id };
  }

  /**
   * Plans compactions for every shard of a collection (storage/compaction-plan.ts)
   * and queues a task per group. Automatic plans repeat every sweep: a group
   * this leader queued within the duplicate window is not queued again.
   */
  private async queueCompactions(c: CollectionMeta, manual: boolean): Promise<CompactionRecord["tasks"]> {
    const tasks: CompactionRecord["tasks"] = [];
    const now = Date.now();
    for (const { value: state } of (await this.ctx.meta.list<ShardSegments>(MetaKey.segmentsOf(c.id))).values()) {
      const candidates = state.segments.map((r) => ({ segment_id: r.segment_id, rows: r.row_count, deleted: r.deleted_count ?? 0 }));
      for (const sources of planCompactions(candidates, this.opts.compaction, manual)) {
        const planned = `compact.${c.id}.${state.shard}.${sources.join("-")}`;
        if (!manual && this.queued.has(planned)) continue;
        const { start } = await this.onAllocate("compacted_segment", 1);
        const task: CompactTask = { kind: "compact", collection_id: c.id, shard: state.shard, sources, target: COMPACTED_SEGMENT_BASE + start };
        // Each task has its own target, so a manual compact is never collapsed into an automatic one
        // (the second to run finds its sources gone).
        await publishTask(this.ctx.js, this.ctx.names, task);
        this.queued.set(planned, now);
        tasks.push({ shard: state.shard, sources, target: task.target });
      }
    }
    return tasks;
  }

  /** Load state lives in the collection meta; the placement follows at once (and at every sweep). */
  private async onLoad(name: string, load: boolean): Promise<CollectionMeta> {
    const meta = await this.updateCollection(name, (c) => {
      const { released: _was, ...rest } = c;
      return load ? rest : { ...rest, released: true };
    });
    await this.placeSegments([meta]);
    this.ctx.log.info(load ? "loaded collection" : "released collection", { name });
    return meta;
  }

  /**
   * Places the sealed segments of loaded collections on live query nodes:
   * a segment is placed once every index declared on the collection is built
   * for it (until then its shard owner serves it), on the node with the
   * fewest rows placed, and stays there while that node lives. A released
   * collection, or a cluster without query nodes, places nothing: shard
   * owners then serve every segment themselves.
   */
  private placeSegments(only?: CollectionMeta[]): Promise<void> {
    // A load and the sweep must not place the same segment on two nodes from two reads of the key.
    const next = this.placing.then(() => withDeadline(SWEEP_DEADLINE_MS, "placing segments", () => this.place(only)));
    this.placing = next.catch(() => undefined);
    return next;
  }

  private async place(only?: CollectionMeta[]): Promise<void> {
    const nodes = (await liveNodes(this.ctx.sessions, "query")).map((n) => n.node_id);
    const collections = only ?? [...(await this.ctx.meta.list<CollectionMeta>(MetaKey.collectionsPrefix)).values()].map((v) => v.value);
    const placed = await this.ctx.meta.list<Placement>(MetaKey.placementPrefix);
    const rows = new Map<string, number>(nodes.map((n) => [n, 0]));
    for (const { value } of placed.values()) for (const e of Object.values(value.segments)) if (rows.has(e.node)) rows.set(e.node, rows.get(e.node)! + e.rows);
    for (const c of collections) {
      const loaded = !c.released;
      const cur = placed.get(MetaKey.placement(c.id))?.value;
      const wanted: { key: string; rows: number; builds: Record<string, number> }[] = [];
      if (loaded) {
        for (const { value: state } of (await this.ctx.meta.list<ShardSegments>(MetaKey.segmentsOf(c.id))).values()) {
          for (const ref of state.segments) {
            const key = placementKey(state.shard, ref.segment_id);
            // A placed segment waiting for a new index build stays where it is, served with what it has.
            const builds = indexBuilds(c, ref) ?? cur?.segments[key]?.builds;
            if (builds) wanted.push({ key, rows: ref.row_count - (ref.deleted_count ?? 0), builds });
          }
        }
      }
      const next: Placement = { collection_id: c.id, loaded, segments: {} };
      for (const w of wanted) {
        const old = cur?.segments[w.key];
        if (old && rows.has(old.node)) {
          next.segments[w.key] = sameBuilds(old.builds, w.builds) ? old : { ...old, state: "loading", builds: w.builds };
          continue;
        }
        if (nodes.length === 0) continue;
        const node = [...rows.entries()].sort((a, b) => a[1] - b[1])[0][0];
        rows.set(node, rows.get(node)! + w.rows);
        next.segments[w.key] = { node, state: "loading", rows: w.rows, builds: w.builds };
      }
      if (cur && JSON.stringify(cur) === JSON.stringify(next)) continue;
      const moved = Object.entries(next.segments).filter(([k, e]) => cur?.segments[k]?.node !== e.node).length;
      if (moved > 0 || !loaded) this.ctx.log.info("placed segments", { collection: c.name, loaded, placed: Object.keys(next.segments).length, moved });
      // A query node may have marked an entry loaded since the list: keep its word when the entry is unchanged.
      await this.ctx.meta.casUpdate<Placement>(MetaKey.placement(c.id), (now) => {
        const merged: Placement = { ...next, segments: { ...next.segments } };
        for (const [k, e] of Object.entries(merged.segments)) {
          const theirs = now?.segments[k];
          if (theirs && theirs.node === e.node && sameBuilds(theirs.builds, e.builds)) merged.segments[k] = theirs;
        }
        return now && JSON.stringify(now) === JSON.stringify(merged) ? undefined : merged;
      });
    }
    if (only) return;
    const live = new Set(collections.map((c) => c.id));
    for (const [key, { value, revision }] of placed) if (!live.has(value.collection_id)) await this.ctx.meta.delete(key, revision).catch(() => undefined);
  }

  /**
   * Queues a build task for every flushed segment that lacks the current
   * build of an index on its field. Tasks carry a msgID, so queueing one
   * again within the duplicate window is free; this leader also skips those
   * it queued within the window.
   */
  private async queueIndexBuilds(only?: CollectionMeta[]): Promise<void> {
    const collections = (only ?? [...(await this.ctx.meta.list<CollectionMeta>(MetaKey.collectionsPrefix)).values()].map((v) => v.value)).filter((c) =>
      Object.values(c.indexes ?? {}).some(needsBuild),
    );
    const now = Date.now();
    for (const [id, at] of this.queued) if (now - at > TASK_DUPLICATE_WINDOW_MS) this.queued.delete(id);
    for (const c of collections) {
      const keys = await this.ctx.meta.list<ShardSegments>(MetaKey.segmentsOf(c.id));
      for (const { value: state } of keys.values()) {
        for (const seg of state.segments) {
          for (const ix of Object.values(c.indexes ?? {})) {
            if (!needsBuild(ix) || seg.indexes?.[ix.field_name]?.build === ix.build) continue;
            const task: BuildIndexTask = { kind: "build_index", collection_id: c.id, shard: state.shard, segment_id: seg.segment_id, field_name: ix.field_name, index: ix };
            const msgId = taskMsgId(task);
            if (this.queued.has(msgId)) continue;
            await publishTask(this.ctx.js, this.ctx.names, task, msgId);
            this.queued.set(msgId, now);
          }
        }
      }
    }
  }

  private async assertCollection(name: string): Promise<void> {
    if (!(await this.ctx.meta.get(MetaKey.collection(name)))) throw new VecbusError("COLLECTION_NOT_FOUND", `collection "${name}" does not exist`);
  }

  /** Collections and aliases share one namespace, as in Milvus. */
  private async assertNameFree(name: string): Promise<void> {
    if (await this.ctx.meta.get(MetaKey.collection(name))) {
      throw new VecbusError("COLLECTION_ALREADY_EXISTS", `collection "${name}" already exists; drop it first or pick another name`);
    }
    if (await this.ctx.meta.get(MetaKey.alias(name))) {
      throw new VecbusError("COLLECTION_ALREADY_EXISTS", `"${name}" is an alias; drop the alias first or pick another name`);
    }
  }

  private async aliasesOf(collection: string): Promise<string[]> {
    const all = await this.ctx.meta.list<AliasMeta>(MetaKey.aliasesPrefix);
    return [...all.values()].filter((a) => a.value.collection_name === collection).map((a) => a.value.alias);
  }

  private async onAllocateIds(m: Extract<CoordinatorMsg, { kind: "allocate_ids" }>): Promise<{ start: number }> {
    if (!Number.isInteger(m.count) || m.count < 1) throw new VecbusError("INVALID_ARGUMENT", "allocate_ids needs a positive count");
    return this.onAllocate("row_id", m.count);
  }

  private async onAllocate(counter: string, count: number): Promise<{ start: number }> {
    let start = 0;
    await this.ctx.meta.casUpdate<{ next: number }>(MetaKey.counter(counter), (cur) => {
      start = cur?.next ?? 1;
      return { next: start + count };
    });
    return { start };
  }

  private async deleteStreams(meta: CollectionMeta): Promise<void> {
    for (let s = 0; s < meta.num_shards; s++) await deleteWalStream(this.ctx.jsm, this.ctx.names.walStream(meta.id, s));
  }

  /**
   * Keys first: an object whose key is gone is never read again, so a crash
   * between the two leaves only garbage. Objects no key named (an interrupted
   * flush's) go too.
   */
  private async deleteSegments(collectionId: number): Promise<void> {
    for (const key of (await this.ctx.meta.list(MetaKey.segmentsOf(collectionId))).keys()) await this.ctx.meta.delete(key);
    this.blobs ??= await BlobStore.open(this.ctx.nc, this.ctx.names.objectBucket());
    for (const o of await this.blobs.list()) if (ObjectName.ofCollection(collectionId, o.name)) await this.blobs.delete(o.name);
  }

  /**
   * Gives every shard without a live owner to the least-loaded live streaming
   * node, bumping the shard epoch so the previous owner knows it was replaced.
   */
  private async assignShards(only?: CollectionMeta): Promise<void> {
    const nodes = (await liveNodes(this.ctx.sessions, "streaming")).map((n) => n.node_id);
    const collections = only ? [only] : [...(await this.ctx.meta.list<CollectionMeta>(MetaKey.collectionsPrefix)).values()].map((v) => v.value);
    const assignments = await this.ctx.meta.list<ShardAssignment>(MetaKey.shardsPrefix);
    const load = new Map<string, number>(nodes.map((n) => [n, 0]));
    for (const { value } of assignments.values()) if (load.has(value.owner)) load.set(value.owner, load.get(value.owner)! + 1);
    for (const c of collections) {
      for (let s = 0; s < c.num_shards; s++) {
        const cur = assignments.get(MetaKey.shard(c.id, s));
        if (cur && load.has(cur.value.owner)) continue;
        if (nodes.length === 0) {
          throw new VecbusError("UNAVAILABLE", "no streaming node is running; start one with `vecbus start streaming`");
        }
        const owner = [...load.entries()].sort((a, b) => a[1] - b[1])[0][0];
        const next: ShardAssignment = { collection_id: c.id, collection_name: c.name, shard: s, owner, epoch: (cur?.value.epoch ?? 0) + 1 };
        try {
          if (cur) await this.ctx.meta.update(MetaKey.shard(c.id, s), next, cur.revision);
          else await this.ctx.meta.create(MetaKey.shard(c.id, s), next);
        } catch (e) {
          // Another sweep (or a create racing a sweep) assigned it first: its choice stands.
          if (e instanceof VecbusError && e.code === "CONFLICT") continue;
          throw e;
        }
        load.set(owner, load.get(owner)! + 1);
        this.ctx.log.info("assigned shard", { collection: c.name, shard: s, owner, epoch: next.epoch, previous: cur?.value.owner });
      }
    }
  }

  private async waitShardsReady(meta: CollectionMeta): Promise<void> {
    const deadline = Date.now() + SHARD_READY_TIMEOUT_MS;
    for (let s = 0; s < meta.num_shards; s++) {
      await retrying(() => this.ctx.refs.shard(meta.id, s).ask({ kind: "stats" }, 1_000), {
        ms: Math.max(0, deadline - Date.now()),
        retriable: () => true,
        pauseMs: 50,
        giveUp: () => new VecbusError("UNAVAILABLE", `shard ${s} of "${meta.name}" did not come up within ${SHARD_READY_TIMEOUT_MS} ms; check \`vecbus status\``),
      });
    }
  }

  /**
   * Shard keys (and their WAL streams) whose collection is gone: left by a drop
   * that crashed half-way. Assignments are read before collections, so a
   * collection created in between is seen and its new shards are kept.
   */
  private async collectOrphanShards(): Promise<void> {
    const assignments = await this.ctx.meta.list<ShardAssignment>(MetaKey.shardsPrefix);
    const live = await this.liveCollectionIds();
    for (const [key, { value: a, revision }] of assignments) {
      if (live.has(a.collection_id)) continue;
      await this.ctx.meta.delete(key, revision).catch(() => undefined);
      await deleteWalStream(this.ctx.jsm, this.ctx.names.walStream(a.collection_id, a.shard));
      this.ctx.log.info("removed an orphaned shard", { collection: a.collection_name, shard: a.shard });
    }
  }

  /**
   * Segments whose collection is gone: left by a drop that crashed half-way,
   * or claimed by a shard that opened while its collection was being dropped.
   * Keys are read before collections, as for shards.
   */
  private async collectOrphanSegments(): Promise<void> {
    const keys = await this.ctx.meta.list<ShardSegments>(MetaKey.segmentsPrefix);
    const live = await this.liveCollectionIds();
    const orphaned = new Set([...keys.values()].map((k) => k.value.collection_id).filter((id) => !live.has(id)));
    for (const id of orphaned) {
      await this.deleteSegments(id);
      this.ctx.log.info("removed orphaned segments", { collection_id: id });
    }
  }

  private async liveCollectionIds(): Promise<Set<number>> {
    return new Set([...(await this.ctx.meta.list<CollectionMeta>(MetaKey.collectionsPrefix)).values()].map((c) => c.value.id));
  }

  private async sweep(): Promise<void> {
    if (this.sweeping || !this.lease.isLeader) return;
    this.sweeping = true;
    try {
      await withDeadline(SWEEP_DEADLINE_MS, "the sweep", async () => {
        await this.collectOrphanShards();
        await this.collectOrphanSegments();
        await this.assignShards();
        await this.queueIndexBuilds();
        await this.placeSegments();
        if (this.opts.autoCompaction) {
          for (const { value } of (await this.ctx.meta.list<CollectionMeta>(MetaKey.collectionsPrefix)).values()) await this.queueCompactions(value, false);
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

/** The index builds a segment is served with, by field; undefined while one is not built yet. */
function indexBuilds(c: CollectionMeta, ref: SegmentRef): Record<string, number> | undefined {
  const builds: Record<string, number> = {};
  for (const ix of Object.values(c.indexes ?? {})) {
    if (!needsBuild(ix)) continue;
    if (ref.indexes?.[ix.field_name]?.build !== ix.build) return undefined;
    builds[ix.field_name] = ix.build;
  }
  return builds;
}

function withDeadline<T>(ms: number, what: string, run: () => Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new VecbusError("TIMEOUT", `${what} took longer than ${ms} ms`)), ms);
  });
  return Promise.race([run(), late]).finally(() => clearTimeout(timer));
}
