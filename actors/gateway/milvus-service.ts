// Milvus's MilvusService over vecbus: each RPC becomes the same call on the
// NATS API (a VecbusClient), so no logic lives here twice. Errors travel as
// a Milvus status with gRPC OK, as Milvus sends them: the Node SDK retries
// a gRPC error status until its deadline instead of reporting it.
import type { sendUnaryData, ServerUnaryCall, UntypedServiceImplementation } from "@grpc/grpc-js";
import type { CollectionDescription, Hit } from "../../protocol/api.js";
import { CONSISTENCY_LEVELS, type ConsistencyLevel } from "../../protocol/collection.js";
import { VecbusError } from "../../protocol/errors.js";
import type { PrimaryKey } from "../../protocol/rows.js";
import { int64Of, type MetricType } from "../../protocol/schema.js";
import type { SearchParams, VecbusClient } from "../../runtime/client.js";
import { idsOf, int64Column, rowsFromFieldData, rowsToFieldData, schemaFromMilvus, schemaToMilvus } from "./field-data.js";
import type { Callers } from "./callers.js";
import { indexBuildParams, jsonParam, kvMap, templateValues } from "./milvus-params.js";
import type { MilvusProto } from "./milvus-proto.js";
import { float32Toward, SearchIterators } from "./search-iterators.js";
import { largerIsCloser } from "../../engine/distance.js";
import { databaseNotFound, DEFAULT_DATABASE, OK_STATUS, statusOf, unimplementedStatus } from "./milvus-status.js";
import { isUserRpc, milvusUserRpc, MilvusUsers, type UserDirectory } from "./milvus-users.js";

type Req = Record<string, unknown>;
type Handler = (req: Req) => Promise<Req>;

/** How long a collection's description serves reads (see schemaOf), and how many are kept per caller. */
const SCHEMA_FOR_READS_MS = 1000;
const MAX_SCHEMAS_KEPT = 256;

/** What GetVersion answers: the Milvus release whose API the gateway follows. */
export const MILVUS_VERSION = "v2.5.0";

/** The service: each call runs as the NATS user its caller's credentials name (Callers). */
export function milvusService(callers: Callers, proto: MilvusProto, users?: UserDirectory): UntypedServiceImplementation {
  const byClient = new WeakMap<VecbusClient, Record<string, Handler>>();
  const impl: UntypedServiceImplementation = {};
  for (const method of Object.keys(proto.service)) {
    impl[method] = (call: ServerUnaryCall<Req, Req>, reply: sendUnaryData<Req>) => {
      callers
        .ofGrpc(call.metadata)
        .then((client) => {
          let handlers = byClient.get(client);
          if (!handlers) byClient.set(client, (handlers = milvusHandlers(client, proto)));
          const h = handlers[method];
          // The SDKs name the database in each request or, once for the connection, in `dbname` metadata.
          const db = String(call.request.db_name || call.metadata.get("dbname")[0] || "");
          if (db !== "" && db !== DEFAULT_DATABASE) return asReply(databaseNotFound(db));
          if (users && isUserRpc(method)) return milvusUserRpc(new MilvusUsers(users, callers.callerOfGrpc(call.metadata), (user, kept) => callers.forget(user, kept)), method, call.request);
          return h ? h(call.request) : asReply(unimplementedStatus(method));
        })
        .then(
          (out) => reply(null, out),
          (e: unknown) => reply(null, asReply(statusOf(e))),
        );
    };
  }
  return impl;
}

