// VecbusClient: the TypeScript client. Method names and arguments are those of
// pymilvus MilvusClient, so examples translate line by line; each method is one
// NATS request to <prefix>.api.v1.<method>.
import type { NatsConnection } from "@nats-io/transport-node";
import type { ApiMethod, ApiReplies } from "../protocol/api.js";
import type { CollectionSchema, MetricType } from "../protocol/schema.js";
import type { PrimaryKey, Row } from "../protocol/rows.js";
import { DEFAULT_PREFIX, Names } from "../protocol/subjects.js";
import { closeConnection, connectNats } from "./context.js";
import { DEFAULT_TIMEOUT_MS, request } from "./rpc.js";

export interface ClientOptions {
  prefix?: string;
  timeoutMs?: number;
}

type Vector = number[] | Float32Array;

export class VecbusClient {
  private readonly names: Names;
  private readonly timeoutMs: number;

  constructor(
    readonly nc: NatsConnection,
    opts: ClientOptions = {},
  ) {
    this.names = new Names(opts.prefix ?? DEFAULT_PREFIX);
    this.timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  }

  static async connect(url = "nats://127.0.0.1:4222", opts: ClientOptions = {}): Promise<VecbusClient> {
    return new VecbusClient(await connectNats(url, "vecbus-client", { reconnectForever: false }), opts);
  }

  /** Any API method by name, for methods added after this client was written. */
  call<M extends ApiMethod>(method: M, args: Record<string, unknown> = {}): Promise<ApiReplies[M]> {
    return request<ApiReplies[M]>(this.nc, this.names.apiSubject(method), args, this.timeoutMs);
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
  }) {
    return this.call("create_collection", args);
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
  insert(args: { collection_name: string; data: Row[] }) {
    return this.call("insert", args);
  }
  upsert(args: { collection_name: string; data: Row[] }) {
    return this.call("upsert", args);
  }
  delete(args: { collection_name: string; ids?: PrimaryKey[]; filter?: string }) {
    return this.call("delete", args);
  }
  search(args: { collection_name: string; data: Vector[]; limit?: number; filter?: string; output_fields?: string[]; anns_field?: string }) {
    return this.call("search", args);
  }
  query(args: { collection_name: string; filter?: string; output_fields?: string[]; limit?: number }) {
    return this.call("query", args);
  }
  get(args: { collection_name: string; ids: PrimaryKey[]; output_fields?: string[] }) {
    return this.call("get", args);
  }
  status() {
    return this.call("status");
  }
}
