// A shard's segments against an independent reference fed the same writes:
// a map from primary key to row (spec/reference/store.ts) with brute-force
// distances, and filters judged by the reference evaluator of
// spec/reference/filter.ts.
//
// Strategy: random inserts (many re-using keys: upserts), deletes (present
// and absent keys) and seals; now and then the sealed segments go through
// the blob format and their delete lists, as a restart would load them, or
// their vectors go to a file, as a shard owner's do after a flush.
// Every step draws fresh random filters.
// Invariants: after every step each read — search (plain, filtered, range,
// group-by, a named-groups second round), query, count, get, matching ids,
// row count — answers exactly as the reference does.
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { PARTITION_FIELD } from "../../protocol/partitions.js";
import { checkRows, type PrimaryKey, type Row } from "../../protocol/rows.js";
import type { CollectionSchema, MetricType } from "../../protocol/schema.js";
import { compileProjection } from "../../engine/projection.js";
import { SealedSegment } from "../../engine/sealed-segment.js";
import { SegmentSet, type SetSearch } from "../../actors/streaming/segment-set.js";
import { FILTER_SCHEMA, filterGenerator, refBool, type FilterGenerator } from "../reference/filter.js";
import { assertSameHits, RefStore, type RefSearch } from "../reference/store.js";
import { rng } from "../random.js";
import { batchOfRows } from "../../protocol/columns.js";
import { withScratchDir } from "../../storage/scratch-dir.js";

// The reference filter schema (JSON `meta` nullable, as generated rows may leave it out), a 4-d vector and a small group-by field.
const SCHEMA: CollectionSchema = {
  enable_dynamic_field: true,
  fields: [
    ...FILTER_SCHEMA.fields.filter((f) => f.type !== "FloatVector").map((f) => (f.name === "meta" ? { ...f, nullable: true } : f)),
    { name: "g", type: "Int64" },
    { name: "v", type: "FloatVector", dim: 4 },
  ],
};
const KEYS = 400;

/** A generated row under key `id`, normalised as the proxy stores it, in partition p1 or _default. */
function makeRow(gen: FilterGenerator, r: () => number, id: number): Row {
  const { $meta, ...fields } = gen.row();
  const [row] = checkRows(SCHEMA, [{ ...fields, ...($meta as object | undefined), id, g: Math.floor(r() * 9), v: Array.from({ length: 4 }, () => r() * 2 - 1) }]);
  row[PARTITION_FIELD] = r() < 0.3 ? "p1" : "_default";
  return row;
}

/** What output_fields ["*"] returns for a stored row: every schema field (vectors as lists) and every dynamic key. */
function entity(row: Row): Row {
  const out: Row = {};
  for (const f of SCHEMA.fields) out[f.name] = row[f.name] instanceof Float32Array ? Array.from(row[f.name] as Float32Array) : row[f.name];
  return Object.assign(out, row.$meta);
}

/** The sealed segments as a restart finds them: decoded from their blobs, their deletes applied again (a spilled one, whose blob is in the object store, stays as it is). */
function reloaded(set: SegmentSet): SegmentSet {
  const sealed = set.sealedSegments.map((s) => {
    assert.ok(s instanceof SealedSegment);
    if (s.onDisk) return s;
    const back = SealedSegment.decode(Buffer.concat(s.encode().parts));
    back.delete(s.keys.deletedPks(0, s.keys.deletedCount));
    return back;
  });
  return localSet(sealed);
}

/** What a shard owner does after a flush: each sealed segment's vectors go to a file (its name removed at once), the set reading them from there. */
async function spilled(set: SegmentSet, use = "spec-spill"): Promise<void> {
  for (const s of set.sealedSegments) {
    if (!(s instanceof SealedSegment) || s.onDisk) continue;
    const form = await withScratchDir(use, (dir) => s.spill(path.join(dir, "vectors")));
    assert.ok(form && form.onDisk && form.vectorBytes === 0);
    assert.ok(set.swapForm(s, form));
  }
}

function localSet(sealed: SealedSegment[]): SegmentSet {
  return new SegmentSet(SCHEMA, sealed, 1, () => Promise.reject(new Error("no query node in this test")));
}

const byId = (rows: Row[]) => [...rows].sort((a, b) => (a.id as number) - (b.id as number));

