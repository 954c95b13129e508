// Milvus's REST API v2 (POST /v2/vectordb/<resource>/<action> with a JSON
// body, replies {code, data} or {code, message}), over the NATS API as the
// gRPC front door does it: each route is the same call through the client
// of the caller's credentials (`Authorization: Bearer user:password`); the
// user and role routes, where the front door holds the serve's users file,
// go through the gRPC RPCs' handlers.
import type { IncomingMessage, ServerResponse } from "node:http";
import type { CollectionDescription, Hit } from "../../protocol/api.js";
import type { ConsistencyLevel } from "../../protocol/collection.js";
import { VecbusError } from "../../protocol/errors.js";
import type { PrimaryKey, Row } from "../../protocol/rows.js";
import type { DataType, FieldSchema, MetricType } from "../../protocol/schema.js";
import type { IndexParam, VecbusClient } from "../../runtime/client.js";
import { jsonText, parseJson } from "../../runtime/json.js";
import { callerOf, type Callers } from "./callers.js";
import { databaseNotFound, DEFAULT_DATABASE, statusOf } from "./milvus-status.js";
import { MilvusUsers, type UserDirectory } from "./milvus-users.js";

/** A body larger than the NATS API could carry (nats.conf's max_payload) is refused unread. */
const MAX_BODY_BYTES = 8 << 20;

type Body = Record<string, unknown>;
type Route = (client: VecbusClient, b: Body) => Promise<unknown>;

const str = (b: Body, key: string): string => {
  const v = b[key];
  if (typeof v !== "string" || v === "") throw new VecbusError("INVALID_ARGUMENT", `"${key}" is required (a string)`);
  return v;
};
const opt = <T>(b: Body, key: string): T | undefined => (b[key] === undefined || b[key] === null ? undefined : (b[key] as T));
const collection = (b: Body) => str(b, "collectionName");

function restField(f: Body): FieldSchema {
  const p = (opt<Body>(f, "elementTypeParams") ?? {}) as Record<string, unknown>;
  return {
    name: str(f, "fieldName"),
    type: str(f, "dataType") as DataType,
    ...(f.isPrimary === true && { is_primary: true }),
    ...(f.autoId === true && { auto_id: true }),
    ...(p.dim !== undefined && { dim: Number(p.dim) }),
    ...(p.max_length !== undefined && { max_length: Number(p.max_length) }),
    ...(p.max_capacity !== undefined && { max_capacity: Number(p.max_capacity) }),
    ...(f.elementDataType !== undefined && { element_type: f.elementDataType as FieldSchema["element_type"] }),
    ...(f.nullable === true && { nullable: true }),
    // Passed on as sent: the schema's check refuses anything but a boolean.
    ...(f.isPartitionKey !== undefined && { is_partition_key: f.isPartitionKey as boolean }),
    ...(f.isClusteringKey !== undefined && { is_clustering_key: f.isClusteringKey as boolean }),
  };
}

/** REST indexParams entries ({fieldName, indexName, metricType, indexType or params.index_type, params}) as vecbus's. */
function indexParams(list: unknown): IndexParam[] {
  return ((list as Body[] | undefined) ?? []).map((ix) => {
    const { index_type, ...params } = (opt<Body>(ix, "params") ?? {}) as Body;
    const type = opt<string>(ix, "indexType") ?? (index_type as string | undefined);
    return {
      field_name: str(ix, "fieldName"),
      ...(type && { index_type: type }),
      ...(opt<string>(ix, "metricType") && { metric_type: ix.metricType as MetricType }),
      ...(opt<string>(ix, "indexName") && { index_name: ix.indexName as string }),
      ...(Object.keys(params).length > 0 && { params }),
    };
  });
}

