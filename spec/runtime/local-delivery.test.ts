// Requests between actors of one process: delivered to the mailbox without
// crossing NATS, yet checked, bounded, timed out and refused as over NATS.
// A second, non-queue subscriber on the subject is the witness: NATS would
// hand it every request, so it sees only those that went over NATS.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { NatsConnection } from "@nats-io/transport-node";
import { VecbusError } from "../../protocol/errors.js";
import { ActorRef, Refs } from "../../runtime/actor-ref.js";
import { rolePublishes } from "../../protocol/permissions.js";
import { closeConnection } from "../../runtime/connection.js";
import { logger } from "../../runtime/log.js";
import { Mailbox } from "../../runtime/mailbox.js";
import { DEFAULT_PREFIX, Names } from "../../protocol/subjects.js";
import { startEnv, type TestEnv } from "../harness.js";
import { eventually, TEST_TIMEOUT_MS } from "../timeouts.js";

type Msg = { kind: "echo"; n: number } | { kind: "wait"; ms: number };
type Replies = { echo: number; wait: number };

function echoMailbox(nc: NatsConnection, subject: string, maxInFlight = 4) {
  return new Mailbox<Msg>(nc, {
    subject,
    maxInFlight,
    check: (value) => {
      const m = value as Msg;
      if (m.kind === "echo" && typeof m.n !== "number") throw new VecbusError("MALFORMED_REQUEST", "n must be a number");
      return m;
    },
    handle: async (m) => {
      if (m.kind === "echo") return m.n * 2;
      await new Promise((r) => setTimeout(r, m.ms));
      return m.ms;
    },
    log: logger("test"),
  });
}

function witness(nc: NatsConnection, subject: string): { seen: number } {
  const w = { seen: 0 };
  const sub = nc.subscribe(subject);
  void (async () => {
    for await (const _ of sub) w.seen++;
  })();
  return w;
}

const names = new Names(DEFAULT_PREFIX);

/** A shard owner's connections serve and watch shard subjects; a proxy's asks them. */
async function connections(env: TestEnv): Promise<NatsConnection[]> {
  return Promise.all([env.connectAs("streaming", "served"), env.connectAs("proxy", "asking"), env.connectAs("streaming", "watching")]);
}

const unavailable = (e: unknown) => e instanceof VecbusError && e.code === "UNAVAILABLE";

test("local delivery - same bytes and checks without the NATS hop; bound, timeout and a closed or stopped mailbox as over NATS", { timeout: TEST_TIMEOUT_MS }, async () => {
  const env = await startEnv({ roles: "none", tag: "local" });
  const [served, asking, watching] = await connections(env);
  try {
    const subject = names.shardSubject(900, 0, 1);
    const w = witness(watching, subject);
    await watching.flush();
    const box = echoMailbox(served, subject, 1);
    await served.flush();
    const ref = new ActorRef<Msg, Replies>(asking, subject);

    assert.equal(await ref.ask({ kind: "echo", n: 21 }), 42);
    // The receiving side's checks run on what was sent.
    await assert.rejects(ref.ask({ kind: "echo", n: "x" as unknown as number }), (e) => e instanceof VecbusError && e.code === "MALFORMED_REQUEST");
    // maxInFlight 1: the second waits for the first.
    const order: number[] = [];
    await Promise.all([ref.ask({ kind: "wait", ms: 200 }).then((v) => order.push(v)), ref.ask({ kind: "wait", ms: 1 }).then((v) => order.push(v))]);
    assert.deepEqual(order, [200, 1]);
    await assert.rejects(ref.ask({ kind: "wait", ms: 500 }, 50), (e) => e instanceof VecbusError && e.code === "TIMEOUT");
    await new Promise((r) => setTimeout(r, 600));
    await watching.flush();
    assert.equal(w.seen, 0, "no request crossed NATS");

    // Stopped: over NATS, where only the witness (which never answers) listens.
    await box.stop();
    await assert.rejects(ref.ask({ kind: "echo", n: 1 }, 300), (e) => e instanceof VecbusError && e.code === "TIMEOUT");
    await watching.flush();
    assert.equal(w.seen, 1, "a stopped mailbox takes nothing locally");

    // A mailbox whose connection closed (its process as good as crashed) takes nothing either.
    const other = await env.connectAs("streaming", "other");
    echoMailbox(other, names.shardSubject(900, 1, 1));
    await other.flush();
    const ref1 = new ActorRef<Msg, Replies>(asking, names.shardSubject(900, 1, 1));
    assert.equal(await ref1.ask({ kind: "echo", n: 2 }), 4);
    await closeConnection(other);
    await assert.rejects(ref1.ask({ kind: "echo", n: 2 }), unavailable);
  } finally {
    for (const nc of [served, asking, watching]) await closeConnection(nc);
    await env.close();
  }
});

test("local delivery - a request the asking role may not publish goes to NATS, which refuses it", { timeout: TEST_TIMEOUT_MS }, async () => {
  const env = await startEnv({ roles: "none", tag: "local-denied", refusalsExpected: true });
  const [served, asking] = await Promise.all([env.connectAs("streaming", "served"), env.connectAs("query", "asking")]);
  try {
    const box = echoMailbox(served, names.shardSubject(902, 0, 1));
    await served.flush();
    // A query node's user may not publish to shard subjects.
    const ref = new Refs(asking, names, rolePublishes(names, "query")).shard(902, 0, 1);
    await assert.rejects(ref.ask({ kind: "flush" }, 2_000), (e) => e instanceof VecbusError && (e.code === "PERMISSION_DENIED" || e.code === "TIMEOUT"));
    await eventually("nats-server logs the refusal", () => env.nats.violations().some((l) => l.includes(names.shardSubject(902, 0, 1))));
    await box.stop();
  } finally {
    for (const nc of [served, asking]) await closeConnection(nc);
    await env.close();
  }
});

test("local delivery - off with VECBUS_LOCAL_DELIVERY=0: every request crosses NATS", { timeout: TEST_TIMEOUT_MS }, async () => {
  const env = await startEnv({ roles: "none", tag: "local-off" });
  const [served, asking, watching] = await connections(env);
  process.env.VECBUS_LOCAL_DELIVERY = "0";
  try {
    const subject = names.shardSubject(901, 0, 1);
    const w = witness(watching, subject);
    await watching.flush();
    const box = echoMailbox(served, subject);
    await served.flush();
    assert.equal(await new ActorRef<Msg, Replies>(asking, subject).ask({ kind: "echo", n: 5 }), 10);
    await watching.flush();
    assert.equal(w.seen, 1);
    await box.stop();
  } finally {
    delete process.env.VECBUS_LOCAL_DELIVERY;
    for (const nc of [served, asking, watching]) await closeConnection(nc);
    await env.close();
  }
});
