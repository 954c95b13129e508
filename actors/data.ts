// Data node: works the tasks queue. Every data node pulls from one durable
// consumer on the <prefix>_TASKS work-queue stream, one task at a time.
//
// build_index: download the segment blob to a local file, build the field's
// usearch index in a worker thread that reads the vectors from that file,
// upload it as idx/<cid>/<shard>/<segment_id>/<field>-<build>,
// then record it by CAS in the segment's entry of segments.<cid>.<shard> —
// only if the segment is still there — and ack only after that commit. A
// task that runs twice finds the record (or writes the same name and the
// same kind of record again); a task for a segment or an index build that no
// longer exists is acked and dropped. A node that dies mid-task never acks:
// the stream redelivers the task after the consumer's ack_wait (a live node
// keeps extending it while it works).
//
// compact: see compact() below.
//
// Takes: Task messages on <prefix>.task.> (stream <prefix>_TASKS, consumer <prefix>-data).
// Reads: collections.> , segments.<cid>.<shard> (meta bucket), segment blobs.
// Writes: index objects (object store), the segments' `indexes` records (meta bucket).
// Local disk: a scratch directory under TMPDIR per task (storage/scratch-dir.ts).
import fs from "node:fs";
import path from "node:path";
import type { ConsumerMessages, JsMsg } from "@nats-io/jetstream";
import type { CollectionMeta } from "../protocol/collection.js";
import { VecbusError } from "../protocol/errors.js";
import { needsBuild, taskMsgId, usearchConfig, type BuildIndexTask, type CompactTask, type IndexMeta, type SegmentIndexRef, type Task } from "../protocol/indexes.js";
import type { SegmentRef, ShardSegments } from "../protocol/messages.js";
import type { PrimaryKey } from "../protocol/rows.js";
import { MetaKey, ObjectName } from "../protocol/subjects.js";
import { decode } from "../runtime/codec.js";
import { unstamped } from "../protocol/data-format.js";
import { task as checkTask } from "../protocol/message-checks.js";
import { actorSession, shardOwner, type ActorContext } from "./context.js";
import type { Session } from "../runtime/session.js";
import { buildIndex, defaultBuildThreads, type BuildRows } from "../engine/index-build.js";
import { BlobStore } from "../storage/object-store.js";
import { decodeSegment, encodeSegmentParts, segmentFileLayout } from "../engine/segment-format.js";
import { mergeColumns } from "../engine/segment-merge.js";
import { removeOrphanedScratchDirs, withScratchDir } from "../storage/scratch-dir.js";
import { ensureTaskConsumer, ensureTaskStream } from "../storage/tasks.js";

export interface DataNodeOptions {
  /** How long a task stays with a node that stopped answering before the stream redelivers it. */
  ackWaitMs: number;
  /** usearch add() threads in the build worker. */
  buildThreads: number;
  /** A failing task is retried this many times (with a delay), then dropped. */
  maxAttempts: number;
  /** Tests: runs after the upload, before the commit (to stop a node mid-task). */
  beforeCommit?: (task: Task) => Promise<void>;
}

export const DATA_DEFAULTS: DataNodeOptions = { ackWaitMs: 60_000, buildThreads: defaultBuildThreads(), maxAttempts: 10, beforeCommit: undefined };

const RETRY_DELAY_MS = 5_000;
/** Builds and compactions work in local directories of this kind (storage/scratch-dir.ts). */
const SCRATCH = "build";
/** The shard owner downloads the compacted segment before it swaps it in. */
const SWAP_TIMEOUT_MS = 60_000;

type Outcome = "committed" | "done" | "gone" | "obsolete" | "stopped";

export class DataNode {
  private readonly session: Session;
  private readonly opts: DataNodeOptions;
  private blobs: BlobStore | undefined;
  private messages: ConsumerMessages | undefined;
  private loop: Promise<void> | undefined;
  private stopping = false;
  /** Whether a task is being run now. */
  private working = false;
  /** Tasks this node finished, by outcome: for tests and logs. */
  readonly finished: { task: Task; outcome: Outcome }[] = [];