/** The RPCs vecbus implements, each the same call on the NATS API through `client`. */
function milvusHandlers(client: VecbusClient, proto: MilvusProto): Record<string, Handler> {
  const describe = (name: string) => client.describe_collection({ collection_name: name });
  const iterators = new SearchIterators();
  // Reads need the schema only to type their reply's columns; fetching it for each would double their NATS
  // requests (the front door ran at 0.39 of the NATS API's search QPS with it, see the README), so a
  // description serves reads for a second. A collection dropped and created again with another schema within
  // that second by another client is read with the old columns' types until it passes (this caller's own
  // collection and alias changes forget every description at once).
  const described = new Map<string, { at: number; d: Promise<CollectionDescription> }>();
  const schemaOf = (name: string): Promise<CollectionDescription> => {
    const hit = described.get(name);
    if (hit && performance.now() - hit.at < SCHEMA_FOR_READS_MS) return hit.d;
    const d = describe(name);
    if (described.size >= MAX_SCHEMAS_KEPT) described.clear();
    described.set(name, { at: performance.now(), d });
    d.catch(() => described.get(name)?.d === d && described.delete(name));
    return d;
  };
  const handlers: Record<string, Handler> = {
    ListDatabases: async () => ({ status: OK_STATUS, db_names: [DEFAULT_DATABASE], db_ids: ["1"], created_timestamp: ["0"] }),
    DescribeDatabase: async () => ({ status: OK_STATUS, db_name: DEFAULT_DATABASE, dbID: "1", created_timestamp: "0", properties: [] }),
    Connect: async () => ({ status: OK_STATUS, server_info: { build_tags: "vecbus", deploy_mode: "STANDALONE", reserved: {} }, identifier: "1" }),
    GetVersion: async () => ({ status: OK_STATUS, version: MILVUS_VERSION }),
    CheckHealth: async () => {
      try {
        await client.list_collections();
        return { status: OK_STATUS, isHealthy: true, reasons: [] };
      } catch (e) {
        return { status: OK_STATUS, isHealthy: false, reasons: [statusOf(e).reason] };
      }
    },
    DescribeCollection: async (r) => describeReply(await describe(name(r))),
    HasCollection: async (r) => ({ status: OK_STATUS, value: await client.has_collection({ collection_name: name(r) }) }),
    ShowCollections: async () => ({ status: OK_STATUS, collection_names: await client.list_collections() }),
    CreateCollection: async (r) => {
      const schema = schemaFromMilvus(proto.decodeSchema(r.schema as Uint8Array));
      const shards = Number(r.shards_num);
      await client.create_collection({ collection_name: name(r), schema, ...(shards > 0 && { num_shards: shards }), ...consistency(r) });
      described.clear();
      return OK_STATUS;
    },
    DropCollection: async (r) => (await client.drop_collection({ collection_name: name(r) }), described.clear(), OK_STATUS),
    CreateIndex: async (r) => {
      const p = kvMap(r.extra_params);
      const params = indexBuildParams(p);
      await client.create_index({
        collection_name: name(r),
        index_params: [
          {
            field_name: String(r.field_name),
            ...(p.index_type && { index_type: p.index_type }),
            ...(p.metric_type && { metric_type: p.metric_type as MetricType }),
            ...(r.index_name ? { index_name: String(r.index_name) } : {}),
            ...(params && { params }),
          },
        ],
      });
      return OK_STATUS;
    },
    GetCollectionStatistics: async (r) => ({ status: OK_STATUS, stats: [{ key: "row_count", value: String((await client.get_collection_stats({ collection_name: name(r) })).row_count) }] }),
    CreatePartition: async (r) => (await client.create_partition({ collection_name: name(r), partition_name: String(r.partition_name) }), OK_STATUS),
    DropPartition: async (r) => (await client.drop_partition({ collection_name: name(r), partition_name: String(r.partition_name) }), OK_STATUS),
    HasPartition: async (r) => ({ status: OK_STATUS, value: await client.has_partition({ collection_name: name(r), partition_name: String(r.partition_name) }) }),
    ShowPartitions: async (r) => ({ status: OK_STATUS, partition_names: await client.list_partitions({ collection_name: name(r) }) }),
    CreateAlias: async (r) => (await client.create_alias({ alias: String(r.alias), collection_name: name(r) }), described.clear(), OK_STATUS),
    AlterAlias: async (r) => (await client.alter_alias({ alias: String(r.alias), collection_name: name(r) }), described.clear(), OK_STATUS),
    DropAlias: async (r) => (await client.drop_alias({ alias: String(r.alias) }), described.clear(), OK_STATUS),
    DescribeAlias: async (r) => {
      const a = await client.describe_alias({ alias: String(r.alias) });
      return { status: OK_STATUS, alias: a.alias, collection: a.collection_name };
    },
    ListAliases: async (r) => {
      const l = await client.list_aliases(name(r) ? { collection_name: name(r) } : {});
      return { status: OK_STATUS, collection_name: l.collection_name ?? "", aliases: l.aliases };
    },
    // Without an index or field name, Milvus describes every index of the collection.
    DescribeIndex: async (r) => {
      const named = String(r.index_name ?? "") !== "" || String(r.field_name ?? "") !== "";
      const all = named ? [await indexOf(r)] : await Promise.all((await client.list_indexes({ collection_name: name(r) })).map((index_name) => client.describe_index({ collection_name: name(r), index_name })));
      if (all.length === 0) throw new VecbusError("INDEX_NOT_FOUND", `collection "${name(r)}" has no index`);
      return {
        status: OK_STATUS,
        index_descriptions: all.map((ix) => ({
          index_name: ix.index_name,
          field_name: ix.field_name,
          params: [
            { key: "index_type", value: ix.index_type },
            ...(ix.metric_type ? [{ key: "metric_type", value: ix.metric_type }] : []),
            { key: "params", value: JSON.stringify(ix.params) },
          ],
          state: ix.state,
          indexed_rows: String(ix.indexed_rows),
          total_rows: String(ix.total_rows),
          pending_index_rows: String(ix.pending_index_rows),
        })),
      };
    },
    RenameCollection: async (r) => {
      const db = String(r.newDBName ?? "");
      if (db !== "" && db !== DEFAULT_DATABASE) return asReply(databaseNotFound(db));
      await client.rename_collection({ old_name: String(r.oldName ?? ""), new_name: String(r.newName ?? "") });
      described.clear();
      return OK_STATUS;
    },
    // The Node SDK names the collection by its id for these.
    ManualCompaction: async (r) => {
      const { compaction_id } = await client.compact({ collection_name: await collectionOf(r) });
      const s = await client.get_compaction_state({ compaction_id });
      return { status: OK_STATUS, compactionID: String(compaction_id), compactionPlanCount: s.executing + s.completed };
    },
    GetCompactionState: async (r) => {
      const s = await client.get_compaction_state({ compaction_id: Number(r.compactionID) });
      return { status: OK_STATUS, state: s.state, executingPlanNo: String(s.executing), completedPlanNo: String(s.completed), timeoutPlanNo: "0", failedPlanNo: "0" };
    },
    GetReplicas: async (r) => {
      const collection = await collectionOf(r);
      const d = await describe(collection);
      const replicas = await client.describe_replica({ collection_name: collection });
      return {
        status: OK_STATUS,
        replicas: replicas.map((rep) => ({
          replicaID: String(rep.replica_id),
          collectionID: String(d.collection_id),
          partition_ids: [],
          // vecbus names its nodes; Milvus numbers them: the number is the name's hash, the name is in leader_addr.
          shard_replicas: rep.shard_leaders.map((l) => ({ leaderID: String(nodeNumber(l.node_id)), leader_addr: l.node_id, dm_channel_name: `${collection}-shard-${l.shard}`, node_ids: [String(nodeNumber(l.node_id))] })),
          node_ids: rep.node_ids.map((n) => String(nodeNumber(n))),
          resource_group_name: "__default_resource_group",
          num_outbound_node: 0,
        })),
      };
    },
    GetIndexState: async (r) => ({ status: OK_STATUS, state: (await indexOf(r)).state }),
    GetIndexBuildProgress: async (r) => {
      const ix = await indexOf(r);
      return { status: OK_STATUS, indexed_rows: String(ix.indexed_rows), total_rows: String(ix.total_rows), pending_index_rows: String(ix.pending_index_rows) };
    },
    DropIndex: async (r) => {
      const index = String(r.index_name ?? "") || (await client.describe_index({ collection_name: name(r), field_name: String(r.field_name) })).index_name;
      await client.drop_index({ collection_name: name(r), index_name: index });
      return OK_STATUS;
    },
    LoadCollection: async (r) => {
      const replicas = Number(r.replica_number);
      await client.load_collection({ collection_name: name(r), ...(replicas > 0 && { replica_number: replicas }) });
      return OK_STATUS;
    },
    // vecbus loads whole collections: loading some partitions loads them all (a superset of what Milvus loads).
    LoadPartitions: async (r) => {
      const replicas = Number(r.replica_number);
      await requirePartitions(r);
      await client.load_collection({ collection_name: name(r), ...(replicas > 0 && { replica_number: replicas }) });
      return OK_STATUS;
    },
    // ... and releases whole collections: releasing every partition releases it; some of them cannot be.
    ReleasePartitions: async (r) => {
      const asked = await requirePartitions(r);
      const all = await client.list_partitions({ collection_name: name(r) });
      const kept = all.filter((x) => !asked.includes(x));
      if (kept.length > 0) throw new VecbusError("INVALID_ARGUMENT", `vecbus loads and releases whole collections: release every partition (${all.join(", ")}) or the collection`);
      await client.release_collection({ collection_name: name(r) });
      return OK_STATUS;
    },
    ReleaseCollection: async (r) => (await client.release_collection({ collection_name: name(r) }), OK_STATUS),
    GetLoadingProgress: async (r) => {
      const s = await client.get_load_state({ collection_name: name(r) });
      return { status: OK_STATUS, progress: String(s.progress), refresh_progress: String(s.progress) };
    },
    GetLoadState: async (r) => ({ status: OK_STATUS, state: `LoadState${(await client.get_load_state({ collection_name: name(r) })).state}` }),
    Insert: (r) => write("insert", r),
    Upsert: (r) => write("upsert", r),
    Delete: async (r) => {
      const partition = String(r.partition_name ?? "");
      const res = await client.delete({ collection_name: name(r), filter: String(r.expr ?? ""), ...filterOf(r, "expr"), ...(partition && { partition_name: partition }) });
      return { status: OK_STATUS, delete_cnt: String(res.delete_count), timestamp: res.timestamp.toString() };
    },
    Flush: async (r) => {
      for (const c of (r.collection_names as string[]) ?? []) await client.flush({ collection_name: c });
      return { status: OK_STATUS };
    },
    // Flush returns once the rows are sealed, so a flush the client asks about has always finished.
    GetFlushState: async () => ({ status: OK_STATUS, flushed: true }),
    Search: async (r) => {
      const d = await schemaOf(name(r));
      const p = kvMap(r.search_params);
      const limit = Number(p.topk);
      const outputs = outputFields(r, d);
      const iterating = iteratorOf(p);
      if (iterating) {
        const page = iterators.page(iterating.token, iterating.lastBound);
        // A finished iterator answers with no hits, so the SDK stops even when it expected more.
        const batch =
          page.cursor === null
            ? { hits: [], cursor: null }
            : await client.search_iterator({
                collection_name: name(r),
                data: queryVectors(proto, r),
                batch_size: limit,
                ...filterOf(r, "dsl"),
                output_fields: outputs,
                ...(p.anns_field && { anns_field: p.anns_field }),
                search_params: { ...searchParams(p), params: iterating.params },
                ...(page.cursor !== undefined && { cursor: page.cursor }),
                ...(partitions(r) && { partition_names: partitions(r) }),
                ...consistency(r),
              });
        const last = batch.hits.at(-1)?.distance;
        const bound = last === undefined ? (iterating.lastBound ?? 0) : float32Toward(last, await largerCloser(d, p, batch.hits));
        iterators.keep(page.token, batch.cursor, bound);
        const reply = searchReply([batch.hits], d, limit, outputs);
        (reply.results as Req).search_iterator_v2_results = { token: page.token, last_bound: bound };
        return reply;
      }
      // A grouped search answers each hit's group value too (group_by_field_value), so the search fetches it.
      const group = p.group_by_field;
      const fetchedForGroup = group && !outputs.includes("*") && !outputs.includes(group);
      const hits = await client.search({
        collection_name: name(r),
        ...(r.search_input === "ids" ? { ids: keysOf(r.ids as Req | undefined) } : { data: queryVectors(proto, r) }),
        limit,
        ...(p.offset && { offset: Number(p.offset) }),
        ...filterOf(r, "dsl"),
        output_fields: fetchedForGroup ? [...outputs, group] : outputs,
        ...(p.anns_field && { anns_field: p.anns_field }),
        search_params: searchParams(p),
        ...(p.group_by_field && { group_by_field: p.group_by_field }),
        ...(p.group_size && { group_size: Number(p.group_size) }),
        ...(p.round_decimal && { round_decimal: Number(p.round_decimal) }),
        ...(partitions(r) && { partition_names: partitions(r) }),
        ...consistency(r),
      });
      // The group's values travel in group_by_field_value; among the columns only when asked for, as Milvus.
      const shown = fetchedForGroup ? hits.map((q) => q.map((h) => ({ ...h, entity: Object.fromEntries(Object.entries(h.entity).filter(([k]) => k !== group)) }))) : hits;
      const reply = searchReply(shown, d, limit, outputs);
      if (group) (reply.results as Req).group_by_field_value = rowsToFieldData(hits.flat().map((h) => ({ [group]: h.entity[group] })), d, [group]).fields_data[0];
      return reply;
    },
    HybridSearch: async (r) => {
      const d = await schemaOf(name(r));
      const rank = kvMap(r.rank_params);
      const rankParams = jsonParam(rank.params, "rank_params.params");
      const limit = Number(rank.limit);
      const outputs = outputFields(r, d);
      const hits = await client.hybrid_search({
        collection_name: name(r),
        reqs: ((r.requests as Req[]) ?? []).map((sub) => {
          const p = kvMap(sub.search_params);
          return { data: queryVectors(proto, sub), anns_field: p.anns_field, limit: Number(p.topk), ...filterOf(sub, "dsl"), param: searchParams(p) };
        }),
        ranker: rank.strategy === "weighted" ? { strategy: "weighted", params: rankParams as { weights: number[] } } : { strategy: "rrf", params: rankParams as { k?: number } },
        limit,
        ...(rank.offset && { offset: Number(rank.offset) }),
        output_fields: outputs,
        ...(partitions(r) && { partition_names: partitions(r) }),
        ...consistency(r),
      });
      return searchReply(hits, d, limit, outputs);
    },
    Query: async (r) => {
      const d = await schemaOf(name(r));
      const p = kvMap(r.query_params);
      const outputs = outputFields(r, d);
      const rows = await client.query({
        collection_name: name(r),
        ...filterOf(r, "expr"),
        output_fields: outputs,
        ...(p.limit && { limit: Number(p.limit) }),
        ...(p.offset && { offset: Number(p.offset) }),
        ...(partitions(r) && { partition_names: partitions(r) }),
        ...consistency(r),
      });
      const counted = rows.length === 1 && "count(*)" in rows[0];
      return {
        status: OK_STATUS,
        collection_name: d.collection_name,
        ...(counted ? { fields_data: [int64Column("count(*)", [rows[0]["count(*)"]])], output_fields: ["count(*)"] } : rowsToFieldData(rows, d, outputs)),
        primary_field_name: d.schema.fields.find((f) => f.is_primary)!.name,
      };
    },
  };

  /**
   * Whether the searched field's metric ranks larger distances closer (IP,
   * COSINE): from a page's own order when it shows it, else from the field's
   * index.
   */
  async function largerCloser(d: CollectionDescription, p: Record<string, string>, hits: Hit[]): Promise<boolean> {
    const first = hits[0].distance;
    const last = hits[hits.length - 1].distance;
    if (first !== last) return first > last;
    if (p.metric_type) return largerIsCloser(p.metric_type as MetricType);
    const field = p.anns_field || d.schema.fields.find((f) => f.type === "FloatVector")!.name;
    const ix = await client.describe_index({ collection_name: d.collection_name, field_name: field }).catch(() => undefined);
    return largerIsCloser(ix?.metric_type ?? d.metric_type);
  }

  /** The collection a request names, by name or (the Node SDK's compact and getReplicas) by id. */
  async function collectionOf(r: Req): Promise<string> {
    if (name(r) !== "") return name(r);
    const id = Number(r.collectionID);
    for (const c of await client.list_collections()) if ((await describe(c)).collection_id === id) return c;
    throw new VecbusError("COLLECTION_NOT_FOUND", `no collection has id ${String(r.collectionID)}`);
  }

  /** The partitions a request names, each of which must exist. */
  async function requirePartitions(r: Req): Promise<string[]> {
    const asked = partitions(r) ?? [];
    if (asked.length === 0) throw new VecbusError("INVALID_ARGUMENT", "partition_names is empty");
    for (const p of asked) {
      if (!(await client.has_partition({ collection_name: name(r), partition_name: p }))) throw new VecbusError("PARTITION_NOT_FOUND", `partition "${p}" does not exist in collection "${name(r)}"`);
    }
    return asked;
  }

  /** The index a request names by index_name, or by field_name; with neither, the collection's only one. */
  function indexOf(r: Req) {
    const field = String(r.field_name ?? "");
    const index = String(r.index_name ?? "");
    return client.describe_index({ collection_name: name(r), ...(index ? { index_name: index } : field ? { field_name: field } : {}) });
  }

  async function write(kind: "insert" | "upsert", r: Req): Promise<Req> {
    const rows = rowsFromFieldData((r.fields_data as Req[]) ?? [], Number(r.num_rows));
    const partition = String(r.partition_name ?? "");
    // Described first: a collection dropped between the write and the describe would fail an acked write.
    const d = await describe(name(r));
    const res = await client[kind]({ collection_name: name(r), data: rows, ...(partition && { partition_name: partition }) });
    const pkType = d.schema.fields.find((f) => f.is_primary)!.type;
    const count = String("insert_count" in res ? res.insert_count : res.upsert_count);
    return {
      status: OK_STATUS,
      IDs: idsOf(res.ids, pkType),
      succ_index: rows.map((_, i) => i),
      ...(kind === "insert" ? { insert_cnt: count } : { upsert_cnt: count }),
      timestamp: res.timestamp.toString(),
    };
  }

  return handlers;
}

