// Another language's client: Python with only a socket and msgpack.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import path from "node:path";
import { test } from "node:test";
import { promisify } from "node:util";
import { startEnv } from "../harness.js";

// Debian's python3 carries python3-msgpack (installed by .ci/setup); a PATH python may not.
const PYTHON = "/usr/bin/python3";

test("interop - a raw-socket Python client uses every core method, and inserts columns with vectors as one bin", async () => {
  const env = await startEnv({ tag: "py" });
  try {
    const script = path.join(import.meta.dirname, "raw_client.py");
    const { stdout } = await promisify(execFile)(PYTHON, [script, env.nats.url], { timeout: 30_000 });
    const out = JSON.parse(stdout);
    assert.deepEqual([out.insert.insert_count, out.insert.ids], [10, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]]);
    assert.ok(out.insert.timestamp > 2 ** 53, "the write timestamp arrives as a uint64 Python int");
    assert.deepEqual(
      out.search[0].map((h: { id: number }) => h.id),
      [9, 8],
    );
    assert.equal(out.search[0][0].entity.tag, "odd");
    assert.deepEqual(out.query, [
      { id: 7, tag: "odd" },
      { id: 9, tag: "odd" },
    ]);
    assert.equal(out.get[0].id, 3);
    assert.equal(out.delete.delete_count, 2);
    assert.deepEqual([out.columns.insert_count, out.columns.ids], [4, [10, 11, 12, 13]]);
    assert.deepEqual(
      out.column_rows,
      [10, 11, 12, 13].map((id) => ({ id, vector: [id, 0, 0], tag: id % 2 ? "odd" : "even" })),
    );
    assert.deepEqual(out.stats, { row_count: 12 });
    assert.match(out.error, /^DIMENSION_MISMATCH: /);
  } finally {
    await env.close();
  }
});