  constructor(
    private readonly ctx: ActorContext,
    readonly nodeId: string,
    opts: Partial<DataNodeOptions> = {},
  ) {
    this.session = actorSession(ctx, "data", nodeId, () => ({ in_flight: this.working ? 1 : 0 }));
    this.opts = { ...DATA_DEFAULTS, ...opts };
  }

  async start(): Promise<void> {
    await this.session.start();
    const orphans = await removeOrphanedScratchDirs(SCRATCH);
    if (orphans.length > 0) this.ctx.log.info("removed the build directories of stopped processes", { dirs: orphans });
    this.blobs = await BlobStore.open(this.ctx.js, this.ctx.names.objectBucket());
    await ensureTaskStream(this.ctx.jsm, this.ctx.names);
    await ensureTaskConsumer(this.ctx.jsm, this.ctx.names, this.opts.ackWaitMs);
    const consumer = await this.ctx.js.consumers.get(this.ctx.names.taskStream(), this.ctx.names.dataConsumer());
    this.messages = await consumer.consume({ max_messages: 1 });
    const messages = this.messages;
    this.loop = (async () => {
      for await (const m of messages) {
        if (this.stopping) break;
        await this.process(m);
      }
    })().catch((e) => this.ctx.log.warn("the task loop ended", { error: String(e) }));
  }

  /** Stops taking tasks. A task in flight is not acked: it is redelivered (to this node or another). */
  async stop(): Promise<void> {
    this.stopping = true;
    this.messages?.stop();
    await Promise.race([this.loop, new Promise((r) => setTimeout(r, 2_000).unref())]);
    await this.session.stop();
  }

  private async process(m: JsMsg): Promise<void> {
    let task: Task;
    try {
      task = checkTask(unstamped(decode(m.data), "task"), "task");
    } catch (e) {
      this.ctx.log.warn("dropped a malformed task", { subject: m.subject, error: String(e) });
      m.term();
      return;
    }
    const heartbeat = setInterval(() => {
      if (!this.stopping) m.working();
    }, Math.max(500, this.opts.ackWaitMs / 3));
    this.working = true;
    try {
      const outcome = await this.run(task);
      if (outcome === "stopped") return;
      await m.ackAck().catch(() => undefined);
      this.finished.push({ task, outcome });
      this.ctx.log.info("task done", { task: taskMsgId(task), outcome });
    } catch (e) {
      const attempt = m.info.deliveryCount;
      if (attempt >= this.opts.maxAttempts) {
        this.ctx.log.error("a task failed for good; it is dropped (the coordinator queues it again later)", { attempt, error: String(e) });
        m.term();
      } else {
        this.ctx.log.warn("a task failed; it will be retried", { attempt, error: String(e) });
        m.nak(RETRY_DELAY_MS);
      }
    } finally {
      this.working = false;
      clearInterval(heartbeat);
    }
  }

  private run(task: Task): Promise<Outcome> {
    if (task.kind === "build_index") return this.buildIndex(task);
    if (task.kind === "compact") return this.compact(task);
    throw new VecbusError("INTERNAL", `unknown task kind ${JSON.stringify((task as { kind: unknown }).kind)}`);
  }

  private async collectionById(id: number): Promise<CollectionMeta | undefined> {
    const all = await this.ctx.meta.list<CollectionMeta>(MetaKey.collectionsPrefix);
    return [...all.values()].map((v) => v.value).find((c) => c.id === id);
  }

