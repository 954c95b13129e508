// A sealed segment whose vectors stay in its file (as on a query node) must
// score exactly like the same segment in memory, whatever rows a filter
// passes: dense runs (read as one span), scattered rows (one read each), and
// both mixed, with rows wider than a read window too; and so must one whose
// vectors were read from its file into memory.
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";
import type { Row } from "../../protocol/rows.js";
import type { CollectionSchema } from "../../protocol/schema.js";
import { compileScope } from "../../engine/filter-scope.js";
import { compileProjection } from "../../engine/projection.js";
import { SealedSegment } from "../../engine/sealed-segment.js";
import { rng } from "../random.js";
import { sealedOf } from "../sealed-of.js";

test("sealed segment on disk - exact searches over dense, scattered and mixed passing rows equal the in-memory segment's", (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "vecbus-disk-"));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const r = rng(77);
  for (const dim of [8, 3000]) {
    const schema: CollectionSchema = {
      enable_dynamic_field: false,
      fields: [
        { name: "id", type: "Int64", is_primary: true },
        { name: "v", type: "FloatVector", dim },
        { name: "n", type: "Int32" },
      ],
    };
    const rows: Row[] = Array.from({ length: 3000 }, (_, i) => ({ id: i, v: Float32Array.from({ length: dim }, () => r() - 0.5), n: i }));
    const memory = sealedOf({ segment_id: 1, collection_id: 1, shard: 0, seq_from: 1, seq_to: 1 }, schema, rows, rows.map(() => 1n));
    const file = path.join(dir, `${dim}.seg`);
    fs.writeFileSync(file, Buffer.concat(memory.encode().parts));
    const disk = SealedSegment.open(file);
    t.after(() => disk.close());
    // Within a query node's vector memory budget the column is read into memory at open.
    const read = SealedSegment.open(file, (bytes) => bytes === 3000 * dim * 4);
    t.after(() => read.close());
    assert.equal(disk.vectorBytes, 0);
    assert.equal(read.vectorBytes, 3000 * dim * 4);
    const scattered = Array.from({ length: 40 }, () => Math.floor(r() * 3000));
    const filters = ["n < 3000", "n < 700", "n >= 1000 and n < 1100", `n in [${scattered.join(", ")}]`, `n < 300 or n in [${scattered.join(", ")}]`, "n % 7 == 3"];
    for (const filter of filters) {
      const req = { queries: [Float32Array.from({ length: dim }, () => r() - 0.5)], field: "v", metric: "L2" as const, limit: 25, project: compileProjection(schema, []), scope: compileScope(schema, { filter }) };
      const want = memory.search(req);
      assert.equal(want[0].length, 25, filter);
      assert.deepEqual(disk.search(req), want, `${dim}-d, ${filter}`);
      assert.deepEqual(read.search(req), want, `${dim}-d, ${filter}, vectors read into memory`);
    }
  }
});
