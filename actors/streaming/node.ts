// Streaming node: owns the shards the coordinator assigns to it. It watches
// the shard keys in meta and opens a shard (WAL replay, then serving) when a
// key names it as owner, and closes it when the key names someone else or is
// deleted. Shard transitions run one at a time, in the order the keys changed.
// A shard that finds a newer owner in its WAL has the node read its key again
// at once, in case the watch is behind.
//
// Takes: ShardMsg on <prefix>.int.shard.<cid>.<shard>.<epoch> (per open shard, see shard.ts).
// Reads: shards.>, collections.<name> (meta bucket).
// Writes: its WAL streams, segments.<cid>.<shard> (meta bucket), segment blobs and delete logs (object store).
import type { CollectionMeta } from "../../protocol/collection.js";
import type { ShardAssignment } from "../../protocol/messages.js";
import { MetaKey } from "../../protocol/subjects.js";
import { actorSession, type ActorContext } from "../context.js";
import type { Session } from "../../runtime/session.js";
import { BlobStore } from "../../storage/object-store.js";
import { removeOrphanedScratchDirs } from "../../storage/scratch-dir.js";
import { SEAL_DEFAULTS, Shard, SPILL_SCRATCH, type SealOptions } from "./shard.js";
import { TimestampPool } from "./ts-pool.js";

const OPEN_RETRY_MS = 1_000;

export class StreamingNode {
  private readonly session: Session;
  private readonly clock: TimestampPool;
  private readonly shards = new Map<string, Shard>();
  private transitions: Promise<void> = Promise.resolve();
  private stopped = false;
  private watcher: { stop(): void } | undefined;
  private blobs: BlobStore | undefined;

  constructor(
    private readonly ctx: ActorContext,
    readonly nodeId: string,
    private readonly seal: SealOptions = SEAL_DEFAULTS,
  ) {
    this.session = actorSession(ctx, "streaming", nodeId, () => {
      const shards = [...this.shards.values()];
      return { in_flight: shards.reduce((n, s) => n + s.inFlight, 0), shards: shards.length, rows: shards.reduce((n, s) => n + s.rowCount, 0) };
    });
    this.clock = new TimestampPool(ctx);
  }

  /** Resolves once every shard assigned to this node at start-up is open and serving. */
  async start(): Promise<void> {
    await this.session.start();
    const orphans = await removeOrphanedScratchDirs(SPILL_SCRATCH);
    if (orphans.length > 0) this.ctx.log.info("removed the spill directories of stopped processes", { dirs: orphans });
    this.blobs = await BlobStore.open(this.ctx.js, this.ctx.names.objectBucket());
    this.watcher = await this.ctx.meta.watch<ShardAssignment>(MetaKey.shardsPrefix, (key, value) => this.onAssignment(key, value));
    await this.transitions;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.watcher?.stop();
    await this.transitions;
    await Promise.all([...this.shards.values()].map((s) => s.close()));
    this.shards.clear();
    await this.session.stop();
  }

  get openShards(): number {
    return this.shards.size;
  }

  private onAssignment(key: string, a: ShardAssignment | null): void {
    this.transitions = this.transitions.then(() => this.transition(key, a)).catch((e) => {
      // A shard this node owns but failed to open would stay unserved: its session is alive, so
      // the coordinator never moves it. Try again with the key as it is then.
      this.ctx.log.error("shard transition failed; retrying", { key, error: String(e) });
      if (!this.stopped) setTimeout(() => void this.reread(key), OPEN_RETRY_MS).unref();
    });
  }

  private async reread(key: string): Promise<void> {
    if (this.stopped) return;
    const cur = await this.ctx.meta.get<ShardAssignment>(key).catch(() => undefined);
    if (cur === undefined) setTimeout(() => void this.reread(key), OPEN_RETRY_MS).unref();
    else this.onAssignment(key, cur?.value ?? null);
  }

  private async transition(key: string, a: ShardAssignment | null): Promise<void> {
    const open = this.shards.get(key);
    const mine = a !== null && a.owner === this.nodeId;
    if (open && (!mine || open.epoch !== a!.epoch)) {
      this.shards.delete(key);
      await open.close();
      this.ctx.log.info("closed shard", { key, newOwner: a?.owner ?? null });
    }
    if (!mine || this.shards.has(key)) return;
    const meta = await this.ctx.meta.get<CollectionMeta>(MetaKey.collection(a.collection_name));
    if (!meta || meta.value.id !== a.collection_id) return;
    const deps = { clock: this.clock, blobs: this.blobs!, seal: this.seal, onFenced: () => void this.reread(key) };
    this.shards.set(key, await Shard.open(this.ctx, meta.value, a.shard, a.epoch, deps));
  }
}
