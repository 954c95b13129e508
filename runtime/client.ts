// VecbusClient: the TypeScript client. Method names and arguments are those of
// pymilvus MilvusClient, so examples translate line by line; each method is one
// NATS request to <prefix>.api.v1.<method>.
import type { NatsConnection } from "@nats-io/transport-node";
import { CLIENT_TIMEOUT_MS, loadTimeoutS, type ApiMethod, type ApiReplies } from "../protocol/api.js";
import type { ConsistencyLevel } from "../protocol/collection.js";
import type { CollectionSchema, MetricType } from "../protocol/schema.js";
import type { PrimaryKey, Row } from "../protocol/rows.js";
import { DEFAULT_PREFIX, Names } from "../protocol/subjects.js";
import { userInbox } from "../protocol/permissions.js";
import { closeConnection, connectNats, type NatsAuth } from "./connection.js";
import { request } from "./rpc.js";

export interface ClientOptions {
  prefix?: string;
  /** How long a call waits for its reply; load_collection waits its `timeout` longer. */
  timeoutMs?: number;
  /** Who to connect as: a user and password, an nkey seed file, a creds file; TLS files. */
  auth?: NatsAuth;
}

type Vector = number[] | Float32Array;

/**
 * The rows of an insert or upsert: `data`, a list of row maps, or `columns`,
 * a map of field name to its values in row order (a vector field's as a
 * list of vectors or as one Float32Array of rows × dim), which skips a map
 * per row on both sides.
 */
/** `data`: a list of row maps, or one row map (as pymilvus); an empty list writes nothing. */
export type WriteArgs = { collection_name: string; partition_name?: string } & ({ data: Row[] | Row; columns?: never } | { columns: Record<string, unknown[] | Float32Array>; data?: never });

/** `search_params`, and a hybrid_search entry's `param`: radius (and range_filter) make it a range search; ef is HNSW's search breadth. */
export interface SearchParams {
  metric_type?: MetricType;
  /** As pymilvus sends it; a top-level `offset` wins. */
  offset?: number;
  params?: { radius?: number; range_filter?: number; ef?: number; [tuning: string]: unknown };
}

/** One search of a hybrid_search (pymilvus AnnSearchRequest). */
export interface AnnSearchRequest {
  data: Vector[];
  anns_field?: string;
  limit?: number;
  filter?: string;
  param?: SearchParams;
}

export type RankerSpec = { strategy: "rrf"; params?: { k?: number } } | { strategy: "weighted"; params: { weights: number[]; norm_score?: boolean } };

const WRITES = new Set<ApiMethod>(["insert", "upsert", "delete"]);
const READS = new Set<ApiMethod>(["search", "query", "get", "hybrid_search"]);

/** What every read takes: which partitions, and how fresh the answer must be. */
export type ReadOptions = {
  partition_names?: string[];
  consistency_level?: ConsistencyLevel;
  /** Session consistency waits for this write timestamp; the client fills it in from its own writes. */
  guarantee_timestamp?: bigint;
  /** Values for `{name}` templates in the filter. */
  filter_params?: Record<string, unknown>;
};


/** One entry of create_index's (and create_collection's) index_params. */
export interface IndexParam {
  field_name: string;
  index_type?: string;
  metric_type?: MetricType;
  index_name?: string;
  params?: Record<string, unknown>;
}
export class VecbusClient {
  private sessionTs = 0n;
  private readonly names: Names;
  private readonly timeoutMs: number;

  constructor(
    readonly nc: NatsConnection,
    opts: ClientOptions = {},
  ) {
    this.names = new Names(opts.prefix ?? DEFAULT_PREFIX);
    this.timeoutMs = opts.timeoutMs ?? CLIENT_TIMEOUT_MS;
  }

