// The timestamp oracle kept by the coordinator. The highest physical time it
// may hand out is persisted in meta before use, so a restarted (or new)
// leader starts above everything an earlier leader could have issued.
import { VecbusError } from "../protocol/errors.js";
import { composeTs, LOGICAL_MAX } from "../protocol/timestamp.js";
import { MetaKey } from "../protocol/subjects.js";
import type { MetaStore } from "../storage/meta-store.js";

/** How far ahead of the clock the persisted bound runs: one KV write per window. */
const WINDOW_MS = 3_000;

export class TimestampOracle {
  private physical = 0;
  private logical = 0;
  private bound = 0;

  constructor(private readonly meta: MetaStore) {}

  /** Called on taking the lease: continue strictly above any earlier leader's window. */
  async init(): Promise<void> {
    const cur = await this.meta.get<{ bound: number }>(MetaKey.tso);
    this.physical = Math.max(Date.now(), (cur?.value.bound ?? 0) + 1);
    this.logical = 0;
    this.bound = 0;
    await this.extend();
  }

  /** The first of `count` consecutive timestamps. */
  async allocate(count: number): Promise<bigint> {
    // A range must fit in one millisecond's logical part, or the next allocation would overlap it.
    if (!Number.isInteger(count) || count < 1 || count > LOGICAL_MAX) {
      throw new VecbusError("INVALID_ARGUMENT", `a timestamp range holds 1 to ${LOGICAL_MAX} timestamps; got ${String(count)}`);
    }
    const now = Date.now();
    if (now > this.physical) {
      this.physical = now;
      this.logical = 0;
    }
    if (this.logical + count >= LOGICAL_MAX) {
      this.physical++;
      this.logical = 0;
    }
    if (this.physical >= this.bound) await this.extend();
    const ts = composeTs(this.physical, this.logical);
    this.logical += count;
    return ts;
  }

  private async extend(): Promise<void> {
    const next = Math.max(this.physical, Date.now()) + WINDOW_MS;
    await this.meta.casUpdate<{ bound: number }>(MetaKey.tso, (cur) => ({ bound: Math.max(next, cur?.bound ?? 0) }));
    this.bound = next;
  }
}
