// The format of everything vecbus keeps in NATS. Every meta value, WAL record
// and task carries it as `format` (stamped by the store that writes it; those
// of release 0.1.0 have none and are format 1), segment files in their header
// (engine/segment-format.ts), index files in usearch's own header, and the
// store as a whole in the meta key `format`. A release that changes any
// of them raises DATA_FORMAT and opens the previous format (converting it on
// the way, or through a `vecbus migrate` it documents); a store of a newer
// format than the release knows is refused at start-up rather than misread.
import { VecbusError } from "./errors.js";

/**
 * 1: release 0.1.0's store (which carries no format key). 2: inserts are
 * written to the WAL as column batches (`insert_columns`); format 1's row
 * records are still replayed.
 */
export const DATA_FORMAT = 2;

export interface DataFormat {
  version: number;
}

/** The value as written: an object gets this release's `format`. */
export function stamped<T>(value: T): T {
  return value !== null && typeof value === "object" && !Array.isArray(value) && !ArrayBuffer.isView(value) ? { ...value, format: DATA_FORMAT } : value;
}

/**
 * The value as it was before stamped(), refusing one of a newer format than
 * this release reads (`where` names it); an unstamped one is format 1.
 */
export function unstamped(value: unknown, where: string): unknown {
  if (value === null || typeof value !== "object" || !("format" in value)) return value;
  const { format, ...rest } = value as { format: unknown };
  if (typeof format !== "number" || !Number.isInteger(format) || format > DATA_FORMAT) {
    throw new VecbusError("MALFORMED_REQUEST", `${where} is in data format ${String(format)}, newer than this release's ${DATA_FORMAT}`);
  }
  return rest;
}

/** Refuses a store this release cannot read; an absent key is a store of format 1 or an empty one. */
export function checkDataFormat(stored: unknown): void {
  const version = (stored as DataFormat | null)?.version ?? 1;
  if (typeof version !== "number" || version > DATA_FORMAT) {
    throw new VecbusError(
      "INVALID_ARGUMENT",
      `this store was written in data format ${String(version)}, newer than this release's ${DATA_FORMAT}: run the vecbus release that wrote it, or a newer one`,
    );
  }
}