const consistency = (b: Body): { consistency_level?: ConsistencyLevel } => (opt<string>(b, "consistencyLevel") ? { consistency_level: b.consistencyLevel as ConsistencyLevel } : {});
const partitions = (b: Body): { partition_names?: string[] } => (opt<string[]>(b, "partitionNames")?.length ? { partition_names: b.partitionNames as string[] } : {});
const outputs = (b: Body): { output_fields?: string[] } => (opt<string[]>(b, "outputFields") ? { output_fields: b.outputFields as string[] } : {});

function describeData(d: CollectionDescription, load: string): Body {
  return {
    collectionName: d.collection_name,
    collectionID: d.collection_id,
    autoId: d.schema.fields.some((f) => f.is_primary && f.auto_id),
    enableDynamicField: d.schema.enable_dynamic_field,
    shardsNum: d.num_shards,
    partitionsNum: d.num_partitions,
    consistencyLevel: d.consistency_level,
    aliases: d.aliases,
    load,
    fields: d.schema.fields.map((f) => ({
      name: f.name,
      type: f.type,
      primaryKey: Boolean(f.is_primary),
      autoId: Boolean(f.auto_id),
      partitionKey: Boolean(f.is_partition_key),
      clusteringKey: Boolean(f.is_clustering_key),
      nullable: Boolean(f.nullable),
      ...(f.element_type && { elementType: f.element_type }),
      params: [
        ...(f.dim !== undefined ? [{ key: "dim", value: String(f.dim) }] : []),
        ...(f.max_length !== undefined ? [{ key: "max_length", value: String(f.max_length) }] : []),
        ...(f.max_capacity !== undefined ? [{ key: "max_capacity", value: String(f.max_capacity) }] : []),
      ],
    })),
  };
}

