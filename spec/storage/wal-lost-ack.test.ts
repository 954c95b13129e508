// A WAL append whose ack was lost: the record is in the stream but the
// writer does not know its sequence. Its next append must not land (its
// expected last sequence is stale, so nothing is written twice or out of
// order), and re-reading the tail hands it exactly the lost record.
import assert from "node:assert/strict";
import { test } from "node:test";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { VecbusError } from "../../protocol/errors.js";
import type { WalRecord } from "../../protocol/messages.js";
import { createWalStream, ShardWal } from "../../storage/wal.js";
import { startEnv } from "../harness.js";
import { ackLoss } from "../lost-ack.js";
import { TEST_TIMEOUT_MS } from "../timeouts.js";

const rec = (id: number): WalRecord => ({ kind: "delete", ts: BigInt(id), epoch: 1, ids: [id] });
const idOf = (r: WalRecord) => (r as { ids: number[] }).ids[0];

test("wal - an append whose ack was lost is found by re-reading the tail, once", { timeout: TEST_TIMEOUT_MS }, async () => {
  const env = await startEnv({ roles: "none", tag: "wal-lost-ack" });
  try {
    const nc = env.admin;
    const jsm = await jetstreamManager(nc);
    const loc = { stream: "T_WAL_ACK", subject: "t.wal.ack" };
    await createWalStream(jsm, loc);
    const loss = ackLoss(jetstream(nc));
    const wal = await ShardWal.open(loss.js, jsm, loc);
    const last = async () => (await jsm.streams.info(loc.stream)).state.last_seq;

    assert.equal((await wal.append(rec(1))).seq, 1);
    loss.loseNextAck(loc.subject);
    await assert.rejects(wal.append(rec(2)), (e: unknown) => e instanceof VecbusError && e.code === "UNAVAILABLE");
    assert.equal(loss.lost, 1);
    assert.equal(await last(), 2, "the record whose ack was lost is stored");

    // Without re-reading the tail the writer is fenced by its own lost record.
    await assert.rejects(wal.append(rec(3)), (e: unknown) => e instanceof VecbusError && e.code === "SHARD_NOT_READY");
    assert.equal(await last(), 2, "the fenced append wrote nothing");

    const caught: [number, number][] = [];
    assert.equal(await wal.catchUp((r, seq) => caught.push([seq, idOf(r)])), 1);
    assert.deepEqual(caught, [[2, 2]], "the catch-up hands over exactly the lost record");
    assert.equal((await wal.append(rec(3))).seq, 3);

    const replayed: [number, number][] = [];
    await (await ShardWal.open(jetstream(nc), jsm, loc)).replay(0, (r, seq) => replayed.push([seq, idOf(r)]));
    assert.deepEqual(replayed, [
      [1, 1],
      [2, 2],
      [3, 3],
    ]);
  } finally {
    await env.close();
  }
});
