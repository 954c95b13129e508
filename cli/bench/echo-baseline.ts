// The bench's ceiling for a request through NATS: the search requests' own
// bytes sent to a Node responder on another thread (its own event loop and
// connection, as vecbus serve's are) that answers each with the bytes of a
// real search reply, with the same number in flight; the client encodes and
// decodes as it does against vecbus. No design that answers a search over
// one NATS request-reply in Node runs faster on this machine.
import { createRequire } from "node:module";
import { Worker } from "node:worker_threads";
import type { NatsConnection } from "@nats-io/transport-node";
import { decode, encode } from "../../runtime/codec.js";
import type { NatsAuth } from "../../runtime/connection.js";
import { timed, warmUp, type Timed } from "./measure.js";

const RESPONDER_SOURCE = `
"use strict";
const { parentPort, workerData: w } = require("node:worker_threads");
const { connect } = require(w.natsPath);
(async () => {
  const nc = await connect({ servers: w.url, user: w.user, pass: w.pass, noAsyncTraces: true });
  const reply = new Uint8Array(w.reply);
  const sub = nc.subscribe(w.subject);
  await nc.flush();
  parentPort.postMessage("ready");
  for await (const m of sub) m.respond(reply);
})().catch((e) => parentPort.postMessage(String(e)));
`;

/** `request(i)`: the args of search i; `reply`: what vecbus answered one of them. Only user/password credentials reach the responder (else undefined). */
export async function natsEcho(
  nc: NatsConnection,
  url: string,
  auth: NatsAuth | undefined,
  count: number,
  concurrency: number,
  request: (i: number) => unknown,
  reply: unknown,
  warmUpSeconds: number,
): Promise<Timed | undefined> {
  if (auth && (auth.nkeyFile || auth.credsFile || auth.tls)) return undefined;
  const subject = `vecbus_bench.echo.${process.pid}.${Date.now()}`;
  const replyBytes = encode({ ok: true, data: reply });
  const worker = new Worker(RESPONDER_SOURCE, {
    eval: true,
    workerData: { natsPath: createRequire(import.meta.url).resolve("@nats-io/transport-node"), url, user: auth?.user, pass: auth?.pass, subject, reply: replyBytes },
  });
  try {
    const ready = await new Promise<unknown>((resolve, reject) => {
      worker.once("message", resolve);
      worker.once("error", reject);
    });
    if (ready !== "ready") throw new Error(`the echo responder failed: ${String(ready)}`);
    const ask = async (i: number) => {
      decode((await nc.request(subject, encode(request(i)), { timeout: 10_000 })).data);
      return 1;
    };
    await warmUp("NATS request-reply echo (baseline)", warmUpSeconds, concurrency, count, ask);
    return await timed("NATS request-reply echo (baseline)", count, concurrency, ask);
  } finally {
    // Ending the thread closes its connection.
    await worker.terminate();
  }
}