/** A failure as any reply: a method's own Status, or the `status` of its response message (protobufjs ignores the other keys). */
function asReply(status: Req): Req {
  return { ...status, status };
}

function name(r: Req): string {
  return String(r.collection_name ?? "");
}

function partitions(r: Req): string[] | undefined {
  const p = (r.partition_names as string[] | undefined) ?? [];
  return p.length > 0 ? p : undefined;
}

/** The request's level, unless it asks for the collection's default (or Customized, which vecbus has not). */
function consistency(r: Req): { consistency_level?: ConsistencyLevel } {
  const level = String(r.consistency_level ?? "");
  return !r.use_default_consistency && (CONSISTENCY_LEVELS as readonly string[]).includes(level) ? { consistency_level: level as ConsistencyLevel } : {};
}

/** A search iterator's keys among a Search's params (Milvus 2.5's search_iter_v2); vecbus's cursor replaces them. */
const ITERATOR_KEYS = ["iterator", "search_iter_v2", "search_iter_batch_size", "search_iter_id", "search_iter_last_bound", "guarantee_timestamp", "collection_id"];

/**
 * A Search that is one page of a search iterator: its token (empty on the
 * first page), the bound its client sent, and its other params. The Node
 * SDK sends the iterator's keys inside the `params` JSON and as pairs of
 * their own, pymilvus as pairs only (strings: "True", "0.5").
 */
