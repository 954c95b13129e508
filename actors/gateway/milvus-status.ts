// Milvus's status for a vecbus outcome. Milvus 2.3+ fills both the numeric
// `code` (its merr numbers) and the deprecated `error_code` enum, and the
// Node SDK decides success by `error_code` alone: both are always set.
import type { ErrorCode } from "../../protocol/errors.js";
import { RETRIABLE, VecbusError } from "../../protocol/errors.js";

export type MilvusStatus = {
  code: number;
  error_code: string;
  reason: string;
  retriable: boolean;
};

export const OK_STATUS: MilvusStatus = { code: 0, error_code: "Success", reason: "", retriable: false };

/** merr code, and the legacy ErrorCode Milvus's oldCode() gives it (UnexpectedError when it has none). */
const MILVUS_CODES: Record<ErrorCode, readonly [number, string]> = {
  INVALID_ARGUMENT: [1100, "IllegalArgument"],
  MALFORMED_REQUEST: [1100, "IllegalArgument"],
  DIMENSION_MISMATCH: [1100, "IllegalArgument"],
  MISSING_FIELD: [1100, "IllegalArgument"],
  INVALID_FIELD_VALUE: [1100, "IllegalArgument"],
  FILTER_SYNTAX: [1100, "IllegalArgument"],
  FILTER_TYPE: [1100, "IllegalArgument"],
  COLLECTION_ALREADY_EXISTS: [1100, "IllegalArgument"],
  PARTITION_ALREADY_EXISTS: [1100, "IllegalArgument"],
  SCHEMA_INVALID: [105, "UnexpectedError"],
  PAYLOAD_TOO_LARGE: [1102, "UnexpectedError"],
  UNKNOWN_METHOD: [10, "UnexpectedError"],
  UNAUTHENTICATED: [1400, "UnexpectedError"],
  PERMISSION_DENIED: [1401, "PermissionDenied"],
  RESOURCE_EXHAUSTED: [9, "UnexpectedError"],
  COLLECTION_NOT_FOUND: [100, "CollectionNotExists"],
  COLLECTION_NOT_LOADED: [101, "UnexpectedError"],
  PARTITION_NOT_FOUND: [200, "MetaFailed"],
  ALIAS_NOT_FOUND: [1600, "UnexpectedError"],
  ALIAS_ALREADY_EXISTS: [1602, "UnexpectedError"],
  INDEX_NOT_FOUND: [700, "IndexNotExist"],
  FIELD_NOT_FOUND: [1700, "UnexpectedError"],
  SHARD_NOT_READY: [2, "UnexpectedError"],
  NOT_LEADER: [2, "UnexpectedError"],
  UNAVAILABLE: [2, "UnexpectedError"],
  CONFLICT: [5, "UnexpectedError"],
  TIMEOUT: [10001, "UnexpectedError"],
  INTERNAL: [5, "UnexpectedError"],
};

export function statusOf(e: unknown): MilvusStatus {
  const err = e instanceof VecbusError ? e : new VecbusError("INTERNAL", `internal error: ${(e as Error)?.message ?? String(e)}`);
  const [code, error_code] = MILVUS_CODES[err.code];
  return { code, error_code, reason: `${err.code}: ${err.message}`, retriable: RETRIABLE[err.code] };
}

/** What an RPC vecbus does not implement answers (a Milvus status, not a gRPC error: the SDK would retry that until its deadline). */
export function unimplementedStatus(method: string): MilvusStatus {
  return { code: 10, error_code: "UnexpectedError", reason: `vecbus does not implement ${method} (see the README's Milvus compatibility table)`, retriable: false };
}

/** vecbus has one database, Milvus's default; a request naming another is refused as Milvus refuses an unknown one. */
export const DEFAULT_DATABASE = "default";

/** Milvus's "database not found" (merr 800): vecbus has the default database only. */
export function databaseNotFound(db: string): MilvusStatus {
  return { code: 800, error_code: "UnexpectedError", reason: `database not found[database=${db}]: vecbus has one database, "default"`, retriable: false };
}
