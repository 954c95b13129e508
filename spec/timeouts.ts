// The one place for how long tests wait. Tests never assert that something
// was fast: they poll until a deadline, and the deadlines are generous so a
// loaded 2-core CI machine cannot fail a correct build. Latency targets are
// measured by `vecbus bench`, not asserted here.
import assert from "node:assert/strict";
import { VecbusError } from "../protocol/errors.js";

/**
 * A test client's request timeout. Above every internal retry window, so the
 * client never gives up before the system has: the proxy retries a shard for
 * 20 s and its last attempt may take 10 s more (actors/proxy/proxy.ts).
 */
export const CLIENT_TIMEOUT_MS = 45_000;

/** How long `eventually` polls before it fails: the slowest background step (index build + load on CI) fits many times. */
export const EVENTUALLY_MS = 60_000;

/** A whole integration test that starts servers and processes. */
export const TEST_TIMEOUT_MS = 180_000;

const POLL_MS = 100;

/** Polls `ok` until it returns true, failing with `what` once `ms` have passed. */
export async function eventually(what: string, ok: () => Promise<boolean> | boolean, ms = EVENTUALLY_MS): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > deadline) assert.fail(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

/** `call` again, after a short pause, while it fails the way a failover makes calls fail (no reply, nobody serving, a leader or owner changing), as an application would; gives up after EVENTUALLY_MS. */
export async function retried<T>(call: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + EVENTUALLY_MS;
  for (;;) {
    try {
      return await call();
    } catch (e) {
      const transient = e instanceof VecbusError && ["TIMEOUT", "UNAVAILABLE", "NOT_LEADER", "SHARD_NOT_READY"].includes(e.code);
      if (!transient || Date.now() > deadline) throw e;
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
  }
}