function iteratorOf(p: Record<string, string>): { token: string; lastBound: number | undefined; params: Record<string, unknown> } | undefined {
  const inParams = jsonParam(p.params, "search_params.params");
  const key = (k: string): unknown => inParams[k] ?? p[k];
  const v2 = key("search_iter_v2");
  if (v2 !== true && String(v2).toLowerCase() !== "true") return undefined;
  const bound = key("search_iter_last_bound");
  const lastBound = bound === undefined || bound === null || bound === "" ? undefined : Number(bound);
  if (lastBound !== undefined && !Number.isFinite(lastBound)) throw new VecbusError("INVALID_ARGUMENT", `search_iter_last_bound must be a number; got ${String(bound)}`);
  const token = key("search_iter_id");
  return {
    token: typeof token === "string" ? token : "",
    lastBound,
    params: Object.fromEntries(Object.entries(inParams).filter(([k]) => !ITERATOR_KEYS.includes(k))),
  };
}

/** A request's filter (`dsl` or `expr`) with its template values (`{name}` placeholders, Milvus 2.5). */
function filterOf(r: Req, key: "dsl" | "expr"): { filter?: string; filter_params?: Record<string, unknown> } {
  const filter = String(r[key] ?? "");
  const params = templateValues(r.expr_template_values);
  return { ...(filter && { filter }), ...(params && { filter_params: params }) };
}

