// Telling a dead process from a slow one sooner than its session TTL. Every
// actor answers on its node subject while its process lives (its Session
// reports its load there). When a
// process dies its socket closes, and nats-server drops its subscriptions at
// once: a ping then finds no responder. A process that merely stalls keeps
// its subscriptions (the ping times out instead), so its session TTL still
// decides, and a stalled event loop is never mistaken for a dead one.
import type { NatsConnection } from "@nats-io/transport-node";
import type { NodeMsg } from "../protocol/messages.js";
import { encode } from "./codec.js";
import { isNoResponders } from "./rpc.js";

const PING_TIMEOUT_MS = 1_000;
/** A connection moving to another server lacks its subscriptions for a moment: gone only if still so this much later. */
const RECHECK_MS = 1_500;

/** True only if nothing answers on `subject`, twice, RECHECK_MS apart. */
export async function processGone(nc: NatsConnection, subject: string): Promise<boolean> {
  if (!(await noResponder(nc, subject))) return false;
  await new Promise((r) => setTimeout(r, RECHECK_MS));
  return noResponder(nc, subject);
}

async function noResponder(nc: NatsConnection, subject: string): Promise<boolean> {
  try {
    // Straight over NATS, never to a mailbox of this process: the server's view of the subscription is the point.
    await nc.request(subject, encode({ kind: "report" } satisfies NodeMsg), { timeout: PING_TIMEOUT_MS });
    return false;
  } catch (e) {
    return isNoResponders(e);
  }
}
