// What the coordinator's jobs share: one leader's context, options and
// in-memory bookkeeping. Each job (ddl.ts, shards.ts, indexes.ts,
// compaction.ts, placement.ts, gc.ts, ids.ts) is a set of functions of it;
// coordinator.ts holds the lease and dispatches to them.
import type { BlobStore } from "../../storage/object-store.js";
import type { ActorContext } from "../context.js";
import type { TimestampOracle } from "../tso.js";
import type { CoordinatorOptions } from "./coordinator.js";

export interface CoordinatorState {
  readonly ctx: ActorContext;
  readonly opts: CoordinatorOptions;
  readonly tso: TimestampOracle;
  /** msgID -> when this leader last queued that build task: re-queued only once the duplicate window has passed. */
  readonly queued: Map<string, number>;
  /** Opened at first use: only drops and compactions touch objects. */
  blobs: BlobStore | undefined;
  /** Placement runs one at a time: each waits for the one before. */
  placing: Promise<unknown>;
  /** When the last balancing move of a shard began (one at a time, BALANCE_PAUSE_MS apart), and whether it is still running. */
  shardMove: { at: number; running: boolean };
}
