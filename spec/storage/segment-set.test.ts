// A shard's segments against a single growing segment fed the same writes.
//
// Strategy: random inserts (many re-using keys: upserts), deletes (present
// and absent keys) and seals; now and then the sealed segments go through
// the blob format and their delete lists, as a restart would load them.
// Invariants: after every step each read — search (plain, filtered, range,
// group-by, a named-groups second round), query, count, get, matching ids,
// row count — answers exactly as the single segment does.
import assert from "node:assert/strict";
import { test } from "node:test";
import { PARTITION_FIELD } from "../../protocol/partitions.js";
import type { PrimaryKey, Row } from "../../protocol/rows.js";
import type { CollectionSchema, MetricType } from "../../protocol/schema.js";
import { compileFilterText } from "../../storage/filter-eval.js";
import { GrowingSegment } from "../../storage/growing-segment.js";
import { compileProjection } from "../../storage/projection.js";
import { SealedSegment } from "../../storage/sealed-segment.js";
import type { SegmentSearch } from "../../storage/segment.js";
import { SegmentSet, type SetSearch } from "../../storage/segment-set.js";
import { rng } from "../random.js";

const SCHEMA: CollectionSchema = {
  enable_dynamic_field: true,
  fields: [
    { name: "id", type: "Int64", is_primary: true },
    { name: "g", type: "Int64" },
    { name: "tag", type: "VarChar", nullable: true, max_length: 20 },
    { name: "v", type: "FloatVector", dim: 4 },
  ],
};
const KEYS = 400;

function makeRow(r: () => number, id: number): Row {
  const row: Row = {
    id,
    g: Math.floor(r() * 9),
    tag: r() < 0.3 ? null : `t${Math.floor(r() * 5)}`,
    v: Float32Array.from({ length: 4 }, () => r() * 2 - 1),
    [PARTITION_FIELD]: r() < 0.3 ? "p1" : "_default",
  };
  if (r() < 0.6) row.$meta = { color: r() < 0.5 ? "red" : "blue" };
  return row;
}

/** The sealed segments as a restart finds them: decoded from their blobs, their deletes applied again. */
function reloaded(set: SegmentSet): SegmentSet {
  const sealed = set.sealedSegments.map((s) => {
    assert.ok(s instanceof SealedSegment);
    const back = SealedSegment.decode(s.encode().bytes);
    back.delete(s.keys.deletedPks(0, s.keys.deletedCount));
    return back;
  });
  return localSet(sealed);
}

function localSet(sealed: SealedSegment[]): SegmentSet {
  return new SegmentSet(SCHEMA, sealed, 1, () => Promise.reject(new Error("no query node in this test")));
}

async function assertSameReads(set: SegmentSet, ref: GrowingSegment, r: () => number, at: string): Promise<void> {
  const project = compileProjection(SCHEMA, ["*"]);
  const texts = [undefined, 'tag == "t1" or color == "red"', "g < 4"];
  const queries = [0, 1].map(() => Float32Array.from({ length: 4 }, () => r() * 2 - 1));
  const ids = Array.from({ length: 30 }, () => Math.floor(r() * KEYS));
  assert.equal(set.rowCount, ref.rowCount, `${at}: row count`);
  const partitionChoices = [undefined, ["p1"], ["p1", "_default"]];
  for (const [i, text] of texts.entries()) {
    for (const partition_names of partitionChoices) {
      const where = `${at}, filter ${i}, partitions ${partition_names}`;
      const scope = { filter: text === undefined ? undefined : compileFilterText(text, SCHEMA), partitions: partition_names && new Set(partition_names) };
      const raw = { filter: text, partition_names };
      for (const metric of ["L2", "IP", "COSINE"] as MetricType[]) {
        const base: SegmentSearch = { queries, field: "v", metric, limit: 7, project, scope };
        const asked: SetSearch = { vectors: queries, field: "v", metric, limit: 7, output_fields: ["*"], ...raw };
        const range = metric === "L2" ? { radius: 2, range_filter: 0.5 } : { radius: 0 };
        const searches: [SetSearch, SegmentSearch][] = [
          [asked, base],
          [{ ...asked, range }, { ...base, range }],
          [{ ...asked, limit: 3, groupBy: { field: "g", size: 2 } }, { ...base, limit: 3, groupBy: { field: "g", size: 2 } }],
          [
            { ...asked, limit: 3, groupBy: { field: "g", size: 3, values: [[1, 2], [5]] } },
            { ...base, limit: 3, groupBy: { field: "g", size: 3, values: [[1, 2], [5]] } },
          ],
        ];
        for (const [k, [req, same]] of searches.entries()) assert.deepEqual(await set.search(req), ref.search(same), `${where}: ${metric} search ${k}`);
      }
      assert.deepEqual(await set.query(["*"], 25, raw), ref.query(project, 25, scope), `${where}: query`);
      assert.equal(await set.count(raw), ref.count(scope), `${where}: count`);
      assert.deepEqual((await set.matchingIds(raw)).sort(), ref.matchingIds(scope).sort(), `${where}: matching ids`);
    }
  }
  const byId = (rows: Row[]) => [...rows].sort((a, b) => (a.id as number) - (b.id as number));
  assert.deepEqual(byId(await set.get(ids, ["*"])), byId(ref.get(ids, project)), `${at}: get`);
}

