// Telling a dead process from a slow one sooner than its session TTL. Every
// actor answers pings on its node subject while its process lives. When a
// process dies its socket closes, and nats-server drops its subscriptions at
// once: a ping then finds no responder. A process that merely stalls keeps
// its subscriptions (the ping times out instead), so its session TTL still
// decides, and a stalled event loop is never mistaken for a dead one.
import { Empty, type NatsConnection, type Subscription } from "@nats-io/transport-node";
import { isNoResponders } from "./rpc.js";

const PING_TIMEOUT_MS = 1_000;
/** A connection moving to another server lacks its subscriptions for a moment: gone only if still so this much later. */
const RECHECK_MS = 1_500;

export function answerPings(nc: NatsConnection, subject: string): Subscription {
  return nc.subscribe(subject, {
    callback: (_err, msg) => {
      msg.respond(Empty);
    },
  });
}

/** True only if nothing answers on `subject`, twice, RECHECK_MS apart. */
export async function processGone(nc: NatsConnection, subject: string): Promise<boolean> {
  if (!(await noResponder(nc, subject))) return false;
  await new Promise((r) => setTimeout(r, RECHECK_MS));
  return noResponder(nc, subject);
}

async function noResponder(nc: NatsConnection, subject: string): Promise<boolean> {
  try {
    await nc.request(subject, Empty, { timeout: PING_TIMEOUT_MS });
    return false;
  } catch (e) {
    return isNoResponders(e);
  }
}
