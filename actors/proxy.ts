// Proxy: serves the public API on <prefix>.api.v1.<method> in a queue group,
// so any number of proxies share the load. It checks every request against
// the collection's schema, assigns auto ids, routes rows to shards by primary
// key hash, fans reads out to every shard and reduces the answers. It keeps
// no state of its own: collection meta is read from the meta bucket.
import { match } from "ts-pattern";
import type { ApiMethod, ApiReplies, ClusterStatus, CollectionDescription, Hit, ShardStatus } from "../protocol/api.js";
import { isApiMethod } from "../protocol/api.js";
import { optFilter, optInt, optString, optStringList, type Args } from "../protocol/args.js";
import { checkMetric, checkName, checkSchema, LIMITS, quickSchema, type CollectionMeta } from "../protocol/collection.js";
import { VecbusError } from "../protocol/errors.js";
import type { CoordinatorMsg, CoordinatorReplies, ShardAssignment, ShardMsg, ShardReplies } from "../protocol/messages.js";
import { checkIds, checkRows, checkVector, type PrimaryKey, type Row } from "../protocol/rows.js";
import { primaryField, vectorFields } from "../protocol/schema.js";
import { groupByShard } from "../protocol/sharding.js";
import { MetaKey, SessionKey } from "../protocol/subjects.js";
import { decodeMap } from "../runtime/codec.js";
import type { ActorContext } from "../runtime/context.js";
import { Mailbox } from "../runtime/mailbox.js";
import { isUnavailable, request } from "../runtime/rpc.js";
import { liveNodes, Session } from "../runtime/session.js";
import { largerIsCloser } from "../storage/distance.js";
import { comparePk } from "../storage/growing-segment.js";
import { scoreOrder, TopK } from "../storage/topk.js";

interface ApiRequest {
  method: ApiMethod;
  args: Args;
}

export interface ProxyOptions {
  /** How long a request waits for a shard that is between owners (restart, failover). */
  shardRetryMs: number;
  /** One attempt's timeout: longer than the session TTL, so an owner that died mid-request is known dead by then. */
  shardAttemptMs: number;
}

export class Proxy {
  private readonly session: Session;
  private mailbox: Mailbox<ApiRequest> | undefined;
  private assignmentWatch: { stop(): void } | undefined;
  /** When each shard key last changed: a request that timed out before a change may go to the new owner. */
  private readonly shardChangedAt = new Map<string, number>();

  constructor(
    private readonly ctx: ActorContext,
    readonly nodeId: string,
    private readonly opts: ProxyOptions = { shardRetryMs: 20_000, shardAttemptMs: 10_000 },
  ) {
    this.session = new Session(ctx.sessions, "proxy", nodeId, ctx.log);
  }

  async start(): Promise<void> {
    await this.session.start();
    this.assignmentWatch = await this.ctx.meta.watch<ShardAssignment>(MetaKey.shardsPrefix, (key) => this.shardChangedAt.set(key, Date.now()));
    this.mailbox = new Mailbox<ApiRequest>(this.ctx.nc, {
      subject: this.ctx.names.apiWildcard(),
      queue: this.ctx.names.proxyQueue(),
      maxInFlight: 256,
      parse: (data, subject) => this.parse(data, subject),
      handle: (req) => this.handle(req),
      log: this.ctx.log,
    });
  }

  async stop(): Promise<void> {
    await this.mailbox?.stop();
    this.assignmentWatch?.stop();
    await this.session.stop();
  }

  private parse(data: Uint8Array, subject: string): ApiRequest {
    const method = this.ctx.names.apiMethod(subject) ?? "";
    if (!isApiMethod(method)) {
      throw new VecbusError("UNKNOWN_METHOD", `unknown method "${method}"; see the README's API section for the method list`);
    }
    return { method, args: decodeMap(data) };
  }

  private handle({ method, args }: ApiRequest): Promise<ApiReplies[ApiMethod]> {
    return match(method)
      .with("create_collection", () => this.onCreateCollection(args))
      .with("drop_collection", () => this.coordinator({ kind: "drop_collection", name: checkName("collection_name", args.collection_name) }))
      .with("has_collection", async () => (await this.findCollection(args)) !== null)
      .with("list_collections", () => this.onListCollections())
      .with("describe_collection", async () => describe(await this.collection(args)))
      .with("get_collection_stats", () => this.onStats(args))
      .with("insert", () => this.onInsert(args))
      .with("upsert", () => this.onUpsert(args))
      .with("delete", () => this.onDelete(args))
      .with("search", () => this.onSearch(args))
      .with("query", () => this.onQuery(args))
      .with("get", () => this.onGet(args))
      .with("status", () => this.onStatus())
      .exhaustive();
  }

