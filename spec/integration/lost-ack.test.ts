// The shard write path when a WAL ack is lost: the insert is stored in the
// WAL but the shard owner is told it failed. The owner must catch up from
// the WAL before its next write (else every later append is fenced by its
// own record, and the stored rows are missing from its segments); the
// client's write is retried, and every row it wrote is there exactly once.
import assert from "node:assert/strict";
import { test } from "node:test";
import { StreamingNode } from "../../actors/streaming/node.js";
import type { Row } from "../../protocol/rows.js";
import { Names } from "../../protocol/subjects.js";
import { closeConnection } from "../../runtime/connection.js";
import { openContext } from "../../actors/context.js";
import { startEnv } from "../harness.js";
import { ackLoss } from "../lost-ack.js";
import { randomVectors } from "../random.js";
import { liveIds, range } from "../segments.js";
import { TEST_TIMEOUT_MS } from "../timeouts.js";

const DIM = 4;
const names = new Names();

function rows(from: number, count: number): Row[] {
  return randomVectors(count, DIM, from + 17).map((vector, i) => ({ id: from + i, vector, n: from + i }));
}

test("lost ack - an insert stored in the WAL whose ack was lost is caught up before the next write: no row lost or doubled", { timeout: TEST_TIMEOUT_MS }, async () => {
  // The test runs the streaming node itself, on a JetStream client that can lose an ack.
  const env = await startEnv({ tag: "lost-ack", roles: ["coordinator", "proxy"] });
  const nc = await env.connectAs("streaming", "lossy-streaming");
  let node: StreamingNode | undefined;
  try {
    const ctx = await openContext(nc, names.prefix, "lossy-streaming");
    const loss = ackLoss(ctx.js);
    node = new StreamingNode({ ...ctx, js: loss.js }, "lossy-streaming", { segmentRowsMax: 100_000, sealIdleMs: 600_000 });
    await node.start();
    const c = env.client;
    const name = "la";
    const { collection_id: cid } = await c.create_collection({ collection_name: name, dimension: DIM, metric_type: "L2" });
    const wal = names.walStream(cid, 0);
    const records = async () => (await ctx.jsm.streams.info(wal)).state.last_seq;

    await c.insert({ collection_name: name, data: rows(0, 10) });
    const before = await records();
    loss.loseNextAck(names.walSubject(cid, 0));
    // The proxy retries the failed write; the retry lands after the owner has caught up.
    const reply = await c.insert({ collection_name: name, data: rows(10, 10) });
    assert.equal(loss.lost, 1, "the first append of the insert lost its ack");
    assert.equal(reply.insert_count, 10);
    assert.ok((await records()) > before + 1, "the lost record and the retried one are both in the WAL");
    await c.insert({ collection_name: name, data: rows(20, 10) });

    assert.deepEqual(await liveIds(c, name), range(0, 30));
    assert.deepEqual(await c.query({ collection_name: name, filter: "id >= 0", output_fields: ["count(*)"], consistency_level: "Strong" }), [{ "count(*)": 30 }]);
    const got = await c.get({ collection_name: name, ids: [10, 19], output_fields: ["n"], consistency_level: "Strong" });
    assert.deepEqual(got, [
      { id: 10, n: 10 },
      { id: 19, n: 19 },
    ]);
  } finally {
    await node?.stop();
    await closeConnection(nc, 200);
    await env.close();
  }
});