test("segment set - growing plus sealed segments read exactly like one segment under upserts, deletes, seals and reloads", async () => {
  for (let seed = 1; seed <= 6; seed++) {
    const r = rng(seed);
    let set = localSet([]);
    const ref = new GrowingSegment("id");
    let seq = 0;
    let sealedAt = 0;
    for (let step = 0; step < 40; step++) {
      const ts = BigInt(step + 1);
      const op = r();
      seq++;
      if (op < 0.55) {
        const rows = Array.from({ length: 1 + Math.floor(r() * 40) }, () => makeRow(r, Math.floor(r() * KEYS)));
        // One batch never holds a key twice: the proxy's rows for a shard come from one request.
        const unique = [...new Map(rows.map((row) => [row.id as PrimaryKey, row])).values()];
        set.insert(unique, ts);
        ref.insert(unique, ts);
      } else if (op < 0.8) {
        const ids = Array.from({ length: 1 + Math.floor(r() * 25) }, () => Math.floor(r() * KEYS));
        assert.equal(set.delete(ids), ref.delete(ids), `seed ${seed} step ${step}: delete count`);
      } else {
        set.seal({ segment_id: seq, collection_id: 1, shard: 0, seq_from: sealedAt + 1, seq_to: seq });
        sealedAt = seq;
        if (r() < 0.5) set = reloaded(set);
      }
      await assertSameReads(set, ref, r, `seed ${seed} step ${step}`);
    }
    assert.ok(set.sealedSegments.length > 0, `seed ${seed}: the run sealed something`);
  }
});

test("segment set - sealing drops segments whose rows are all deleted, and an all-dead growing segment seals to nothing", () => {
  const r = rng(99);
  const set = localSet([]);
  set.insert([makeRow(r, 1), makeRow(r, 2)], 1n);
  set.seal({ segment_id: 1, collection_id: 1, shard: 0, seq_from: 1, seq_to: 1 });
  set.insert([makeRow(r, 3)], 2n);
  set.seal({ segment_id: 2, collection_id: 1, shard: 0, seq_from: 2, seq_to: 2 });
  assert.equal(set.sealedSegments.length, 2);
  set.insert([makeRow(r, 1)], 3n);
  assert.equal(set.delete([2, 4]), 1);
  assert.equal(set.sealedSegments[0].rowCount, 0, "the upsert of 1 and the delete of 2 emptied the first segment");
  set.seal({ segment_id: 5, collection_id: 1, shard: 0, seq_from: 3, seq_to: 5 });
  assert.deepEqual(
    set.sealedSegments.map((s) => s.head.segment_id),
    [2, 5],
  );
  set.insert([makeRow(r, 7)], 6n);
  set.delete([7]);
  set.seal({ segment_id: 7, collection_id: 1, shard: 0, seq_from: 6, seq_to: 7 });
  assert.equal(set.sealedSegments.length, 2);
  assert.equal(set.rowCount, 2);
});
