// What every proxy handler shares: collection lookup, the coordinator, and
// delivery to shard owners with retry across owner changes.
import { optFilter, type Args } from "../../protocol/args.js";
import { checkConsistency, checkName, type CollectionMeta } from "../../protocol/collection.js";
import { VecbusError } from "../../protocol/errors.js";
import { isEdgeRead, type AliasMeta, type CoordinatorMsg, type CoordinatorReplies, type ReadScope, type ShardAssignment, type ShardMsg, type ShardReplies } from "../../protocol/messages.js";
import { parseFilter } from "../../protocol/filter/index.js";
import { prunePartitions, unknownPartition } from "../../protocol/partitions.js";
import { partitionKeyField } from "../../protocol/schema.js";
import { MetaKey, SessionKey } from "../../protocol/subjects.js";
import { checkGuaranteeAhead, composeTs } from "../../protocol/timestamp.js";
import { shardAssignment, type ActorContext } from "../context.js";
import { isUnavailable } from "../../runtime/rpc.js";
import { retrying } from "../../runtime/retry.js";
import { refuseWithPartitionKey } from "./ddl.js";
import { requireLoaded } from "./load.js";
import { MetaCache } from "./meta-cache.js";

export interface ProxyOptions {
  /** protocol/api.ts SHARD_RETRY_MS, shorter in tests. */
  shardRetryMs: number;
  /** protocol/api.ts SHARD_ATTEMPT_MS, shorter in tests. */
  shardAttemptMs: number;
  /** The edge site this proxy serves: its Bounded and Eventually reads go to the site's edge replicas first. */
  site?: string;
}

/** How stale a Bounded read may be, as Milvus's default. */
const BOUNDED_STALENESS_MS = 5_000;

function sessionTs(v: unknown): bigint {
  if (!((typeof v === "number" && Number.isInteger(v) && v >= 0) || (typeof v === "bigint" && v >= 0n))) {
    throw new VecbusError("INVALID_ARGUMENT", "guarantee_timestamp must be a write's `timestamp` as returned by insert, upsert or delete");
  }
  const ts = BigInt(v);
  checkGuaranteeAhead(ts, "guarantee_timestamp");
  return ts;
}

export class ProxyCore {
  private assignmentWatch: { stop(): void } | undefined;
  /** Each shard's assignment as the meta watch last delivered it: requests go to its owner's epoch. */
  private readonly assignments = new Map<string, ShardAssignment | null>();
  private readonly metaCache: MetaCache;

  constructor(
    readonly ctx: ActorContext,
    private readonly opts: ProxyOptions,
  ) {
    this.metaCache = new MetaCache(ctx.meta);
  }

  async start(): Promise<void> {
    this.assignmentWatch = await this.ctx.meta.watch<ShardAssignment>(MetaKey.shardsPrefix, (key, a) => this.assignments.set(key, a));
    await this.metaCache.start();
  }

  stop(): void {
    this.assignmentWatch?.stop();
    this.metaCache.stop();
  }

  /** A collection by its name or by one of its aliases. */
  async findCollection(args: Args): Promise<CollectionMeta | null> {
    const name = checkName("collection_name", args.collection_name);
    const direct = await this.metaCache.get<CollectionMeta>(MetaKey.collection(name));
    if (direct) return direct;
    const alias = await this.metaCache.get<AliasMeta>(MetaKey.alias(name));
    if (!alias) return null;
    return this.metaCache.get<CollectionMeta>(MetaKey.collection(alias.collection_name));
  }

  async collection(args: Args): Promise<CollectionMeta> {
    const meta = await this.findCollection(args);
    if (!meta) {
      throw new VecbusError("COLLECTION_NOT_FOUND", `collection "${String(args.collection_name)}" does not exist; list_collections shows the ones that do`);
    }
    return meta;
  }

  /**
   * The partitions and consistency guarantee of a read. Strong: a timestamp
   * from the oracle, so every write acknowledged before the read is seen.
   * Bounded: the clock minus the staleness bound. Session: the newest write
   * timestamp the client has seen (`guarantee_timestamp`). Eventually: none.
   */
  async readScope(meta: CollectionMeta, args: Args): Promise<ReadScope> {
    requireLoaded(meta);
    const scope: ReadScope = {};
    const names = args.partition_names;
    const key = partitionKeyField(meta.schema);
    if (key) {
      if (names !== undefined && names !== null) refuseWithPartitionKey(meta, "partition_names");
      const filter = optFilter(args);
      const pruned = filter === undefined ? undefined : prunePartitions(parseFilter(filter), key.name, meta.partitions.length);
      if (pruned) scope.partition_names = [...pruned];
    } else if (names !== undefined && names !== null) {
      if (!Array.isArray(names) || names.some((n) => typeof n !== "string")) {
        throw new VecbusError("INVALID_ARGUMENT", "partition_names must be a list of partition names");
      }
      for (const n of names) if (!meta.partitions.includes(n)) throw unknownPartition(meta.name, n);
      if (names.length > 0) scope.partition_names = names;
    }
    // Without a restriction a read covers the partitions that exist: rows of a dropped partition stay hidden.
    scope.partition_names ??= meta.partitions;
    const level = checkConsistency(args.consistency_level, meta.consistency_level);
    scope.consistency_level = level;
    if (level === "Strong") scope.guarantee_ts = (await this.coordinator({ kind: "allocate_ts", count: 1 })).ts;
    else if (level === "Bounded") scope.guarantee_ts = composeTs(Date.now() - BOUNDED_STALENESS_MS, 0);
    else if (level === "Session" && args.guarantee_timestamp != null) scope.guarantee_ts = sessionTs(args.guarantee_timestamp);
    return scope;
  }

