// The bench's ceilings for a search through NATS: the search requests' own
// bytes sent to a Node responder on another thread (its own event loop and
// connection, as vecbus serve's are), with the same number in flight; the
// client encodes and decodes as it does against vecbus. The `echo`
// responder answers each with the bytes of a real search reply: no design
// that answers a search over one NATS request-reply in Node runs faster on
// this machine. The `usearch` responder decodes each request, searches a
// read-only view of the bench's own index at vecbus's ef and encodes the
// hits: what one request-reply plus the index costs with no database
// around it.
import { createRequire } from "node:module";
import { Worker } from "node:worker_threads";
import type { NatsConnection } from "@nats-io/transport-node";
import type { IndexConfig } from "usearch";
import { decode, encode } from "../../runtime/codec.js";
import type { NatsAuth } from "../../runtime/connection.js";
import { timed, warmUp, type Timed } from "./measure.js";

const RESPONDER_SOURCE = `
"use strict";
const { parentPort, workerData: w } = require("node:worker_threads");
const { connect } = require(w.natsPath);
const answer = (() => {
  if (!w.index) return () => w.reply;
  const { Index } = require(w.usearchPath);
  const { Packr } = require(w.msgpackrPath);
  const packr = new Packr({ useRecords: false, encodeUndefinedAsNil: true, mapsAsObjects: true, variableMapSize: true });
  const ix = w.index;
  const index = new Index(ix.options);
  index.view(ix.file);
  return (data) => {
    const bytes = packr.unpack(data).data[0];
    const query = new Float32Array(bytes.byteLength / 4);
    new Uint8Array(query.buffer).set(bytes);
    const { keys, distances } = index.search(query, ix.limit, 1);
    const hits = [];
    for (let i = 0; i < keys.length; i++) hits.push({ id: Number(keys[i]), distance: distances[i], entity: {} });
    return packr.pack({ ok: true, data: [hits] });
  };
})();
(async () => {
  const nc = await connect({ servers: w.url, user: w.user, pass: w.pass, noAsyncTraces: true });
  const sub = nc.subscribe(w.subject);
  await nc.flush();
  parentPort.postMessage("ready");
  for await (const m of sub) m.respond(answer(m.data));
})().catch((e) => parentPort.postMessage(String(e)));
`;

/** The usearch responder's index: a graph saved to `file`, viewed with `options` (its search breadth among them), asked for `limit` hits. */
export interface ResponderIndex {
  file: string;
  options: IndexConfig;
  limit: number;
}

export interface Responder {
  label: string;
  /** What vecbus answered one of the requests (echo), or the index to answer from (usearch). */
  answer: { reply: unknown } | { index: ResponderIndex };
}

/** `request(i)`: the args of search i; `answers[i]`, the responder's reply data to it. Only user/password credentials reach the responder (else undefined). */
export async function natsResponder(
  nc: NatsConnection,
  url: string,
  auth: NatsAuth | undefined,
  responder: Responder,
  count: number,
  concurrency: number,
  request: (i: number) => unknown,
  warmUpSeconds: number,
): Promise<(Timed & { answers: unknown[] }) | undefined> {
  if (auth && (auth.nkeyFile || auth.credsFile || auth.tls)) return undefined;
  const subject = `vecbus_bench.responder.${process.pid}.${Date.now()}`;
  const resolve = createRequire(import.meta.url).resolve;
  const answer = responder.answer;
  const worker = new Worker(RESPONDER_SOURCE, {
    eval: true,
    workerData: {
      natsPath: resolve("@nats-io/transport-node"),
      usearchPath: resolve("usearch"),
      msgpackrPath: resolve("msgpackr"),
      url,
      user: auth?.user,
      pass: auth?.pass,
      subject,
      reply: "reply" in answer ? encode({ ok: true, data: answer.reply }) : undefined,
      index: "index" in answer ? answer.index : undefined,
    },
  });
  try {
    const ready = await new Promise<unknown>((resolve, reject) => {
      worker.once("message", resolve);
      worker.once("error", reject);
    });
    if (ready !== "ready") throw new Error(`the ${responder.label} responder failed: ${String(ready)}`);
    const answers: unknown[] = [];
    const ask = async (i: number) => {
      answers[i] = (decode((await nc.request(subject, encode(request(i)), { timeout: 10_000 })).data) as { data?: unknown }).data;
      return 1;
    };
    await warmUp(responder.label, warmUpSeconds, concurrency, count, ask);
    return { ...(await timed(responder.label, count, concurrency, ask)), answers };
  } finally {
    // Ending the thread closes its connection.
    await worker.terminate();
  }
}
