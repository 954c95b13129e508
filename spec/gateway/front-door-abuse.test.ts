// The Milvus front door faces whatever reaches its port: connections reset
// before a byte, connections that never speak, headers sent one line at a
// time, and a stream of wrong passwords. None may take the process down,
// hold a connection for long, or push real users' NATS connections out.
import assert from "node:assert/strict";
import net from "node:net";
import { test } from "node:test";
import { Callers } from "../../actors/gateway/callers.js";
import { createUser } from "../../cli/users.js";
import { VecbusError } from "../../protocol/errors.js";
import { VecbusClient } from "../../runtime/client.js";
import { startEnv } from "../harness.js";
import { eventually } from "../timeouts.js";
import { rawMilvus, startGateway } from "./gateway.js";

/** Milliseconds from now until `socket` closes (or `limit` passes: Infinity). */
function closesWithin(socket: net.Socket, limit: number): Promise<number> {
  const t0 = Date.now();
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(Infinity), limit);
    socket.on("error", () => undefined);
    socket.once("close", () => {
      clearTimeout(timer);
      resolve(Date.now() - t0);
    });
  });
}

test("front door - resets before the first byte, silent connections and slow headers neither crash the gateway nor hold a connection", { timeout: 60_000 }, async () => {
  const env = await startEnv({ tag: "front-door-abuse" });
  const gateway = await startGateway(env, true, { firstBytesMs: 500, httpHeadersMs: 500 });
  const [host, port] = gateway.address.split(":");
  const raw = rawMilvus(gateway.address);
  const health = () => raw.call("CheckHealth", {});
  try {
    // A peer that resets (RST) before sending anything: an 'error' no one listened for would end the process.
    for (let i = 0; i < 5; i++) {
      const s = net.connect(Number(port), host);
      await new Promise<void>((resolve) => s.once("connect", () => resolve()));
      s.resetAndDestroy();
    }
    assert.equal((await health()).isHealthy, true);

    const silent = net.connect(Number(port), host);
    assert.ok((await closesWithin(silent, 5_000)) < 5_000, "a connection that never speaks is closed");
    // The start of the HTTP/2 preface, and no more: still cut, not handed to gRPC's longer idle limit.
    const partial = net.connect(Number(port), host);
    partial.write("PRI * HTTP");
    assert.ok((await closesWithin(partial, 5_000)) < 5_000, "a connection that sends part of the HTTP/2 preface is closed");

    const slow = net.connect(Number(port), host);
    const replies: string[] = [];
    slow.on("data", (d: Buffer) => replies.push(d.toString("utf8").split("\r\n")[0]));
    slow.write("POST /v2/vectordb/collections/list HTTP/1.1\r\nHost: x\r\n");
    assert.ok((await closesWithin(slow, 5_000)) < 5_000, "headers that never end are cut");
    assert.deepEqual(replies, ["HTTP/1.1 408 Request Timeout"]);

    // REST paths are looked up as routes only: Object.prototype's names are no routes.
    const url = `http://${gateway.address}/v2/vectordb/`;
    for (const path of ["constructor", "toString", "__proto__"]) {
      const r = await fetch(url + path, { method: "POST", body: "{}" });
      assert.equal(r.status, 404, path);
    }
    assert.equal((await health()).isHealthy, true);
  } finally {
    raw.close();
    await gateway.stop();
    await env.close();
  }
});

test("front door - wrong passwords neither push a real user's NATS connection out nor pile up connection attempts", { timeout: 60_000 }, async () => {
  const env = await startEnv({ tag: "front-door-callers", refusalsExpected: true });
  const callers = new Callers((auth) => VecbusClient.connect(env.nats.url, { auth }), true);
  try {
    const reader = createUser(env.dataDir, "reader", "readonly");
    await eventually("the new user to connect", async () => (await VecbusClient.connect(env.nats.url, { auth: { user: "reader", pass: reader.password } }).then((c) => c.close().then(() => true), () => false)));
    const real = await callers.of(`reader:${reader.password}`);
    // More wrong guesses at once than the callers kept: beyond a bound they are refused before any connection is
    // tried, none is kept, so the real one stays; one after another, the same.
    const outcomes = await Promise.allSettled(Array.from({ length: 80 }, (_, i) => callers.of(`reader:guess-${i}`)));
    const codes = outcomes.map((o) => (o.status === "rejected" ? (o.reason as VecbusError).code : "connected"));
    assert.ok(codes.includes("RESOURCE_EXHAUSTED"), codes.join(","));
    assert.ok(codes.every((c) => c === "RESOURCE_EXHAUSTED" || c === "UNAUTHENTICATED"), codes.join(","));
    for (let i = 0; i < 80; i++) await assert.rejects(callers.of(`reader:again-${i}`), (e: VecbusError) => e.code === "UNAUTHENTICATED");
    assert.equal(await callers.of(`reader:${reader.password}`), real);
    assert.equal(real.nc.isClosed(), false);
    assert.equal((await real.list_collections()).length, 0);
  } finally {
    await callers.close();
    await env.close();
  }
});

test("front door - a user's connections forgotten (dropped, or its password changed): the old ones close, one being made meanwhile is refused when made, the kept password's stays", { timeout: 60_000 }, async () => {
  const env = await startEnv({ tag: "front-door-forget" });
  const callers = new Callers((auth) => VecbusClient.connect(env.nats.url, { auth }), true);
  try {
    const writer = createUser(env.dataDir, "writer", "readwrite");
    const credential = `writer:${writer.password}`;
    await eventually("the new user to connect", async () => (await VecbusClient.connect(env.nats.url, { auth: { user: "writer", pass: writer.password } }).then((c) => c.close().then(() => true), () => false)));
    const first = await callers.of(credential);
    callers.forget("writer");
    await eventually("the forgotten connection to close", async () => first.nc.isClosed());
    const made = callers.of(credential);
    callers.forget("writer");
    await assert.rejects(made, (e: VecbusError) => e.code === "UNAUTHENTICATED");
    const kept = await callers.of(credential);
    assert.notEqual(kept, first);
    callers.forget("writer", writer.password);
    callers.forget("someone-else");
    assert.equal(await callers.of(credential), kept);
    assert.equal((await kept.list_collections()).length, 0);
  } finally {
    await callers.close();
    await env.close();
  }
});
