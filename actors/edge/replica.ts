// Edge replica: keeps a read-only copy of every shard of every collection
// (or of the collections named: `--collections`, by name, not alias) at one edge site (a NATS leaf node of the hub), so the site's proxies answer
// Bounded and Eventually reads there, also while the link to the hub is
// down (from the copy as it was when the link went). Each shard is a
// ShardFollower built from the committed segments and the WAL only; the
// owners do not know the replica exists.
//
// Takes: reads on <prefix>.int.edge.<site>.<cid>.<shard> (ShardFollower).
// Reads: collections.> and segments.* (meta bucket), WAL streams, segment
// objects; over the leaf link, through the hub's JetStream domain.
import os from "node:os";
import path from "node:path";
import type { CollectionMeta } from "../../protocol/collection.js";
import { MetaKey } from "../../protocol/subjects.js";
import type { Session } from "../../runtime/session.js";
import { FileCache } from "../../storage/file-cache.js";
import { BlobStore } from "../../storage/object-store.js";
import { actorSession, type ActorContext } from "../context.js";
import { ShardFollower } from "./follower.js";

/**
 * A segment or index read from the hub that gets no chunk for this long
 * fails, and its generation is built again: chunks lost on the leaf link left
 * a read waiting for ever, and every later generation of its shard behind it
 * (seen: a site never opened the indexes of a shard after a blip of its link).
 */
const OBJECT_CHUNK_IDLE_MS = 30_000;

export interface EdgeReplicaOptions {
  /** The site's name: its proxies ask the replicas of their own site. */
  site: string;
  /** The collections kept, by name (absent: every one); the site's proxies send reads of others to the hub. */
  collections?: readonly string[];
  /** Where the HNSW index files of the segments kept are downloaded (default: under the OS temp dir). */
  cacheDir?: string;
}

export class EdgeReplica {
  private readonly session: Session;
  private blobs: BlobStore | undefined;
  private files: FileCache | undefined;
  private watcher: { stop(): void } | undefined;
  /** Followers by `<cid>/<shard>`. */
  private readonly followers = new Map<string, ShardFollower>();
  /** Collection changes are handled one at a time, in order. */
  private changes: Promise<void> = Promise.resolve();

  constructor(
    private readonly ctx: ActorContext,
    readonly nodeId: string,
    private readonly opts: EdgeReplicaOptions,
  ) {
    this.session = actorSession(ctx, "edge", nodeId, () => {
      const all = [...this.followers.values()];
      const lags = all.map((f) => f.lagMs).filter((ms) => ms !== undefined);
      return {
        in_flight: all.reduce((n, f) => n + f.inFlight, 0),
        shards: all.length,
        segments: all.reduce((n, f) => n + f.segmentCount, 0),
        indexes: all.reduce((n, f) => n + f.indexCount, 0),
        rows: all.reduce((n, f) => n + f.rowCount, 0),
        ...(lags.length > 0 && { lag_ms: Math.max(...lags) }),
      };
    });
  }

  async start(): Promise<void> {
    this.blobs = await BlobStore.open(this.ctx.js, this.ctx.names.objectBucket(), { chunkIdleMs: OBJECT_CHUNK_IDLE_MS });
    this.files = new FileCache(this.blobs, this.opts.cacheDir ?? path.join(os.tmpdir(), `vecbus-edge-${this.nodeId}`));
    await this.files.open();
    this.watcher = await this.ctx.meta.watch<CollectionMeta>(MetaKey.collectionsPrefix, (key, meta) => this.onCollection(key, meta));
    await this.changes;
    await this.session.start();
  }

  async stop(): Promise<void> {
    this.watcher?.stop();
    await this.changes;
    await Promise.all([...this.followers.values()].map((f) => f.close()));
    this.followers.clear();
    await this.session.stop();
  }

  /** A new collection gets a follower per shard; a dropped (or replaced) one loses them. */
  private onCollection(key: string, meta: CollectionMeta | null): void {
    const name = key.slice(key.indexOf(".") + 1);
    if (this.opts.collections && !this.opts.collections.includes(name)) return;
    this.changes = this.changes
      .then(async () => {
        for (const [id, f] of this.followers) {
          if (f.meta.name !== name || f.meta.id === meta?.id) continue;
          await f.close();
          this.followers.delete(id);
        }
        if (!meta) return;
        for (let shard = 0; shard < meta.num_shards; shard++) {
          const id = `${meta.id}/${shard}`;
          const known = this.followers.get(id);
          if (known) {
            known.updateMeta(meta);
            continue;
          }
          const f = new ShardFollower(this.ctx, meta, shard, this.opts.site, this.blobs!, this.files!);
          await f.start();
          this.followers.set(id, f);
        }
      })
      .catch((e) => this.ctx.log.warn("edge replica: following a collection failed", { collection: meta?.name, error: String(e) }));
  }
}
