// One table of every error code the public API returns. Codes are stable
// strings (clients switch on them); `retriable` tells a client whether sending
// the same request again can succeed without changing it.

export const ErrorCode = {
  INVALID_ARGUMENT: "INVALID_ARGUMENT",
  MALFORMED_REQUEST: "MALFORMED_REQUEST",
  UNKNOWN_METHOD: "UNKNOWN_METHOD",
  UNAUTHENTICATED: "UNAUTHENTICATED",
  PERMISSION_DENIED: "PERMISSION_DENIED",
  PAYLOAD_TOO_LARGE: "PAYLOAD_TOO_LARGE",
  RESOURCE_EXHAUSTED: "RESOURCE_EXHAUSTED",
  COLLECTION_NOT_FOUND: "COLLECTION_NOT_FOUND",
  COLLECTION_ALREADY_EXISTS: "COLLECTION_ALREADY_EXISTS",
  COLLECTION_NOT_LOADED: "COLLECTION_NOT_LOADED",
  PARTITION_NOT_FOUND: "PARTITION_NOT_FOUND",
  PARTITION_ALREADY_EXISTS: "PARTITION_ALREADY_EXISTS",
  ALIAS_NOT_FOUND: "ALIAS_NOT_FOUND",
  ALIAS_ALREADY_EXISTS: "ALIAS_ALREADY_EXISTS",
  INDEX_NOT_FOUND: "INDEX_NOT_FOUND",
  DIMENSION_MISMATCH: "DIMENSION_MISMATCH",
  FIELD_NOT_FOUND: "FIELD_NOT_FOUND",
  MISSING_FIELD: "MISSING_FIELD",
  INVALID_FIELD_VALUE: "INVALID_FIELD_VALUE",
  SCHEMA_INVALID: "SCHEMA_INVALID",
  FILTER_SYNTAX: "FILTER_SYNTAX",
  FILTER_TYPE: "FILTER_TYPE",
  SHARD_NOT_READY: "SHARD_NOT_READY",
  NOT_LEADER: "NOT_LEADER",
  CONFLICT: "CONFLICT",
  TIMEOUT: "TIMEOUT",
  UNAVAILABLE: "UNAVAILABLE",
  INTERNAL: "INTERNAL",
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export const RETRIABLE: Record<ErrorCode, boolean> = {
  INVALID_ARGUMENT: false,
  MALFORMED_REQUEST: false,
  UNKNOWN_METHOD: false,
  UNAUTHENTICATED: false,
  PERMISSION_DENIED: false,
  PAYLOAD_TOO_LARGE: false,
  // A full WAL empties as its segments are flushed; a full server store needs its operator.
  RESOURCE_EXHAUSTED: false,
  COLLECTION_NOT_FOUND: false,
  COLLECTION_ALREADY_EXISTS: false,
  COLLECTION_NOT_LOADED: false,
  PARTITION_NOT_FOUND: false,
  PARTITION_ALREADY_EXISTS: false,
  ALIAS_NOT_FOUND: false,
  ALIAS_ALREADY_EXISTS: false,
  INDEX_NOT_FOUND: false,
  DIMENSION_MISMATCH: false,
  FIELD_NOT_FOUND: false,
  MISSING_FIELD: false,
  INVALID_FIELD_VALUE: false,
  SCHEMA_INVALID: false,
  FILTER_SYNTAX: false,
  FILTER_TYPE: false,
  // A shard is between owners (failover or start-up replay); it comes back by itself.
  SHARD_NOT_READY: true,
  NOT_LEADER: true,
  // Lost a compare-and-set race on meta; the next attempt reads the new revision.
  CONFLICT: true,
  TIMEOUT: true,
  UNAVAILABLE: true,
  INTERNAL: false,
};

export interface ErrorBody {
  code: ErrorCode;
  message: string;
}

/** The one error type that crosses actor boundaries: it becomes the reply's `error`. */
export class VecbusError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string) {
    super(message);
    this.name = "VecbusError";
    this.code = code;
  }
  get retriable(): boolean {
    return RETRIABLE[this.code];
  }
  toBody(): ErrorBody {
    return { code: this.code, message: this.message };
  }
}

export function isErrorCode(s: unknown): s is ErrorCode {
  return typeof s === "string" && Object.hasOwn(ErrorCode, s);
}