const ROUTES: Record<string, Route> = {
  "collections/create": async (c, b) => {
    const schema = opt<Body>(b, "schema");
    const params = (opt<Body>(b, "params") ?? {}) as Body;
    await c.create_collection({
      collection_name: collection(b),
      ...(schema
        ? {
            schema: {
              fields: ((schema.fields as Body[] | undefined) ?? []).map((f) => (f.isPrimary === true && schema.autoId === true ? { ...restField(f), auto_id: true } : restField(f))),
              enable_dynamic_field: schema.enableDynamicField === true,
            },
          }
        : {
            dimension: Number(b.dimension),
            ...(opt<string>(b, "metricType") && { metric_type: b.metricType as MetricType }),
            ...(opt<string>(b, "idType") && { id_type: b.idType === "VarChar" ? "string" : "int" }),
            ...(b.autoId === true && { auto_id: true }),
            ...(opt<string>(b, "primaryFieldName") && { primary_field_name: b.primaryFieldName as string }),
            ...(opt<string>(b, "vectorFieldName") && { vector_field_name: b.vectorFieldName as string }),
          }),
      ...(b.indexParams !== undefined && { index_params: indexParams(b.indexParams) }),
      ...(params.shardsNum !== undefined && { num_shards: Number(params.shardsNum) }),
      ...(params.consistencyLevel !== undefined && { consistency_level: params.consistencyLevel as ConsistencyLevel }),
    });
    return {};
  },
  "collections/list": (c) => c.list_collections(),
  "collections/has": async (c, b) => ({ has: await c.has_collection({ collection_name: collection(b) }) }),
  "collections/describe": async (c, b) => {
    const d = await c.describe_collection({ collection_name: collection(b) });
    return describeData(d, `LoadState${(await c.get_load_state({ collection_name: collection(b) })).state}`);
  },
  "collections/drop": async (c, b) => (await c.drop_collection({ collection_name: collection(b) }), {}),
  "collections/load": async (c, b) => (await c.load_collection({ collection_name: collection(b) }), {}),
  "collections/release": async (c, b) => (await c.release_collection({ collection_name: collection(b) }), {}),
  "collections/flush": async (c, b) => (await c.flush({ collection_name: collection(b) }), {}),
  "collections/get_load_state": async (c, b) => {
    const s = await c.get_load_state({ collection_name: collection(b) });
    return { loadState: `LoadState${s.state}`, loadProgress: s.progress };
  },
  "collections/rename": async (c, b) => (await c.rename_collection({ old_name: collection(b), new_name: str(b, "newCollectionName") }), {}),
  "collections/get_stats": async (c, b) => ({ rowCount: (await c.get_collection_stats({ collection_name: collection(b) })).row_count }),
  "entities/insert": async (c, b) => {
    const r = await c.insert({ collection_name: collection(b), data: b.data as Row[], ...(opt<string>(b, "partitionName") && { partition_name: b.partitionName as string }) });
    return { insertCount: r.insert_count, insertIds: r.ids };
  },
  "entities/upsert": async (c, b) => {
    const r = await c.upsert({ collection_name: collection(b), data: b.data as Row[], ...(opt<string>(b, "partitionName") && { partition_name: b.partitionName as string }) });
    return { upsertCount: r.upsert_count, upsertIds: r.ids };
  },
  "entities/delete": async (c, b) => (await c.delete({ collection_name: collection(b), filter: str(b, "filter"), ...(opt<string>(b, "partitionName") && { partition_name: b.partitionName as string }) }), {}),
  "entities/query": (c, b) =>
    c.query({
      collection_name: collection(b),
      filter: opt<string>(b, "filter") ?? "",
      ...outputs(b),
      ...(opt<number>(b, "limit") !== undefined && { limit: Number(b.limit) }),
      ...(opt<number>(b, "offset") !== undefined && { offset: Number(b.offset) }),
      ...partitions(b),
      ...consistency(b),
    }),
  "entities/hybrid_search": hybridSearch,
  "entities/get": (c, b) => {
    const id = b.id;
    return c.get({ collection_name: collection(b), ids: (Array.isArray(id) ? id : [id]) as PrimaryKey[], ...outputs(b), ...consistency(b) });
  },
  "indexes/create": async (c, b) => (await c.create_index({ collection_name: collection(b), index_params: indexParams(b.indexParams) }), {}),
  "indexes/list": (c, b) => c.list_indexes({ collection_name: collection(b) }),
  "indexes/describe": async (c, b) => {
    const ix = await c.describe_index({ collection_name: collection(b), index_name: str(b, "indexName") });
    return [{ fieldName: ix.field_name, indexName: ix.index_name, indexType: ix.index_type, metricType: ix.metric_type, indexState: ix.state, indexedRows: ix.indexed_rows, totalRows: ix.total_rows, pendingRows: ix.pending_index_rows }];
  },
  "indexes/drop": async (c, b) => (await c.drop_index({ collection_name: collection(b), index_name: str(b, "indexName") }), {}),
  "partitions/create": async (c, b) => (await c.create_partition({ collection_name: collection(b), partition_name: str(b, "partitionName") }), {}),
  "partitions/drop": async (c, b) => (await c.drop_partition({ collection_name: collection(b), partition_name: str(b, "partitionName") }), {}),
  "partitions/has": async (c, b) => ({ has: await c.has_partition({ collection_name: collection(b), partition_name: str(b, "partitionName") }) }),
  "partitions/list": (c, b) => c.list_partitions({ collection_name: collection(b) }),
  "aliases/create": async (c, b) => (await c.create_alias({ alias: str(b, "aliasName"), collection_name: collection(b) }), {}),
  "aliases/alter": async (c, b) => (await c.alter_alias({ alias: str(b, "aliasName"), collection_name: collection(b) }), {}),
  "aliases/drop": async (c, b) => (await c.drop_alias({ alias: str(b, "aliasName") }), {}),
  "aliases/describe": async (c, b) => {
    const a = await c.describe_alias({ alias: str(b, "aliasName") });
    return { aliasName: a.alias, collectionName: a.collection_name };
  },
  "aliases/list": async (c, b) => (await c.list_aliases(opt<string>(b, "collectionName") ? { collection_name: b.collectionName as string } : {})).aliases,
};

