// Retrying an actor call through a failover: the one loop every caller that
// waits out a passing condition (a leader election, a shard between owners,
// a query node reloading) uses; and a deadline on a piece of work.
import { VecbusError } from "../protocol/errors.js";

export interface RetryOptions {
  /** Give up after this long (the last attempt may start just before). */
  ms: number;
  /** Whether this error may pass if we wait; may throw an error of its own instead (e.g. the target is gone for good). */
  retriable: (e: unknown) => boolean | Promise<boolean>;
  /** The pause after the first failure; it doubles up to maxPauseMs. */
  pauseMs: number;
  maxPauseMs?: number;
  /** The error when time is up (default: the last one). */
  giveUp?: (last: unknown) => unknown;
}

export async function retrying<T>(attempt: () => Promise<T>, opts: RetryOptions): Promise<T> {
  const deadline = Date.now() + opts.ms;
  for (let n = 0; ; n++) {
    try {
      return await attempt();
    } catch (e) {
      if (!(await opts.retriable(e))) throw e;
      if (Date.now() > deadline) throw opts.giveUp ? opts.giveUp(e) : e;
      await new Promise((r) => setTimeout(r, Math.min(opts.pauseMs * 2 ** n, opts.maxPauseMs ?? opts.pauseMs)));
    }
  }
}

/** `run`, or a TIMEOUT naming `what` after `ms` (`run` itself goes on in the background). */
export function withDeadline<T>(ms: number, what: string, run: () => Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new VecbusError("TIMEOUT", `${what} took longer than ${ms} ms`)), ms);
  });
  return Promise.race([run(), late]).finally(() => clearTimeout(timer));
}
