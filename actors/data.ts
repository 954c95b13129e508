// Data node: works the tasks queue. Every data node pulls from one durable
// consumer on the <prefix>_TASKS work-queue stream, one task at a time.
//
// build_index: download the segment blob, build the field's usearch index in
// a worker thread, upload it as idx/<cid>/<shard>/<segment_id>/<field>-<build>,
// then record it by CAS in the segment's entry of segments.<cid>.<shard> —
// only if the segment is still there — and ack only after that commit. A
// task that runs twice finds the record (or writes the same name and the
// same kind of record again); a task for a segment or an index build that no
// longer exists is acked and dropped. A node that dies mid-task never acks:
// the stream redelivers the task after the consumer's ack_wait (a live node
// keeps extending it while it works).
//
// Takes: Task messages on <prefix>.task.> (stream <prefix>_TASKS, consumer <prefix>-data).
// Reads: collections.> , segments.<cid>.<shard> (meta bucket), segment blobs.
// Writes: index objects (object store), the segments' `indexes` records (meta bucket).
import type { ConsumerMessages, JsMsg } from "@nats-io/jetstream";
import type { CollectionMeta } from "../protocol/collection.js";
import { VecbusError } from "../protocol/errors.js";
import { usearchConfig, type BuildIndexTask, type SegmentIndexRef, type Task } from "../protocol/indexes.js";
import type { ShardSegments } from "../protocol/messages.js";
import { MetaKey, ObjectName } from "../protocol/subjects.js";
import { decode } from "../runtime/codec.js";
import type { ActorContext } from "../runtime/context.js";
import { Session } from "../runtime/session.js";
import { buildIndex, defaultBuildThreads } from "../storage/index-build.js";
import { BlobStore } from "../storage/object-store.js";
import { decodeSegment } from "../storage/segment-format.js";
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

type Outcome = "committed" | "done" | "gone" | "obsolete" | "stopped";

export class DataNode {
  private readonly session: Session;
  private readonly opts: DataNodeOptions;
  private blobs: BlobStore | undefined;
  private messages: ConsumerMessages | undefined;
  private loop: Promise<void> | undefined;
  private stopping = false;
  /** Tasks this node finished, by outcome: for tests and logs. */
  readonly finished: { task: Task; outcome: Outcome }[] = [];

  constructor(
    private readonly ctx: ActorContext,
    readonly nodeId: string,
    opts: Partial<DataNodeOptions> = {},
  ) {
    this.session = new Session(ctx.sessions, "data", nodeId, ctx.log);
    this.opts = { ...DATA_DEFAULTS, ...opts };
  }

  async start(): Promise<void> {
    await this.session.start();
    this.blobs = await BlobStore.open(this.ctx.nc, this.ctx.names.objectBucket());
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
      task = decode(m.data) as Task;
    } catch (e) {
      this.ctx.log.warn("dropped a task that is not msgpack", { subject: m.subject, error: String(e) });
      m.term();
      return;
    }
    const heartbeat = setInterval(() => {
      if (!this.stopping) m.working();
    }, Math.max(500, this.opts.ackWaitMs / 3));
    try {
      const outcome = await this.run(task);
      if (outcome === "stopped") return;
      await m.ackAck().catch(() => undefined);
      this.finished.push({ task, outcome });
      this.ctx.log.info("task done", { kind: task.kind, collection_id: task.collection_id, shard: task.shard, segment_id: task.segment_id, outcome });
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
      clearInterval(heartbeat);
    }
  }

  private run(task: Task): Promise<Outcome> {
    if (task.kind === "build_index") return this.buildIndex(task);
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
    const blob = await this.blobs!.get(ref.object);
    // The segment's objects go only after its key entry: it was dropped or merged since the read above.
    if (!blob) return "gone";
    const column = decodeSegment(blob).columns.vectors.get(field);
    if (!column) throw new VecbusError("INTERNAL", `segment ${ref.object} has no vector column "${field}"`);
    const built = await buildIndex(column.data, column.dim, usearchConfig(ix), this.opts.buildThreads);
    if (this.stopping) return "stopped";
    const object = ObjectName.index(cid, shard, segment_id, field, ix.build);
    await this.blobs!.put(object, built.bytes, { index_type: ix.index_type, rows: String(built.rows) });
    this.ctx.log.info("built index", { object, rows: built.rows, ms: built.ms, bytes: built.bytes.byteLength, rowsPerS: Math.round((built.rows * 1000) / Math.max(built.ms, 1)) });
    if (this.opts.beforeCommit) await this.opts.beforeCommit(task);
    if (this.stopping) return "stopped";
    const record: SegmentIndexRef = { object, index_type: ix.index_type, params: ix.params, build: ix.build, bytes: built.bytes.byteLength };
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
    if (outcome === "gone") await this.blobs!.delete(object);
    return outcome;
  }
}
