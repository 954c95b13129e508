// Timestamps for WAL records come from the coordinator's oracle in windows,
// so a write is not a round trip to the coordinator. Each window is above
// every timestamp the oracle issued before it, so a write acknowledged
// before a reader asked the oracle for its guarantee is always below it.
import { VecbusError } from "../../protocol/errors.js";
import type { CoordinatorReplies } from "../../protocol/messages.js";
import type { ActorContext } from "../context.js";
import { retrying } from "../../runtime/retry.js";

const WINDOW = 1024;
/** A window's timestamps are used only while it is fresh: record timestamps track wall time for Bounded reads. */
const WINDOW_MAX_AGE_MS = 50;

/** How long a window request waits out a coordinator failover (no leader, or one not renewed lately). */
const FAILOVER_WAIT_MS = 8_000;

export class TimestampPool {
  private next = 0n;
  private end = 0n;
  private fetchedAt = 0;
  private refill: Promise<void> | undefined;

  constructor(private readonly ctx: ActorContext) {}

  /**
   * The next timestamp. A window below `atLeast` (a reader's guarantee, taken
   * from the oracle after this window) is replaced by a fresh one once.
   */
  async take(atLeast = 0n): Promise<bigint> {
    if (this.next < atLeast) await this.refilled();
    while (this.next >= this.end || Date.now() - this.fetchedAt > WINDOW_MAX_AGE_MS) await this.refilled();
    return this.next++;
  }

  private refilled(): Promise<void> {
    this.refill ??= this.fetch().finally(() => (this.refill = undefined));
    return this.refill;
  }

  private async fetch(): Promise<void> {
    const { ts } = await this.ask();
    this.next = BigInt(ts);
    this.end = this.next + BigInt(WINDOW);
    this.fetchedAt = Date.now();
  }

  private ask(): Promise<CoordinatorReplies["allocate_ts"]> {
    return retrying(() => this.ctx.refs.coordinator().ask({ kind: "allocate_ts", count: WINDOW }, 5_000), {
      ms: FAILOVER_WAIT_MS,
      // A coordinator election passes by itself.
      retriable: (e) => e instanceof VecbusError && (e.code === "NOT_LEADER" || e.code === "UNAVAILABLE"),
      pauseMs: 100,
    });
  }
}
