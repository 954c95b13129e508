// Who may connect to a vecbus NATS server, and what each of them is.
// Actor roles are the processes of the architecture; API roles are the
// built-in kinds of API user (Milvus's admin / read-write / read-only).
import { API_METHODS, type ApiMethod } from "./api.js";

/** Actor roles, in the order a process starts them: streaming first (its shards replay while the rest start), the proxy last. */
export const ROLES = ["streaming", "coordinator", "data", "query", "edge", "proxy"] as const;
export type Role = (typeof ROLES)[number];

export function isRole(s: string): s is Role {
  return (ROLES as readonly string[]).includes(s);
}

export const API_ROLES = ["admin", "readwrite", "readonly"] as const;
export type ApiRole = (typeof API_ROLES)[number];

export function isApiRole(s: string): s is ApiRole {
  return (API_ROLES as readonly string[]).includes(s);
}

/** The least role that may call each method: every method is listed, so a new one cannot slip in unclassified. */
const METHOD_ROLE: Record<ApiMethod, ApiRole> = {
  create_collection: "admin",
  drop_collection: "admin",
  rename_collection: "admin",
  create_alias: "admin",
  drop_alias: "admin",
  alter_alias: "admin",
  create_partition: "readwrite",
  drop_partition: "readwrite",
  insert: "readwrite",
  upsert: "readwrite",
  delete: "readwrite",
  flush: "readwrite",
  create_index: "readwrite",
  drop_index: "readwrite",
  load_collection: "readwrite",
  release_collection: "readwrite",
  compact: "readwrite",
  has_collection: "readonly",
  list_collections: "readonly",
  describe_collection: "readonly",
  get_collection_stats: "readonly",
  has_partition: "readonly",
  list_partitions: "readonly",
  describe_alias: "readonly",
  list_aliases: "readonly",
  search: "readonly",
  hybrid_search: "readonly",
  query: "readonly",
  get: "readonly",
  status: "readonly",
  describe_index: "readonly",
  list_indexes: "readonly",
  get_load_state: "readonly",
  describe_replica: "readonly",
  query_iterator: "readonly",
  search_iterator: "readonly",
  get_compaction_state: "readonly",
};

const RANK: Record<ApiRole, number> = { readonly: 0, readwrite: 1, admin: 2 };

/** The API methods a user of this role may call. */
export function methodsOf(role: ApiRole): ApiMethod[] {
  return API_METHODS.filter((m) => RANK[METHOD_ROLE[m]] <= RANK[role]);
}