async function assertSameReads(set: SegmentSet, ref: RefStore, gen: FilterGenerator, r: () => number, at: string): Promise<void> {
  const filters = [undefined, gen.filter(3), gen.filter(3)].map((tree) => tree && { text: gen.render(tree).text, pass: (row: Row) => refBool(tree, row) });
  const queries = [0, 1].map(() => Float32Array.from({ length: 4 }, () => r() * 2 - 1));
  const ids = [...new Set(Array.from({ length: 30 }, () => Math.floor(r() * KEYS)))];
  assert.equal(set.rowCount, ref.rows.size, `${at}: row count`);
  for (const partition_names of [undefined, ["p1"], ["p1", "_default"]]) {
    assert.deepEqual(byId(await set.get(ids, ["*"], partition_names)), byId(ref.get(ids, partition_names)), `${at}, partitions ${partition_names}: get`);
    for (const [i, f] of filters.entries()) {
      const where = `${at}, filter ${i} ${JSON.stringify(f?.text)}, partitions ${partition_names}`;
      const raw = { filter: f?.text, partition_names };
      const scope = { filter: f?.pass, partitions: partition_names };
      for (const metric of ["L2", "IP", "COSINE"] as MetricType[]) {
        const asked: SetSearch = { vectors: queries, field: "v", metric, limit: 7, output_fields: ["*"], ...raw };
        const range = metric === "L2" ? { radius: 2, range_filter: 0.5 } : { radius: 0 };
        const named = [[1, 2], [5]];
        const searches: [SetSearch, (q: number) => Partial<RefSearch>][] = [
          [asked, () => ({})],
          [{ ...asked, range }, () => ({ range })],
          [{ ...asked, limit: 3, groupBy: { field: "g", size: 2 } }, () => ({ limit: 3, groupBy: { field: "g", size: 2 } })],
          [{ ...asked, limit: 3, groupBy: { field: "g", size: 3, values: named } }, (q) => ({ limit: 3, groupBy: { field: "g", size: 3, values: named[q] } })],
        ];
        for (const [k, [req, same]] of searches.entries()) {
          const got = await set.search(req);
          assert.equal(got.length, queries.length);
          queries.forEach((query, q) =>
            assertSameHits(got[q], ref.search({ query, field: "v", metric, limit: 7, ...scope, ...same(q) }), `${where}: ${metric} search ${k} query ${q}`),
          );
        }
      }
      assert.deepEqual(await set.query(["*"], 25, raw), ref.query(25, scope.filter, partition_names), `${where}: query`);
      assert.equal(await set.count(raw), ref.scoped(scope.filter, partition_names).length, `${where}: count`);
      const want = ref.scoped(scope.filter, partition_names).map((row) => row.id as number);
      assert.deepEqual((await set.matchingIds(raw)).sort(), want.sort(), `${where}: matching ids`);
    }
  }
}

test("segment set - growing plus sealed segments read exactly like the reference under upserts, deletes, seals and reloads", async () => {
  for (let seed = 1; seed <= 6; seed++) {
    const r = rng(seed);
    const gen = filterGenerator(r, { templates: false });
    let set = localSet([]);
    const ref = new RefStore("id", entity);
    let seq = 0;
    let sealedAt = 0;
    for (let step = 0; step < 40; step++) {
      const ts = BigInt(step + 1);
      const op = r();
      seq++;
      if (op < 0.55) {
        const rows = Array.from({ length: 1 + Math.floor(r() * 40) }, () => makeRow(gen, r, Math.floor(r() * KEYS)));
        // One batch never holds a key twice: the proxy's rows for a shard come from one request.
        const unique = [...new Map(rows.map((row) => [row.id as PrimaryKey, row])).values()];
        set.insert(batchOfRows(SCHEMA, unique), ts);
        ref.insert(unique);
      } else if (op < 0.8) {
        const ids = Array.from({ length: 1 + Math.floor(r() * 25) }, () => Math.floor(r() * KEYS));
        assert.equal(set.delete(ids), ref.delete(ids), `seed ${seed} step ${step}: delete count`);
      } else {
        set.seal({ segment_id: seq, collection_id: 1, shard: 0, seq_from: sealedAt + 1, seq_to: seq });
        sealedAt = seq;
        const next = r();
        if (next < 0.4) set = reloaded(set);
        else if (next < 0.8) await spilled(set);
      }
      await assertSameReads(set, ref, gen, r, `seed ${seed} step ${step}`);
    }
    assert.ok(set.sealedSegments.length > 0, `seed ${seed}: the run sealed something`);
  }
});

