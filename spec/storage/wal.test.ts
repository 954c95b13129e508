// The WAL against a real JetStream: fenced appends and replay.
import assert from "node:assert/strict";
import { test } from "node:test";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { VecbusError } from "../../protocol/errors.js";
import type { WalRecord } from "../../protocol/messages.js";
import { createWalStream, ShardWal } from "../../storage/wal.js";
import { startEnv } from "../harness.js";

// Real hybrid timestamps are above 2^53, so they come back as bigint.
const T0 = BigInt(Date.now()) << 18n;
const rec = (id: number): WalRecord => ({ kind: "delete", ts: T0 + BigInt(id), epoch: 1, ids: [id] });

test("wal - a stale writer is fenced and catches up; replay returns every record in order", async () => {
  const env = await startEnv({ roles: "none", tag: "wal" });
  try {
    const nc = env.admin;
    const js = jetstream(nc);
    const jsm = await jetstreamManager(nc);
    const loc = { stream: "T_WAL", subject: "t.wal" };
    await createWalStream(jsm, loc);
    const a = await ShardWal.open(js, jsm, loc);
    const b = await ShardWal.open(js, jsm, loc);
    assert.equal((await a.append(rec(1))).seq, 1);
    assert.equal((await a.append(rec(2))).seq, 2);
    // b still believes the tail is 0: its append must not land.
    await assert.rejects(b.append(rec(99)), (e: unknown) => e instanceof VecbusError && e.code === "SHARD_NOT_READY");
    const seen: number[] = [];
    assert.equal(await b.catchUp((r) => seen.push((r as { ids: number[] }).ids[0])), 2);
    assert.deepEqual(seen, [1, 2]);
    assert.equal((await b.append(rec(3))).seq, 3);
    // Now a is the stale one.
    await assert.rejects(a.append(rec(4)), (e: unknown) => e instanceof VecbusError && e.code === "SHARD_NOT_READY");

    const reopened = await ShardWal.open(js, jsm, loc);
    const replayed: [number, bigint][] = [];
    await reopened.replay(0, (r, seq) => replayed.push([seq, r.ts]));
    assert.deepEqual(replayed, [
      [1, T0 + 1n],
      [2, T0 + 2n],
      [3, T0 + 3n],
    ]);
    const tail: number[] = [];
    await reopened.replay(2, (_r, seq) => tail.push(seq));
    assert.deepEqual(tail, [3]);
  } finally {
    await env.close();
  }
});