/** `["*"]` (the SDK's default) means every field; no fields, the primary key alone, as in Milvus. */
function outputFields(r: Req, d: CollectionDescription): string[] {
  const asked = (r.output_fields as string[] | undefined) ?? [];
  if (asked.includes("*")) return ["*"];
  const named = asked.filter((f) => f !== "" && (f !== "$meta" || d.schema.enable_dynamic_field));
  return named.length > 0 ? named : [d.schema.fields.find((f) => f.is_primary)!.name];
}

/** A Search's query vectors, from its placeholder group (float32 bytes, one value per query). */
function queryVectors(proto: MilvusProto, r: Req): number[][] {
  if (r.search_input !== "placeholder_group") throw new VecbusError("INVALID_ARGUMENT", "a search needs query vectors (placeholder_group) or primary keys (ids)");
  return proto
    .decodePlaceholders(r.placeholder_group as Uint8Array)
    .flatMap((g) => {
      if (g.type !== "FloatVector") throw new VecbusError("INVALID_ARGUMENT", `vecbus searches FloatVector queries; got ${g.type}`);
      return g.values.map((b) => {
        if (b.byteLength % 4 !== 0) throw new VecbusError("INVALID_ARGUMENT", `a FloatVector query of ${b.byteLength} bytes is not float32 values`);
        return Array.from(new Float32Array(Uint8Array.from(b).buffer));
      });
    });
}