/** entities/search: hits of every query in one list (Milvus's `topks` says how many each), a row each: the key, `distance` and the output fields. */
async function search(c: VecbusClient, b: Body): Promise<{ data: Row[]; topks: number[] }> {
  const sp = (opt<Body>(b, "searchParams") ?? {}) as Body;
  const pk = await primaryKeyOf(c, b);
  const hits = await c.search({
    collection_name: collection(b),
    data: b.data as number[][],
    ...(opt<string>(b, "annsField") && { anns_field: b.annsField as string }),
    ...(opt<string>(b, "filter") && { filter: b.filter as string }),
    ...(opt<number>(b, "limit") !== undefined && { limit: Number(b.limit) }),
    ...(opt<number>(b, "offset") !== undefined && { offset: Number(b.offset) }),
    ...outputs(b),
    ...(opt<string>(b, "groupingField") && { group_by_field: b.groupingField as string }),
    search_params: { ...(opt<string>(sp, "metricType") && { metric_type: sp.metricType as MetricType }), params: (opt<Body>(sp, "params") ?? {}) as Body },
    ...partitions(b),
    ...consistency(b),
  });
  return { data: hitRows(hits.flat(), pk), topks: hits.map((h) => h.length) };
}

/** entities/hybrid_search: each entry of `search` is one vector field's search, `rerank` merges them (rrf or weighted). */
async function hybridSearch(c: VecbusClient, b: Body): Promise<Row[]> {
  const subs = opt<Body[]>(b, "search");
  if (!Array.isArray(subs) || subs.length === 0) throw new VecbusError("INVALID_ARGUMENT", `"search" is required: a list of searches, one per vector field`);
  const rerank = (opt<Body>(b, "rerank") ?? { strategy: "rrf" }) as Body;
  const rankParams = (opt<Body>(rerank, "params") ?? {}) as Body;
  const pk = await primaryKeyOf(c, b);
  const hits = await c.hybrid_search({
    collection_name: collection(b),
    reqs: subs.map((sub) => {
      if (sub === null || typeof sub !== "object" || Array.isArray(sub)) throw new VecbusError("INVALID_ARGUMENT", `each entry of "search" must be an object`);
      return {
        data: sub.data as number[][],
        ...(opt<string>(sub, "annsField") && { anns_field: sub.annsField as string }),
        ...(opt<number>(sub, "limit") !== undefined && { limit: Number(sub.limit) }),
        ...(opt<string>(sub, "filter") && { filter: sub.filter as string }),
        param: { ...(opt<string>(sub, "metricType") && { metric_type: sub.metricType as MetricType }), params: (opt<Body>(sub, "params") ?? {}) as Body },
      };
    }),
    ranker: rerank.strategy === "weighted" ? { strategy: "weighted", params: rankParams as { weights: number[] } } : { strategy: "rrf", params: rankParams as { k?: number } },
    ...(opt<number>(b, "limit") !== undefined && { limit: Number(b.limit) }),
    ...outputs(b),
    ...partitions(b),
    ...consistency(b),
  });
  return hitRows(hits.flat(), pk);
}

async function primaryKeyOf(c: VecbusClient, b: Body): Promise<string> {
  const d = await c.describe_collection({ collection_name: collection(b) });
  return d.schema.fields.find((f) => f.is_primary)!.name;
}

/** Hits as REST rows: the key, `distance` and the output fields. */
function hitRows(hits: Hit[], pk: string): Row[] {
  return hits.map((h) => ({ ...h.entity, [pk]: h.id, distance: h.distance }));
}

type UserRoute = (u: MilvusUsers, b: Body) => unknown;
const userName = (b: Body) => str(b, "userName");