  private async onCreateCollection(args: Args): Promise<CollectionDescription> {
    const name = checkName("collection_name", args.collection_name);
    let schema;
    if (args.schema !== undefined && args.schema !== null) schema = checkSchema(args.schema);
    else if (args.dimension !== undefined && args.dimension !== null) schema = quickSchema(args);
    else {
      throw new VecbusError("INVALID_ARGUMENT", "create_collection needs either `dimension` (quick setup) or a full `schema`");
    }
    const meta = await this.coordinator({
      kind: "create_collection",
      name,
      schema,
      num_shards: optInt(args, "num_shards", 1, 1, 16),
      metric_type: checkMetric(args.metric_type),
    });
    return describe(meta);
  }

  private async onListCollections(): Promise<string[]> {
    const all = await this.ctx.meta.list<CollectionMeta>(MetaKey.collectionsPrefix);
    return [...all.values()].map((v) => v.value.name).sort();
  }

  private async onStats(args: Args): Promise<{ row_count: number }> {
    const meta = await this.collection(args);
    const stats = await this.allShards(meta, { kind: "stats" });
    return { row_count: stats.reduce((n, s) => n + s.row_count, 0) };
  }

  private async onInsert(args: Args): Promise<{ insert_count: number; ids: PrimaryKey[] }> {
    const meta = await this.collection(args);
    const pk = primaryField(meta.schema);
    let autoIds: number[] | undefined;
    if (pk.auto_id) {
      const n = Array.isArray(args.data) ? args.data.length : 0;
      if (n > 0) {
        const { start } = await this.coordinator({ kind: "allocate_ids", count: n });
        autoIds = Array.from({ length: n }, (_, i) => start + i);
      }
    }
    const rows = checkRows(meta.schema, args.data, autoIds);
    await this.writeRows(meta, rows);
    return { insert_count: rows.length, ids: rows.map((r) => r[pk.name] as PrimaryKey) };
  }

  /** Upsert always carries the primary key, auto_id or not: it names the row to replace. */
  private async onUpsert(args: Args): Promise<{ upsert_count: number; ids: PrimaryKey[] }> {
    const meta = await this.collection(args);
    const pk = primaryField(meta.schema);
    const rows = checkRows(meta.schema, args.data);
    await this.writeRows(meta, rows);
    return { upsert_count: rows.length, ids: rows.map((r) => r[pk.name] as PrimaryKey) };
  }

  private async writeRows(meta: CollectionMeta, rows: Row[]): Promise<void> {
    const pk = primaryField(meta.schema).name;
    const groups = groupByShard(rows, (r) => r[pk] as PrimaryKey, meta.num_shards);
    await Promise.all([...groups].map(([shard, part]) => this.toShard(meta, shard, { kind: "insert", rows: part })));
  }

  private async onDelete(args: Args): Promise<{ delete_count: number }> {
    const meta = await this.collection(args);
    const filter = optFilter(args);
    const hasIds = args.ids !== undefined && args.ids !== null;
    if (hasIds === (filter !== undefined)) {
      throw new VecbusError("INVALID_ARGUMENT", "delete needs exactly one of `ids` (a list of primary keys) or `filter` (an expression)");
    }
    let replies: ShardReplies["delete"][];
    if (filter !== undefined) replies = await this.allShards(meta, { kind: "delete_by_filter", filter });
    else {
      const ids = checkIds(meta.schema, args.ids);
      const groups = groupByShard(ids, (id) => id, meta.num_shards);
      replies = await Promise.all([...groups].map(([shard, part]) => this.toShard(meta, shard, { kind: "delete", ids: part })));
    }
    return { delete_count: replies.reduce((n, r) => n + r.delete_count, 0) };
  }

  private async onSearch(args: Args): Promise<Hit[][]> {
    const meta = await this.collection(args);
    const field = vectorFields(meta.schema)[0];
    const annsField = optString(args, "anns_field");
    if (annsField !== undefined && annsField !== field.name) {
      throw new VecbusError("FIELD_NOT_FOUND", `anns_field "${annsField}" is not a vector field of "${meta.name}"; its vector field is "${field.name}"`);
    }
    const params = args.search_params as { metric_type?: unknown } | undefined;
    if (params?.metric_type !== undefined && checkMetric(params.metric_type) !== meta.metric_type) {
      throw new VecbusError("INVALID_ARGUMENT", `search_params.metric_type ${String(params.metric_type)} does not match the collection's metric ${meta.metric_type}`);
    }
    if (!Array.isArray(args.data) || args.data.length === 0) {
      throw new VecbusError("INVALID_ARGUMENT", "data must be a non-empty list of query vectors");
    }
    if (args.data.length > LIMITS.nqMax) throw new VecbusError("INVALID_ARGUMENT", `at most ${LIMITS.nqMax} query vectors per search`);
    const vectors = args.data.map((v, i) => checkVector(field, v, `data[${i}]`));
    const limit = optInt(args, "limit", 10, 1, LIMITS.topKMax);
    const msg: ShardMsg = { kind: "search", vectors, limit, filter: optFilter(args), output_fields: optStringList(args, "output_fields") };
    const perShard = await this.allShards(meta, msg);
    if (perShard.length === 1) return perShard[0];
    const order = scoreOrder(largerIsCloser(meta.metric_type));
    return vectors.map((_, q) => {
      const top = new TopK<Hit>(limit, order);
      for (const hits of perShard) for (const h of hits[q]) top.offer(h.distance, h);
      return top.sorted().map((x) => x.item);
    });
  }