  /**
   * Connects as `opts.auth`'s user (anonymous without). A named user's replies
   * travel on its own inbox prefix, which is the only one its NATS
   * permissions let it subscribe to.
   */
  static async connect(url = "nats://127.0.0.1:4222", opts: ClientOptions = {}): Promise<VecbusClient> {
    const user = opts.auth?.user;
    const inboxPrefix = user ? userInbox(new Names(opts.prefix ?? DEFAULT_PREFIX), user) : undefined;
    return new VecbusClient(await connectNats(url, "vecbus-client", { reconnectForever: false, auth: opts.auth, inboxPrefix }), opts);
  }

  /**
   * Any API method by name, for methods added after this client was written.
   * The client remembers its newest write's timestamp and sends it with
   * every read as `guarantee_timestamp`, which Session consistency waits for.
   */
  async call<M extends ApiMethod>(method: M, args: Record<string, unknown> = {}, timeoutMs = this.timeoutMs): Promise<ApiReplies[M]> {
    const body = READS.has(method) && args.guarantee_timestamp === undefined && this.sessionTs > 0n ? { ...args, guarantee_timestamp: this.sessionTs } : args;
    const reply = await request<ApiReplies[M]>(this.nc, this.names.apiSubject(method), body, timeoutMs);
    const ts = (reply as { timestamp?: unknown } | null)?.timestamp;
    if (WRITES.has(method) && (typeof ts === "bigint" || typeof ts === "number") && BigInt(ts) > this.sessionTs) this.sessionTs = BigInt(ts);
    return reply;
  }

  async close(): Promise<void> {
    await closeConnection(this.nc);
  }

  create_collection(args: {
    collection_name: string;
    dimension?: number;
    schema?: Partial<CollectionSchema> & { fields: unknown[] };
    metric_type?: MetricType;
    primary_field_name?: string;
    vector_field_name?: string;
    id_type?: "int" | "string";
    auto_id?: boolean;
    num_shards?: number;
    num_partitions?: number;
    consistency_level?: ConsistencyLevel;
    /** Indexes created with the collection; quick setup (dimension) gets AUTOINDEX without them. */
    index_params?: IndexParam[];
  }) {
    return this.call("create_collection", args);
  }

  /**
   * Resolves once every copy of every indexed segment is placed and loaded
   * on a query node (or after `timeout` seconds with TIMEOUT); the proxy answers only
   * then, so the client waits that much longer than for other calls.
   */
  load_collection(args: { collection_name: string; timeout?: number; replica_number?: number }) {
    return this.call("load_collection", args, this.timeoutMs + loadTimeoutS(args.timeout) * 1000);
  }

  release_collection(args: { collection_name: string }) {
    return this.call("release_collection", args);
  }

  get_load_state(args: { collection_name: string }) {
    return this.call("get_load_state", args);
  }

  describe_replica(args: { collection_name: string }) {
    return this.call("describe_replica", args);
  }

  /** One batch of a query iterator (pymilvus query_iterator); send the returned cursor for the next, until it is null. */
  query_iterator(args: ReadOptions & { collection_name: string; filter?: string; output_fields?: string[]; batch_size?: number; limit?: number; cursor?: ApiReplies["query_iterator"]["cursor"] }) {
    return this.call("query_iterator", args);
  }

  /** One batch of a search iterator (pymilvus search_iterator): hits in distance order across batches. */
  search_iterator(
    args: ReadOptions & {
      collection_name: string;
      data: Vector[];
      anns_field?: string;
      filter?: string;
      output_fields?: string[];
      search_params?: SearchParams;
      batch_size?: number;
      limit?: number;
      cursor?: ApiReplies["search_iterator"]["cursor"];
    },
  ) {
    return this.call("search_iterator", args);
  }

  /** Queues compactions of every shard; get_compaction_state tells when they are done. */
  compact(args: { collection_name: string }) {
    return this.call("compact", args);
  }