/** Primary keys from a schema.IDs message. */
function keysOf(ids: Req | undefined): PrimaryKey[] {
  if (ids?.id_field === "str_id") return (ids.str_id as { data: string[] }).data;
  if (ids?.id_field === "int_id") return (ids.int_id as { data: string[] }).data.map((x) => int64Of(BigInt(x))!);
  throw new VecbusError("INVALID_ARGUMENT", "a search by primary keys needs ids (int_id or str_id)");
}

function searchParams(p: Record<string, string>): SearchParams {
  return { ...(p.metric_type && { metric_type: p.metric_type as MetricType }), params: jsonParam(p.params, "search_params.params") as SearchParams["params"] };
}

/** Hits as Milvus's SearchResultData: flat scores and ids, counted per query by topks, with the primary key among the columns. */
function searchReply(hits: Hit[][], d: CollectionDescription, limit: number, outputs: string[]): Req {
  const pk = d.schema.fields.find((f) => f.is_primary)!;
  const flat = hits.flat();
  return {
    status: OK_STATUS,
    collection_name: d.collection_name,
    results: {
      num_queries: String(hits.length),
      top_k: String(limit),
      topks: hits.map((h) => String(h.length)),
      scores: flat.map((h) => h.distance),
      ids: idsOf(
        flat.map((h) => h.id),
        pk.type,
      ),
      ...rowsToFieldData(
        flat.map((h) => ({ [pk.name]: h.id, ...h.entity })),
        d,
        outputs,
      ),
      primary_field_name: pk.name,
    },
  };
}

function describeReply(d: CollectionDescription): Req {
  return {
    status: OK_STATUS,
    schema: schemaToMilvus(d),
    collectionID: String(d.collection_id),
    collection_name: d.collection_name,
    shards_num: d.num_shards,
    consistency_level: d.consistency_level,
    created_timestamp: String(d.created_at),
    created_utc_timestamp: String(d.created_at),
    aliases: d.aliases,
    num_partitions: String(d.num_partitions),
    properties: [],
  };
}

/** A node's number where Milvus wants one (FNV-1a of its name: stable, not unique by construction). */
function nodeNumber(nodeId: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < nodeId.length; i++) h = Math.imul(h ^ nodeId.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}
