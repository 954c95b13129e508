// Every bound on what a request may contain, in one table: each has a default
// and an environment variable that overrides it (read once, at first use). The
// README's "Limits" table lists the same entries.

export const LIMITS = {
  filterLength: {
    env: "VECBUS_FILTER_MAX_LENGTH",
    default: 65_536,
    what: "characters in a filter expression",
  },
  filterDepth: {
    env: "VECBUS_FILTER_MAX_DEPTH",
    // The parser takes about a dozen stack frames per parenthesis and overflowed
    // node's default stack just under 1000 levels; 256 leaves room for callers.
    default: 256,
    what: "levels of nesting in a filter: parentheses, operators, chained and/or terms, nested arrays",
  },
  filterInList: {
    env: "VECBUS_FILTER_MAX_IN",
    default: 65_536,
    what: "values in one `in` / `not in` list (also from a template)",
  },
  jsonDepth: {
    env: "VECBUS_JSON_MAX_DEPTH",
    // Deep enough for any document a filter can address; far below what a recursive encoder overflows on.
    default: 64,
    what: "levels of nesting in a JSON field's value or a dynamic field's value (lists and maps)",
  },
  jsonBytes: {
    env: "VECBUS_JSON_MAX_BYTES",
    // Milvus's limit on one JSON value.
    default: 65_536,
    what: "bytes of one JSON field's value, or of a row's dynamic fields together, written as JSON",
  },
  guaranteeAheadMs: {
    env: "VECBUS_GUARANTEE_MAX_AHEAD_MS",
    // A write's timestamp is the oracle's clock, which a new coordinator starts past the persisted window of the
    // one before (actors/tso.ts, 3 s ahead): two failovers in a row put writes ~6 s ahead. More than this is no write's.
    default: 10_000,
    what: "milliseconds a read's guarantee_timestamp may be ahead of the clock",
  },
  waitingReads: {
    env: "VECBUS_SHARD_MAX_WAITING_READS",
    default: 1_024,
    what: "reads one shard holds while they wait for their guarantee timestamp (they hold no request slot)",
  },
  // Storage budgets. JetStream reserves a stream's max_bytes out of the server's store when the
  // stream is created, so each is also what one stream takes from the server's capacity.
  walBytes: {
    env: "VECBUS_WAL_MAX_BYTES",
    // Holds only what is not flushed yet: a few growing segments' worth.
    default: 1 << 30,
    what: "bytes of one shard's WAL stream (records not flushed to a segment yet)",
  },
  segmentBytes: {
    env: "VECBUS_SEGMENT_MAX_BYTES",
    // Half the WAL bound (see sealBytes). A million 128-d rows as the bench inserts them take ~525 MB of WAL records:
    // one segment, searched through one graph: 0.69-0.80 of a bare NATS + usearch responder's QPS in three runs,
    // against 0.455 for two segments of 500k (README, Performance).
    default: 512 << 20,
    what: "bytes of WAL records in one growing segment before it is sealed (it also seals at VECBUS_SEGMENT_ROWS_MAX rows, and at half of VECBUS_WAL_MAX_BYTES)",
  },
  taskBytes: {
    env: "VECBUS_TASKS_MAX_BYTES",
    default: 64 << 20,
    what: "bytes of the task queue stream",
  },
  metaBytes: {
    env: "VECBUS_META_MAX_BYTES",
    // Its own reservation: a full WAL or object store cannot take the room a drop needs for its tombstones.
    default: 256 << 20,
    what: "bytes of the meta bucket (with its history)",
  },
  replicas: {
    env: "VECBUS_REPLICAS",
    default: 1,
    what: "copies JetStream keeps of every stream and bucket vecbus creates (3 on a 3-node NATS cluster)",
  },
  objectBytes: {
    env: "VECBUS_OBJECTS_MAX_BYTES",
    default: 0,
    what: "bytes of the segment object store (0: as much as the server's JetStream store allows)",
  },
  queryVectorBytes: {
    env: "VECBUS_QUERY_VECTOR_MEMORY_BYTES",
    // Every 128-d vector of a 250k-row segment. 256 MiB held one 500k segment of a 1M-row collection beside the
    // two index files the query node maps (which hold the vectors too): 1,612 MB resident with the search threads,
    // 1,374 MB with 128 MiB, its 1% filter 141 -> 125 QPS, 10% 479 -> 545 (one `vecbus bench --rows 1000000` each).
    default: 128 << 20,
    what: "bytes of vector columns one query node holds in memory (exact scoring reads the others from its segment files)",
  },
  queryVectorCodeBytes: {
    env: "VECBUS_QUERY_VECTOR_CODE_BYTES",
    // A byte a dimension (and 8 a row when laid out in a scalar index's order): every 128-d vector of a 1.9M-row collection.
    default: 256 << 20,
    what: "bytes of int8 codes one query node holds of the vector columns it leaves on disk, and of the map of their layout (a selective filter's rows are ranked by code, and only the best read from the file)",
  },
  ownerSegmentVectorBytes: {
    env: "VECBUS_OWNER_SEGMENT_VECTOR_BYTES",
    // A flushed segment waits for its index build (~250 s at 1M rows) in its owner; at 1M 128-d rows its 488 MiB of
    // vectors beside the build's own 746 MB put a `vecbus serve` at 1.5 GB resident (README, Performance).
    default: 64 << 20,
    what: "bytes of one flushed segment's vector columns its shard owner keeps in memory until a query node serves it (a larger segment's go to a local file, read from there)",
  },
  querySearchThreads: {
    env: "VECBUS_QUERY_SEARCH_THREADS",
    default: 2,
    what: "threads one query node walks large HNSW graphs on, off its event loop (each index file on one of them)",
  },
  queryThreadIndexBytes: {
    env: "VECBUS_QUERY_THREAD_INDEX_BYTES",
    // Measured in actors/query.ts (threadsFor): two 500k-row 128-d graphs gained 41%, one of 100k nothing.
    default: 128 << 20,
    what: "bytes of an index file above which a query node walks its graph on a search thread",
  },
  // The Milvus front door faces any client that reaches its port.
  milvusConnections: {
    env: "VECBUS_MILVUS_MAX_CONNECTIONS",
    default: 1_024,
    what: "connections open at once to the Milvus front door",
  },
  milvusFirstBytesMs: {
    env: "VECBUS_MILVUS_FIRST_BYTES_MS",
    default: 10_000,
    what: "milliseconds a new connection to the Milvus front door may stay silent",
  },
  milvusGrpcIdleMs: {
    env: "VECBUS_MILVUS_GRPC_IDLE_MS",
    default: 300_000,
    what: "milliseconds a gRPC connection without calls stays open (the SDK reconnects when it next calls)",
  },
  milvusGrpcStreams: {
    env: "VECBUS_MILVUS_GRPC_MAX_STREAMS",
    default: 100,
    what: "calls at once on one gRPC connection",
  },
  milvusHttpIdleMs: {
    env: "VECBUS_MILVUS_HTTP_IDLE_MS",
    default: 120_000,
    what: "milliseconds an HTTP connection may stay silent",
  },
  milvusHttpHeadersMs: {
    env: "VECBUS_MILVUS_HTTP_HEADERS_MS",
    default: 10_000,
    what: "milliseconds for an HTTP request's headers",
  },
  milvusHttpRequestMs: {
    env: "VECBUS_MILVUS_HTTP_REQUEST_MS",
    default: 60_000,
    what: "milliseconds for an HTTP request with its body",
  },
  milvusCallers: {
    env: "VECBUS_MILVUS_CALLERS",
    default: 64,
    what: "NATS connections the Milvus front door keeps for callers with credentials (the least recently used is closed)",
  },
  milvusConnecting: {
    env: "VECBUS_MILVUS_CONNECTING",
    default: 16,
    what: "callers' credentials the Milvus front door checks with NATS at once",
  },
  milvusPasswordChars: {
    env: "VECBUS_MILVUS_PASSWORD_MAX_CHARS",
    default: 72,
    what: "characters in a password set through the Milvus front door (CreateCredential, UpdateCredential; Milvus's bound)",
  },
  milvusUserChanges: {
    env: "VECBUS_MILVUS_USER_CHANGES_PER_MINUTE",
    default: 30,
    what: "user changes through the Milvus front door per minute that change the users file (each reloads the NATS server's config): the managers' together, and users' changes of their own passwords together",
  },
  milvusOwnPasswordChanges: {
    env: "VECBUS_MILVUS_OWN_PASSWORD_CHANGES_PER_MINUTE",
    default: 3,
    what: "changes of a user's own password through the Milvus front door per minute",
  },
  apiUsers: {
    env: "VECBUS_MAX_API_USERS",
    default: 1000,
    what: "API users of one data dir",
  },
} as const satisfies Record<string, { env: string; default: number; what: string }>;

export type LimitName = keyof typeof LIMITS;

const resolved = new Map<LimitName, number>();

/** The limit's value: its environment variable when that is a positive integer, else its default. */
export function limit(name: LimitName): number {
  let v = resolved.get(name);
  if (v === undefined) {
    const raw = globalThis.process?.env[LIMITS[name].env];
    const n = raw === undefined ? NaN : Number(raw);
    v = Number.isSafeInteger(n) && n > 0 ? n : LIMITS[name].default;
    resolved.set(name, v);
  }
  return v;
}

/**
 * WAL bytes at which a growing segment seals: VECBUS_SEGMENT_MAX_BYTES, but
 * at most half the WAL's bound, so that the WAL holds a segment being
 * flushed and the next one growing without refusing writes.
 */
export function sealBytes(): number {
  return Math.min(limit("segmentBytes"), Math.floor(limit("walBytes") / 2));
}

/** The "at most N <what> (ENV_VAR)" phrase that error messages quote. */
export function limitText(name: LimitName): string {
  return `at most ${limit(name)} ${LIMITS[name].what.split(":")[0]} (${LIMITS[name].env})`;
}
