// Proxy: serves the public API on <prefix>.api.v1.<method> in a queue group,
// so any number of proxies share the load. It checks every request against
// the collection's schema, assigns auto ids, routes rows to shards by primary
// key hash, fans reads out to every shard and reduces the answers. It keeps
// no state of its own: collection meta comes from the meta bucket (through
// a watch-fed cache, meta-cache.ts).
//
// Takes: the public API (ApiMethod + a msgpack map). Sends: CoordinatorMsg, ShardMsg.
import { match } from "ts-pattern";
import { isApiMethod, SHARD_ATTEMPT_MS, SHARD_RETRY_MS, type ApiMethod, type ApiReplies } from "../../protocol/api.js";
import type { Args } from "../../protocol/args.js";
import { VecbusError } from "../../protocol/errors.js";
import { asMap } from "../../runtime/codec.js";
import { actorSession, type ActorContext } from "../context.js";
import { Mailbox } from "../../runtime/mailbox.js";
import type { Session } from "../../runtime/session.js";
import { ProxyCore, type ProxyOptions } from "./core.js";
import * as compaction from "./compaction.js";
import * as ddl from "./ddl.js";
import * as dml from "./dml.js";
import * as indexes from "./indexes.js";
import * as iterators from "./iterators.js";
import * as load from "./load.js";
import * as reads from "./reads.js";

interface ApiRequest {
  method: ApiMethod;
  args: Args;
}

export class Proxy {
  private readonly session: Session;
  private readonly core: ProxyCore;
  private mailbox: Mailbox<ApiRequest> | undefined;

  constructor(
    private readonly ctx: ActorContext,
    readonly nodeId: string,
    opts: ProxyOptions = { shardRetryMs: SHARD_RETRY_MS, shardAttemptMs: SHARD_ATTEMPT_MS },
  ) {
    this.session = actorSession(ctx, "proxy", nodeId, () => ({ in_flight: this.mailbox?.active ?? 0 }));
    this.core = new ProxyCore(ctx, opts);
  }

  async start(): Promise<void> {
    await this.session.start();
    await this.core.start();
    this.mailbox = new Mailbox<ApiRequest>(this.ctx.nc, {
      subject: this.ctx.names.apiWildcard(),
      queue: this.ctx.names.proxyQueue(),
      maxInFlight: 256,
      check: (value, subject) => this.parse(value, subject),
      handle: (req) => this.handle(req),
      log: this.ctx.log,
    });
    // The subscription reaches the server with the next flush: until then a client would find no responder.
    await this.ctx.nc.flush();
  }

  async stop(): Promise<void> {
    await this.mailbox?.stop();
    this.core.stop();
    await this.session.stop();
  }

  private parse(value: unknown, subject: string): ApiRequest {
    const method = this.ctx.names.apiMethod(subject) ?? "";
    if (!isApiMethod(method)) {
      throw new VecbusError("UNKNOWN_METHOD", `unknown method "${method}"; see the README's API section for the method list`);
    }
    return { method, args: asMap(value) };
  }

  private handle({ method, args }: ApiRequest): Promise<ApiReplies[ApiMethod]> {
    const core = this.core;
    return match(method)
      .with("create_collection", () => ddl.createCollection(core, args))
      .with("drop_collection", () => ddl.dropCollection(core, args))
      .with("has_collection", async () => (await core.findCollection(args)) !== null)
      .with("list_collections", () => ddl.listCollections(core))
      .with("describe_collection", async () => ddl.describe(core, await core.collection(args)))
      .with("get_collection_stats", () => ddl.collectionStats(core, args))
      .with("rename_collection", () => ddl.renameCollection(core, args))
      .with("create_partition", () => ddl.createPartition(core, args))
      .with("drop_partition", () => ddl.dropPartition(core, args))
      .with("has_partition", () => ddl.hasPartition(core, args))
      .with("list_partitions", () => ddl.listPartitions(core, args))
      .with("create_alias", () => ddl.createAlias(core, args))
      .with("drop_alias", () => ddl.dropAlias(core, args))
      .with("alter_alias", () => ddl.alterAlias(core, args))
      .with("describe_alias", () => ddl.describeAlias(core, args))
      .with("list_aliases", () => ddl.listAliases(core, args))
      .with("insert", () => dml.insert(core, args))
      .with("upsert", () => dml.upsert(core, args))
      .with("delete", () => dml.remove(core, args))
      .with("search", () => reads.search(core, args))
      .with("hybrid_search", () => reads.hybridSearch(core, args))
      .with("query", () => reads.query(core, args))
      .with("get", () => reads.get(core, args))
      .with("flush", () => dml.flush(core, args))
      .with("status", () => ddl.clusterStatus(core))
      .with("create_index", () => indexes.createIndex(core, args))
      .with("describe_index", () => indexes.describeIndex(core, args))
      .with("list_indexes", () => indexes.listIndexes(core, args))
      .with("drop_index", () => indexes.dropIndex(core, args))
      .with("load_collection", () => load.loadCollection(core, args))
      .with("release_collection", () => load.releaseCollection(core, args))
      .with("get_load_state", () => load.getLoadState(core, args))
      .with("describe_replica", () => load.describeReplicas(core, args))
      .with("query_iterator", () => iterators.queryIterator(core, args))
      .with("search_iterator", () => iterators.searchIterator(core, args))
      .with("compact", () => compaction.compact(core, args))
      .with("get_compaction_state", () => compaction.compactionState(core, args))
      .exhaustive();
  }
}
