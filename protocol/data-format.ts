// The format of everything vecbus keeps in NATS, as one version for the whole
// store (meta values, WAL records, tasks, delete logs; segment files also
// carry their own, see engine/segment-format.ts). A release that changes any
// of them raises DATA_FORMAT and opens the previous format (converting it on
// the way, or through a `vecbus migrate` it documents); a store of a newer
// format than the release knows is refused at start-up rather than misread.
import { VecbusError } from "./errors.js";

/** 1: release 0.1.0's store (which carries no format key) and this release's. */
export const DATA_FORMAT = 1;

export interface DataFormat {
  version: number;
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