  private async onQuery(args: Args): Promise<Row[]> {
    const meta = await this.collection(args);
    const filter = optFilter(args);
    if (filter === undefined && (args.limit === undefined || args.limit === null)) {
      throw new VecbusError("INVALID_ARGUMENT", "query needs a `filter`, or a `limit` to read rows without one");
    }
    const limit = optInt(args, "limit", LIMITS.topKMax, 1, LIMITS.topKMax);
    const pk = primaryField(meta.schema).name;
    const parts = await this.allShards(meta, { kind: "query", filter, limit, output_fields: rowFields(args) });
    return parts
      .flat()
      .sort((a, b) => comparePk(a[pk] as PrimaryKey, b[pk] as PrimaryKey))
      .slice(0, limit);
  }

  /** Rows come back in the order of the ids asked for; missing ids are left out. */
  private async onGet(args: Args): Promise<Row[]> {
    const meta = await this.collection(args);
    const ids = checkIds(meta.schema, args.ids);
    const pk = primaryField(meta.schema).name;
    const outputFields = rowFields(args);
    const groups = groupByShard(ids, (id) => id, meta.num_shards);
    const parts = await Promise.all([...groups].map(([shard, part]) => this.toShard(meta, shard, { kind: "get", ids: part, output_fields: outputFields })));
    const byId = new Map<PrimaryKey, Row>();
    for (const row of parts.flat()) byId.set(row[pk] as PrimaryKey, row);
    return ids.flatMap((id) => (byId.has(id) ? [byId.get(id)!] : []));
  }

  private async onStatus(): Promise<ClusterStatus> {
    const nodes = await liveNodes(this.ctx.sessions);
    const assignments = await this.ctx.meta.list<ShardAssignment>(MetaKey.shardsPrefix);
    const shards: ShardStatus[] = await Promise.all(
      [...assignments.values()].map(async ({ value: a }) => {
        const stats = await request<ShardReplies["stats"]>(this.ctx.nc, this.ctx.names.shardSubject(a.collection_id, a.shard), { kind: "stats" }, 2_000).catch(
          () => null,
        );
        return {
          collection_name: a.collection_name,
          shard: a.shard,
          owner: a.owner,
          epoch: a.epoch,
          wal_stream: this.ctx.names.walStream(a.collection_id, a.shard),
          wal_last_seq: stats?.wal_last_seq ?? 0,
          row_count: stats?.row_count ?? null,
        };
      }),
    );
    shards.sort((a, b) => a.collection_name.localeCompare(b.collection_name) || a.shard - b.shard);
    nodes.sort((a, b) => a.role.localeCompare(b.role) || a.node_id.localeCompare(b.node_id));
    return { nodes, shards };
  }

  private async findCollection(args: Args): Promise<CollectionMeta | null> {
    const name = checkName("collection_name", args.collection_name);
    return (await this.ctx.meta.get<CollectionMeta>(MetaKey.collection(name)))?.value ?? null;
  }

  private async collection(args: Args): Promise<CollectionMeta> {
    const meta = await this.findCollection(args);
    if (!meta) {
      throw new VecbusError("COLLECTION_NOT_FOUND", `collection "${String(args.collection_name)}" does not exist; list_collections shows the ones that do`);
    }
    return meta;
  }

  private coordinator<K extends CoordinatorMsg["kind"]>(msg: Extract<CoordinatorMsg, { kind: K }>): Promise<CoordinatorReplies[K]> {
    return request<CoordinatorReplies[K]>(this.ctx.nc, this.ctx.names.coordinatorSubject(), msg);
  }

  private allShards<K extends ShardMsg["kind"]>(meta: CollectionMeta, msg: Extract<ShardMsg, { kind: K }>): Promise<ShardReplies[K][]> {
    return Promise.all(Array.from({ length: meta.num_shards }, (_, s) => this.toShard(meta, s, msg)));
  }

  /**
   * Sends to a shard's owner, waiting out a shard that is between owners.
   * Every shard message is idempotent (writes replace rows by primary key and
   * carry ids fixed by the proxy), so a request that timed out because its
   * owner died may be sent again to the next owner. A timeout while the same
   * owner is alive is a real timeout and is not retried.
   */
  private async toShard<K extends ShardMsg["kind"]>(meta: CollectionMeta, shard: number, msg: Extract<ShardMsg, { kind: K }>): Promise<ShardReplies[K]> {
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

/** query and get return every field unless output_fields is given, as MilvusClient does. */
function rowFields(args: Args): string[] {
  return args.output_fields === undefined || args.output_fields === null ? ["*"] : optStringList(args, "output_fields");
}

function describe(meta: CollectionMeta): CollectionDescription {
  return {
    collection_name: meta.name,
    collection_id: meta.id,
    schema: meta.schema,
    num_shards: meta.num_shards,
    metric_type: meta.metric_type,
    created_at: meta.created_at,
  };
}
