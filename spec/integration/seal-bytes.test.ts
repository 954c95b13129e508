// A growing segment seals by the WAL bytes it holds, at VECBUS_SEGMENT_MAX_BYTES
// but never past half the WAL's bound: here the segment bound (64 MiB) is
// far above half of a 2 MiB WAL, so segments must seal at 1 MiB of records.
// Without the half-WAL rule they would grow until the WAL refused a write
// (its own seal, at ~2 MiB).
import assert from "node:assert/strict";
import { test } from "node:test";
import { startEnv } from "../harness.js";
import { randomVectors } from "../random.js";

// Read once, on first use (protocol/limits.ts): set before any actor starts.
process.env.VECBUS_WAL_MAX_BYTES = String(2 << 20);
process.env.VECBUS_SEGMENT_MAX_BYTES = String(64 << 20);

const DIM = 256;
const BATCH = 50;
const ROWS = 3_000;

test("segments seal at half the WAL's bound when VECBUS_SEGMENT_MAX_BYTES is above it", async () => {
  const env = await startEnv({ tag: "seal-bytes", seal: { sealIdleMs: 600_000 } });
  try {
    const c = env.client;
    await c.create_collection({ collection_name: "sb", dimension: DIM, num_shards: 1 });
    const vectors = randomVectors(ROWS, DIM, 3);
    for (let from = 0; from < ROWS; from += BATCH) {
      await c.insert({ collection_name: "sb", data: vectors.slice(from, from + BATCH).map((vector, i) => ({ id: from + i, vector })) });
    }
    await c.flush({ collection_name: "sb" });
    const sealed = (await c.status()).segments.filter((s) => s.collection_name === "sb" && s.segment_id !== null).sort((a, b) => a.segment_id! - b.segment_id!);
    const rows = sealed.map((s) => s.rows);
    assert.equal(
      rows.reduce((a, b) => a + b, 0),
      ROWS,
      `every row is in a sealed segment: ${rows}`,
    );
    // A row's record bytes are its vector's 4 × DIM and a few bytes of key and framing; a segment seals with the
    // record that reaches 1 MiB, so it holds 1 MiB over (4 × DIM + up to 64) rows, plus at most one batch.
    const least = Math.floor((1 << 20) / (4 * DIM + 64));
    const most = Math.ceil((1 << 20) / (4 * DIM)) + BATCH;
    for (const r of rows.slice(0, -1)) assert.ok(r >= least && r <= most, `segments of ${rows} rows: each but the last within ${least}-${most}`);
    assert.ok(rows.length >= 3, `segments of ${rows} rows`);
  } finally {
    await env.close();
  }
});
