// What every proxy handler shares: collection lookup, the coordinator, and
// delivery to shard owners with retry across owner changes.
import type { Args } from "../../protocol/args.js";
import { checkName, type CollectionMeta } from "../../protocol/collection.js";
import { VecbusError } from "../../protocol/errors.js";
import type { CoordinatorMsg, CoordinatorReplies, ShardAssignment, ShardMsg, ShardReplies } from "../../protocol/messages.js";
import { MetaKey, SessionKey } from "../../protocol/subjects.js";
import type { ActorContext } from "../../runtime/context.js";
import { isUnavailable, request } from "../../runtime/rpc.js";

export interface ProxyOptions {
  /** How long a request waits for a shard that is between owners (restart, failover). */
  shardRetryMs: number;
  /** One attempt's timeout: longer than the session TTL, so an owner that died mid-request is known dead by then. */
  shardAttemptMs: number;
}

export class ProxyCore {
  private assignmentWatch: { stop(): void } | undefined;
  /** When each shard key last changed: a request that timed out before a change may go to the new owner. */
  private readonly shardChangedAt = new Map<string, number>();

  constructor(
    readonly ctx: ActorContext,
    private readonly opts: ProxyOptions,
  ) {}

  async start(): Promise<void> {
    this.assignmentWatch = await this.ctx.meta.watch<ShardAssignment>(MetaKey.shardsPrefix, (key) => this.shardChangedAt.set(key, Date.now()));
  }

  stop(): void {
    this.assignmentWatch?.stop();
  }

  async findCollection(args: Args): Promise<CollectionMeta | null> {
    const name = checkName("collection_name", args.collection_name);
    return (await this.ctx.meta.get<CollectionMeta>(MetaKey.collection(name)))?.value ?? null;
  }

  async collection(args: Args): Promise<CollectionMeta> {
    const meta = await this.findCollection(args);
    if (!meta) {
      throw new VecbusError("COLLECTION_NOT_FOUND", `collection "${String(args.collection_name)}" does not exist; list_collections shows the ones that do`);
    }
    return meta;
  }

  coordinator<K extends CoordinatorMsg["kind"]>(msg: Extract<CoordinatorMsg, { kind: K }>): Promise<CoordinatorReplies[K]> {
    return request<CoordinatorReplies[K]>(this.ctx.nc, this.ctx.names.coordinatorSubject(), msg);
  }

  allShards<K extends ShardMsg["kind"]>(meta: CollectionMeta, msg: Extract<ShardMsg, { kind: K }>): Promise<ShardReplies[K][]> {
    return Promise.all(Array.from({ length: meta.num_shards }, (_, s) => this.toShard(meta, s, msg)));
  }

  /**
   * Sends to a shard's owner, waiting out a shard that is between owners.
   * Every shard message is idempotent (writes replace rows by primary key and
   * carry ids fixed by the proxy), so a request that timed out because its
   * owner died may be sent again to the next owner. A timeout while the same
   * owner is alive is a real timeout and is not retried.
   */
  async toShard<K extends ShardMsg["kind"]>(meta: CollectionMeta, shard: number, msg: Extract<ShardMsg, { kind: K }>): Promise<ShardReplies[K]> {
    const deadline = Date.now() + this.opts.shardRetryMs;
    for (let attempt = 0; ; attempt++) {
      const sent = Date.now();
      try {
        return await request<ShardReplies[K]>(this.ctx.nc, this.ctx.names.shardSubject(meta.id, shard), msg, this.opts.shardAttemptMs);
      } catch (e) {
        const timedOut = e instanceof VecbusError && e.code === "TIMEOUT";
        if (!isUnavailable(e) && !(timedOut && (await this.ownerChanged(meta, shard, sent)))) throw e;
        const still = await this.ctx.meta.get<CollectionMeta>(MetaKey.collection(meta.name));
        if (!still || still.value.id !== meta.id) {
          throw new VecbusError("COLLECTION_NOT_FOUND", `collection "${meta.name}" was dropped`);
        }
        if (Date.now() > deadline) {
          throw new VecbusError("SHARD_NOT_READY", `shard ${shard} of "${meta.name}" has no serving owner after ${this.opts.shardRetryMs} ms; check \`vecbus status\``);
        }
        await new Promise((r) => setTimeout(r, Math.min(50 * 2 ** attempt, 500)));
      }
    }
  }

  private async ownerChanged(meta: CollectionMeta, shard: number, since: number): Promise<boolean> {
    const key = MetaKey.shard(meta.id, shard);
    if ((this.shardChangedAt.get(key) ?? 0) > since) return true;
    const a = await this.ctx.meta.get<ShardAssignment>(key);
    if (!a) return true;
    const session = await this.ctx.sessions.get(SessionKey.node("streaming", a.value.owner));
    return !session || session.operation !== "PUT";
  }
}
