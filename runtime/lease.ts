// Leader lease on a key of the TTL'd session bucket: whoever creates the key
// leads and renews it; when the leader goes silent the bucket's max age
// removes the key and a standby's `create` succeeds. A holder that restarts
// with the same id takes its own lease back at once instead of waiting out the TTL.
import type { KV } from "@nats-io/kv";
import { decode, encode } from "./codec.js";
import { SESSION_TTL_MS } from "./session.js";
import type { Logger } from "./log.js";

export class Lease {
  private revision = 0;
  private timer: NodeJS.Timeout | undefined;
  private leading = false;
  private renewedAt = 0;
  /** The check in progress: a slow KV round trip must not let two checks race on the same revision. */
  private running: Promise<void> | undefined;

  constructor(
    private readonly kv: KV,
    private readonly key: string,
    private readonly holder: string,
    private readonly log: Logger,
    private readonly onChange: (leading: boolean) => Promise<void>,
    /** Whether another holder's process is gone (runtime/liveness.ts): its lease is taken over without waiting out the TTL. */
    private readonly holderGone?: (holder: string) => Promise<boolean>,
  ) {}

  async start(): Promise<void> {
    await this.tick();
    this.timer = setInterval(() => void this.tick(), SESSION_TTL_MS / 4);
    this.timer.unref();
  }

  get isLeader(): boolean {
    return this.leading;
  }

  /**
   * Leading, and renewed recently enough that no standby can have taken over:
   * a leader that was stalled (or cut off) longer than that must not answer
   * until it has renewed again.
   */
  get isFresh(): boolean {
    return this.leading && Date.now() - this.renewedAt < SESSION_TTL_MS / 2;
  }

  /**
   * The connection dropped: a standby that found this process gone meanwhile
   * may have taken the lease over already, so nothing is answered until a
   * renewal succeeds again.
   */
  distrust(): void {
    this.renewedAt = 0;
  }

  private tick(): Promise<void> {
    this.running ??= this.check().finally(() => (this.running = undefined));
    return this.running;
  }

  private async check(): Promise<void> {
    let held = false;
    try {
      held = await this.tryHold();
      if (held) this.renewedAt = Date.now();
    } catch (e) {
      // A slow round trip under load is not a lost lease: a leader keeps leading while its last renewal is fresh.
      held = this.isFresh;
      this.log.warn("lease check failed", { key: this.key, error: String(e), leading: held });
    }
    if (held === this.leading) return;
    this.leading = held;
    this.log.info(held ? "took the lease" : "lost the lease", { key: this.key });
    try {
      await this.onChange(held);
    } catch (e) {
      // A takeover that failed half-way (say, the oracle could not read its bound) is undone;
      // the next check finds the key still ours and tries again.
      this.log.error("leadership change failed", { key: this.key, error: String(e) });
      if (held) {
        this.leading = false;
        await this.onChange(false).catch(() => undefined);
      }
    }
  }

  private async tryHold(): Promise<boolean> {
    const value = encode({ holder: this.holder, at: Date.now() });
    if (this.leading) {
      this.revision = await this.kv.update(this.key, value, this.revision);
      return true;
    }
    const cur = await this.kv.get(this.key);
    if (!cur || cur.operation !== "PUT") {
      this.revision = await this.kv.create(this.key, value);
      return true;
    }
    const holder = (decode(cur.value) as { holder: string }).holder;
    if (holder === this.holder) {
      this.revision = await this.kv.update(this.key, value, cur.revision);
      return true;
    }
    if (!(await this.holderGone?.(holder))) return false;
    // Only the key as it was when its holder was found gone: a holder that came back and renewed keeps it.
    await this.kv.delete(this.key, { previousSeq: cur.revision });
    this.revision = await this.kv.create(this.key, value);
    this.log.info("the lease holder's process is gone (no responder on its node subject): took the lease over", { key: this.key, holder });
    return true;
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
    if (this.leading) {
      this.leading = false;
      await this.kv.delete(this.key, { previousSeq: this.revision }).catch(() => undefined);
      await this.onChange(false);
    }
  }
}