/** Milvus's REST user and role routes, over the rules the gRPC RPCs use (milvus-users.ts). */
const USER_ROUTES: Record<string, UserRoute> = {
  "users/create": async (u, b) => (await u.create(userName(b), str(b, "password")), {}),
  "users/drop": async (u, b) => (await u.drop(userName(b)), {}),
  "users/update_password": async (u, b) => (await u.updatePassword(userName(b), str(b, "password"), str(b, "newPassword")), {}),
  "users/list": (u) => u.users().map((x) => x.user),
  "users/describe": (u, b) => u.describe(userName(b)).map((x) => x.role),
  "users/grant_role": async (u, b) => (await u.grant(userName(b), str(b, "roleName")), {}),
  "users/revoke_role": async (u, b) => (await u.revoke(userName(b), str(b, "roleName")), {}),
  "roles/list": (u) => u.roles("").map((x) => x.role),
};

/** The HTTP handler of the REST front door; `users`: the serve's users file, for the user and role routes. */
export function milvusRest(callers: Callers, users?: UserDirectory): (req: IncomingMessage, res: ServerResponse) => void {
  const send = (res: ServerResponse, status: number, body: unknown) => {
    // A body left unread (too large) ends the connection with the reply.
    res.writeHead(status, { "content-type": "application/json", ...(status === 413 && { connection: "close" }) });
    res.end(jsonText(body));
  };
  const tooLarge = (res: ServerResponse) => send(res, 413, { code: 1102, message: `a request body is at most ${MAX_BODY_BYTES} bytes` });
  return (req, res) => {
    void (async () => {
      const path = (req.url ?? "").split("?")[0].replace(/^\/v2\/vectordb\//, "");
      const route = Object.hasOwn(ROUTES, path) ? ROUTES[path] : undefined;
      const userRoute = users && Object.hasOwn(USER_ROUTES, path) ? USER_ROUTES[path] : undefined;
      if (req.method !== "POST" || (!route && !userRoute && path !== "entities/search")) {
        req.resume();
        const served = [...Object.keys(ROUTES), "entities/search", ...(users ? Object.keys(USER_ROUTES) : [])];
        return send(res, 404, { code: 1100, message: `vecbus's Milvus REST front door has no ${req.method} ${req.url}; it serves POST /v2/vectordb/{${served.join(",")}}` });
      }
      if (Number(req.headers["content-length"] ?? 0) > MAX_BODY_BYTES) return tooLarge(res);
      try {
        // Who calls is settled before the body is read: a caller NATS refuses costs no buffering.
        const auth = String(req.headers.authorization ?? "").replace(/^Bearer\s*/i, "").trim();
        const client = await callers.of(auth);
        const body = await readBody(req);
        if (body === undefined) return tooLarge(res);
        const parsed = body.length === 0 ? {} : parseJson(body.toString("utf8"));
        if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) throw new VecbusError("INVALID_ARGUMENT", "the body must be a JSON object");
        const db = (parsed as Body).dbName;
        if (db !== undefined && db !== null && db !== "" && db !== DEFAULT_DATABASE) {
          const missing = databaseNotFound(String(db));
          return send(res, 200, { code: missing.code, message: missing.reason });
        }
        if (userRoute) return send(res, 200, { code: 0, data: await userRoute(new MilvusUsers(users!, callerOf(auth), (user, kept) => callers.forget(user, kept)), parsed as Body) });
        if (path === "entities/search") return send(res, 200, { code: 0, ...(await search(client, parsed as Body)) });
        send(res, 200, { code: 0, data: await route!(client, parsed as Body) });
      } catch (e) {
        const s = e instanceof SyntaxError ? statusOf(new VecbusError("INVALID_ARGUMENT", `the body is not JSON: ${e.message}`)) : statusOf(e);
        send(res, 200, { code: s.code, message: s.reason });
      }
    })().catch(() => res.destroy());
  };
}

/** The body, or undefined when it is larger than MAX_BODY_BYTES (the rest is not read). */
function readBody(req: IncomingMessage): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        req.off("data", onData);
        req.pause();
        resolve(undefined);
      } else chunks.push(chunk);
    };
    req.on("data", onData);
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}