  private async buildIndex(task: BuildIndexTask): Promise<Outcome> {
    const { collection_id: cid, shard, segment_id, field_name: field } = task;
    const meta = await this.collectionById(cid);
    const ix = meta?.indexes?.[field];
    if (!ix || ix.build !== task.index.build) return "obsolete";
    const key = MetaKey.segments(cid, shard);
    const ref = (await this.ctx.meta.get<ShardSegments>(key))?.value.segments.find((s) => s.segment_id === segment_id);
    if (!ref) return "gone";
    if (ref.indexes?.[field]?.build === ix.build) return "done";
    const record = await withScratchDir(SCRATCH, async (dir) => {
      const file = path.join(dir, "segment");
      // The segment's objects go only after its key entry: it was dropped or merged since the read above.
      if (!(await this.blobs!.getToFile(ref.object, file))) return undefined;
      const handle = await fs.promises.open(file);
      let layout: ReturnType<typeof segmentFileLayout>;
      try {
        layout = segmentFileLayout(handle.fd);
      } finally {
        await handle.close();
      }
      const column = layout.onDisk.get(field);
      if (!column) throw new VecbusError("INTERNAL", `segment ${ref.object} has no vector column "${field}"`);
      return this.buildAndUpload(cid, shard, segment_id, ix, { file, offset: column.offset, rows: layout.manifest.row_count }, column.dim);
    });
    if (!record) return "gone";
    if (this.opts.beforeCommit) await this.opts.beforeCommit(task);
    if (this.stopping) return "stopped";
    let outcome: Outcome = "gone";
    await this.ctx.meta.casUpdate<ShardSegments>(key, (cur) => {
      outcome = "gone";
      const i = cur ? cur.segments.findIndex((s) => s.segment_id === segment_id) : -1;
      if (!cur || i < 0) return undefined;
      if (cur.segments[i].indexes?.[field]?.build === ix.build) {
        outcome = "done";
        return undefined;
      }
      outcome = "committed";
      const segments = [...cur.segments];
      segments[i] = { ...segments[i], indexes: { ...(segments[i].indexes ?? {}), [field]: record } };
      return { ...cur, segments };
    });
    // The segment went while we built: what we uploaded is named by no one.
    if (outcome === "gone") await this.blobs!.delete(record.object);
    return outcome;
  }

  private async buildAndUpload(cid: number, shard: number, segmentId: number, ix: IndexMeta, rows: BuildRows, dim: number): Promise<SegmentIndexRef> {
    const object = ObjectName.index(cid, shard, segmentId, ix.field_name, ix.build);
    return withScratchDir(SCRATCH, async (dir) => {
      const file = path.join(dir, "index.usearch");
      const built = await buildIndex(rows, dim, usearchConfig(ix), file, this.opts.buildThreads);
      await this.blobs!.putFile(object, file, { index_type: ix.index_type, rows: String(built.rows) });
      this.ctx.log.info("built index", { object, rows: built.rows, ms: built.ms, bytes: built.bytes, rowsPerS: Math.round((built.rows * 1000) / Math.max(built.ms, 1)) });
      return { object, index_type: ix.index_type, params: ix.params, build: ix.build, bytes: built.bytes };
    });
  }