  coordinator<K extends CoordinatorMsg["kind"]>(msg: Extract<CoordinatorMsg, { kind: K }>): Promise<CoordinatorReplies[K]> {
    return this.metaCache.ddl(msg, () => this.ctx.refs.coordinator().ask(msg));
  }

  allShards<K extends ShardMsg["kind"]>(meta: CollectionMeta, msg: Extract<ShardMsg, { kind: K }>): Promise<ShardReplies[K][]> {
    return Promise.all(Array.from({ length: meta.num_shards }, (_, s) => this.toShard(meta, s, msg)));
  }

  /**
   * Sends to a shard's owner at its current epoch, waiting out a shard that
   * is between owners. Every shard message is idempotent (writes replace rows
   * by primary key and carry ids fixed by the proxy), so a request that timed
   * out because its owner died may be sent again to the next owner. A timeout
   * while the same owner is alive is a real timeout and is not retried.
   */
  toShard<K extends ShardMsg["kind"]>(meta: CollectionMeta, shard: number, msg: Extract<ShardMsg, { kind: K }>): Promise<ShardReplies[K]> {
    const site = this.opts.site;
    if (site === undefined || !isEdgeRead(msg)) return this.toOwner(meta, shard, msg);
    // At an edge site: the site's replica answers, also while the link to the owner is down; without one, the owner.
    return this.ctx.refs
      .edgeShard(site, meta.id, shard)
      .ask(msg, this.opts.shardAttemptMs)
      .catch((e: unknown) => {
        if (isUnavailable(e) || (e instanceof VecbusError && e.code === "SHARD_NOT_READY")) return this.toOwner(meta, shard, msg);
        throw e;
      }) as Promise<ShardReplies[K]>;
  }

  private toOwner<K extends ShardMsg["kind"]>(meta: CollectionMeta, shard: number, msg: Extract<ShardMsg, { kind: K }>): Promise<ShardReplies[K]> {
    let sentTo: ShardAssignment | undefined;
    return retrying(
      async () => {
        // A retry reads the key itself: the watch may be behind (or down, while the connection is).
        sentTo = await this.assignment(meta, shard, sentTo === undefined);
        return this.ctx.refs.shard(meta.id, shard, sentTo.epoch).ask(msg, this.opts.shardAttemptMs);
      },
      {
        ms: this.opts.shardRetryMs,
        retriable: async (e) => {
          const timedOut = e instanceof VecbusError && e.code === "TIMEOUT";
          if (!isUnavailable(e) && !(timedOut && sentTo && (await this.ownerChanged(meta, shard, sentTo)))) return false;
          const still = await this.ctx.meta.get<CollectionMeta>(MetaKey.collection(meta.name));
          if (!still || still.value.id !== meta.id) throw new VecbusError("COLLECTION_NOT_FOUND", `collection "${meta.name}" was dropped`);
          return true;
        },
        pauseMs: 50,
        maxPauseMs: 500,
        giveUp: () => new VecbusError("SHARD_NOT_READY", `shard ${shard} of "${meta.name}" has no serving owner after ${this.opts.shardRetryMs} ms; check \`vecbus status\``),
      },
    );
  }

  /** From the watch if `cached` (a shard created since it last delivered is read from meta), else from meta. */
  private async assignment(meta: CollectionMeta, shard: number, cached = true): Promise<ShardAssignment> {
    return (cached ? this.assignments.get(MetaKey.shard(meta.id, shard)) : undefined) ?? shardAssignment(this.ctx, meta.id, shard, `"${meta.name}"`);
  }

  private async ownerChanged(meta: CollectionMeta, shard: number, sentTo: ShardAssignment): Promise<boolean> {
    const now = await this.assignment(meta, shard, false).catch(() => undefined);
    if (!now || now.epoch !== sentTo.epoch) return true;
    const session = await this.ctx.sessions.get(SessionKey.node("streaming", now.owner));
    return !session || session.operation !== "PUT";
  }
}