  get_compaction_state(args: { compaction_id: number }) {
    return this.call("get_compaction_state", args);
  }
  rename_collection(args: { old_name: string; new_name: string }) {
    return this.call("rename_collection", args);
  }
  create_partition(args: { collection_name: string; partition_name: string }) {
    return this.call("create_partition", args);
  }
  drop_partition(args: { collection_name: string; partition_name: string }) {
    return this.call("drop_partition", args);
  }
  has_partition(args: { collection_name: string; partition_name: string }) {
    return this.call("has_partition", args);
  }
  list_partitions(args: { collection_name: string }) {
    return this.call("list_partitions", args);
  }
  create_alias(args: { alias: string; collection_name: string }) {
    return this.call("create_alias", args);
  }
  alter_alias(args: { alias: string; collection_name: string }) {
    return this.call("alter_alias", args);
  }
  drop_alias(args: { alias: string }) {
    return this.call("drop_alias", args);
  }
  describe_alias(args: { alias: string }) {
    return this.call("describe_alias", args);
  }
  list_aliases(args: { collection_name?: string } = {}) {
    return this.call("list_aliases", args);
  }
  drop_collection(args: { collection_name: string }) {
    return this.call("drop_collection", args);
  }
  has_collection(args: { collection_name: string }) {
    return this.call("has_collection", args);
  }
  list_collections() {
    return this.call("list_collections");
  }
  describe_collection(args: { collection_name: string }) {
    return this.call("describe_collection", args);
  }
  get_collection_stats(args: { collection_name: string }) {
    return this.call("get_collection_stats", args);
  }
  insert(args: WriteArgs) {
    return this.call("insert", args);
  }
  upsert(args: WriteArgs) {
    return this.call("upsert", args);
  }
  delete(args: { collection_name: string; ids?: PrimaryKey[]; filter?: string; partition_name?: string }) {
    return this.call("delete", args);
  }
  search(args: ReadOptions & {
    collection_name: string;
    /** The query vectors; or `ids`: search with the stored vectors of those rows (as Milvus 2.5). */
    data?: Vector[];
    ids?: PrimaryKey[];
    limit?: number;
    offset?: number;
    filter?: string;
    output_fields?: string[];
    anns_field?: string;
    search_params?: SearchParams;
    group_by_field?: string;
    group_size?: number;
    strict_group_size?: boolean;
    /** Distances rounded to this many decimals (0-6); -1, the default: as computed. */
    round_decimal?: number;
  }) {
    return this.call("search", args);
  }
  hybrid_search(args: ReadOptions & { collection_name: string; reqs: AnnSearchRequest[]; ranker?: RankerSpec; limit?: number; offset?: number; output_fields?: string[] }) {
    return this.call("hybrid_search", args);
  }
  /** `output_fields: ["count(*)"]` returns `[{"count(*)": n}]`. */
  query(args: ReadOptions & { collection_name: string; filter?: string; ids?: PrimaryKey[]; output_fields?: string[]; limit?: number; offset?: number }) {
    return this.call("query", args);
  }
  get(args: ReadOptions & { collection_name: string; ids: PrimaryKey[]; output_fields?: string[] }) {
    return this.call("get", args);
  }
  /** Seals and writes every shard's growing segment to the object store; resolves once they are committed. */
  flush(args: { collection_name: string }) {
    return this.call("flush", args);
  }
  status() {
    return this.call("status");
  }
  /** pymilvus: index_params entries {field_name, index_type, metric_type?, index_name?, params?}. */
  create_index(args: {
    collection_name: string;
    index_params: IndexParam[];
  }) {
    return this.call("create_index", args);
  }
  /** By index_name, or by field_name; with neither, the collection's only index. */
  describe_index(args: { collection_name: string; index_name?: string; field_name?: string }) {
    return this.call("describe_index", args);
  }
  list_indexes(args: { collection_name: string; field_name?: string }) {
    return this.call("list_indexes", args);
  }
  drop_index(args: { collection_name: string; index_name: string }) {
    return this.call("drop_index", args);
  }
}