  /**
   * compact: merge the sources' live rows (their delete logs applied) into a
   * new segment, build its indexes, upload it all under the target's names,
   * then ask the shard owner to swap it in. Objects are written once: a
   * repeat run (after a lost reply, or a node that died) reuses what an
   * earlier run uploaded — the owner may already have swapped that version
   * in, and it must stay the one its keys describe. The owner refuses when a
   * source went meanwhile (another compaction, or all its rows deleted);
   * then what was uploaded is deleted, unless the target is committed.
   */
  private async compact(task: CompactTask): Promise<Outcome> {
    const { collection_id: cid, shard, sources, target } = task;
    const meta = await this.collectionById(cid);
    if (!meta) return "gone";
    const key = MetaKey.segments(cid, shard);
    const state = (await this.ctx.meta.get<ShardSegments>(key))?.value;
    if (state?.segments.some((s) => s.segment_id === target)) return "done";
    const refs = sources.map((id) => state?.segments.find((s) => s.segment_id === id));
    if (refs.some((r) => r === undefined)) {
      // An earlier run that died after uploading left its objects: no one else knows their names.
      await this.discardUpload(cid, shard, target, meta);
      return "obsolete";
    }
    const started = Date.now();
    const object = ObjectName.compactedSegment(cid, shard, target);
    const earlier = await this.blobs!.get(object);
    const { manifest, columns } = earlier ? decodeSegment(earlier) : await this.merge(cid, shard, target, refs as SegmentRef[], object);
    const indexes: Record<string, SegmentIndexRef> = {};
    for (const ix of Object.values(meta.indexes ?? {}).filter(needsBuild)) {
      const name = ObjectName.index(cid, shard, target, ix.field_name, ix.build);
      const vectors = columns.vectors.get(ix.field_name)!;
      const size = await this.blobs!.size(name);
      indexes[ix.field_name] =
        size === undefined
          ? await this.buildAndUpload(cid, shard, target, ix, vectors.toBlock(), vectors.dim)
          : { object: name, index_type: ix.index_type, params: ix.params, build: ix.build, bytes: size };
    }
    if (this.opts.beforeCommit) await this.opts.beforeCommit(task);
    if (this.stopping) return "stopped";
    const segment: SegmentRef = {
      segment_id: target,
      object,
      row_count: manifest.row_count,
      seq_from: manifest.seq_from,
      seq_to: manifest.seq_to,
      pk_min: manifest.pk.min,
      pk_max: manifest.pk.max,
      delete_logs: [],
      state: "flushed",
      ...(Object.keys(indexes).length > 0 ? { indexes } : {}),
    };
    const reply = await (await shardOwner(this.ctx, cid, shard)).ask({ kind: "swap_segments", sources, segment }, SWAP_TIMEOUT_MS);
    this.ctx.log.info("compacted segments", { collection: meta.name, shard, sources, target, rows: manifest.row_count, swapped: reply.swapped, ms: Date.now() - started });
    if (reply.swapped) return "committed";
    if ((await this.ctx.meta.get<ShardSegments>(key))?.value.segments.some((s) => s.segment_id === target)) return "done";
    await this.discardUpload(cid, shard, target, meta);
    return "obsolete";
  }

  /** Deletes what a compaction into `target` uploads (the merged segment and its indexes), where it exists. */
  private async discardUpload(cid: number, shard: number, target: number, meta: CollectionMeta): Promise<void> {
    const indexes = Object.values(meta.indexes ?? {}).filter(needsBuild);
    const names = [ObjectName.compactedSegment(cid, shard, target), ...indexes.map((ix) => ObjectName.index(cid, shard, target, ix.field_name, ix.build))];
    for (const name of names) await this.blobs!.delete(name);
  }

  /** The sources' live rows as one segment, uploaded as `object`. */
  private async merge(cid: number, shard: number, target: number, refs: SegmentRef[], object: string): Promise<ReturnType<typeof decodeSegment>> {
    const parts = await Promise.all(
      refs.map(async (ref) => {
        const blob = await this.blobs!.get(ref.object);
        if (!blob) throw new VecbusError("INTERNAL", `segment object ${ref.object} is missing`);
        const { columns } = decodeSegment(blob);
        const dead = new Set<PrimaryKey>();
        for (const name of ref.delete_logs) {
          const log = await this.blobs!.get(name);
          if (!log) throw new VecbusError("INTERNAL", `delete log ${name} is missing`);
          for (const pk of decode(log) as PrimaryKey[]) dead.add(pk);
        }
        return { columns, isDead: (slot: number) => dead.has(columns.pk.values[slot]) };
      }),
    );
    const columns = mergeColumns(parts);
    const head = { segment_id: target, collection_id: cid, shard, seq_from: Math.min(...refs.map((r) => r.seq_from)), seq_to: Math.max(...refs.map((r) => r.seq_to)) };
    const { parts: blob, manifest } = encodeSegmentParts(head, columns);
    await this.blobs!.put(object, blob);
    return { manifest, columns };
  }
}