test("segment set - sealing drops segments whose rows are all deleted, and an all-dead growing segment seals to nothing", () => {
  const r = rng(99);
  const gen = filterGenerator(r);
  const set = localSet([]);
  set.insert(batchOfRows(SCHEMA, [makeRow(gen, r, 1), makeRow(gen, r, 2)]), 1n);
  set.seal({ segment_id: 1, collection_id: 1, shard: 0, seq_from: 1, seq_to: 1 });
  set.insert(batchOfRows(SCHEMA, [makeRow(gen, r, 3)]), 2n);
  set.seal({ segment_id: 2, collection_id: 1, shard: 0, seq_from: 2, seq_to: 2 });
  assert.equal(set.sealedSegments.length, 2);
  set.insert(batchOfRows(SCHEMA, [makeRow(gen, r, 1)]), 3n);
  assert.equal(set.delete([2, 4]), 1);
  assert.equal(set.sealedSegments[0].rowCount, 0, "the upsert of 1 and the delete of 2 emptied the first segment");
  set.seal({ segment_id: 5, collection_id: 1, shard: 0, seq_from: 3, seq_to: 5 });
  assert.deepEqual(
    set.sealedSegments.map((s) => s.head.segment_id),
    [2, 5],
  );
  set.insert(batchOfRows(SCHEMA, [makeRow(gen, r, 7)]), 6n);
  set.delete([7]);
  set.seal({ segment_id: 7, collection_id: 1, shard: 0, seq_from: 6, seq_to: 7 });
  assert.equal(set.sealedSegments.length, 2);
  assert.equal(set.rowCount, 2);
});

/** Files this process holds open whose name was in a scratch directory of this test's own ("spec-fds"; the other tests' close on timers of their own). */
function openSpillFiles(): number {
  return fs.readdirSync("/proc/self/fd").filter((fd) => {
    try {
      return fs.readlinkSync(`/proc/self/fd/${fd}`).includes("vecbus-spec-fds-");
    } catch {
      return false;
    }
  }).length;
}

test("segment set - a spilled segment's file stays open while reads planned before it left may score it, and is closed after", async (t) => {
  t.mock.timers.enable({ apis: ["setTimeout"] });
  const r = rng(5);
  const gen = filterGenerator(r);
  const rows = Array.from({ length: 50 }, (_, i) => makeRow(gen, r, i));
  const set = localSet([]);
  set.insert(batchOfRows(SCHEMA, rows), 1n);
  set.seal({ segment_id: 1, collection_id: 1, shard: 0, seq_from: 1, seq_to: 1 });
  const before = openSpillFiles();
  await spilled(set, "spec-fds");
  assert.equal(openSpillFiles(), before + 1);
  const form = set.sealedSegments[0] as SealedSegment;
  assert.ok(set.handOff(1, ["q1"]));
  const get = () => form.get([3], compileProjection(SCHEMA, ["v"]));
  assert.deepEqual(Array.from(get()[0].v as number[]), Array.from(rows[3].v as Float32Array));
  t.mock.timers.tick(29_000);
  assert.equal(openSpillFiles(), before + 1, "still open for the reads in flight");
  assert.deepEqual(Array.from(get()[0].v as number[]), Array.from(rows[3].v as Float32Array));
  t.mock.timers.tick(2_000);
  assert.equal(openSpillFiles(), before, "closed once they are done");

  // A segment that left the set while its vectors were being written: the new form is closed at once.
  set.insert(batchOfRows(SCHEMA, rows.slice(0, 10)), 2n);
  set.seal({ segment_id: 2, collection_id: 1, shard: 0, seq_from: 2, seq_to: 2 });
  const second = set.sealedSegments[1] as SealedSegment;
  const late = await withScratchDir("spec-fds", async (dir) => (await second.spill(path.join(dir, "vectors")))!);
  assert.ok(set.handOff(2, ["q1"]));
  assert.equal(openSpillFiles(), before + 1);
  assert.equal(set.swapForm(second, late), false);
  assert.equal(openSpillFiles(), before);

  // A closed set closes its spilled segments' files the same way.
  set.insert(batchOfRows(SCHEMA, rows.slice(0, 10)), 3n);
  set.seal({ segment_id: 3, collection_id: 1, shard: 0, seq_from: 3, seq_to: 3 });
  await spilled(set, "spec-fds");
  assert.equal(openSpillFiles(), before + 1);
  set.close();
  t.mock.timers.tick(31_000);
  assert.equal(openSpillFiles(), before);
});
