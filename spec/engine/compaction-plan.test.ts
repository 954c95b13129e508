// The compaction planner: small segments merge up to a full segment, big
// clean ones stay, deleted-heavy ones are rewritten, the compact API also
// takes every segment with a delete, and no segment is ever planned twice.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { boundedTo, COMPACTION_DEFAULTS, planCompactions, type CompactionCandidate } from "../../engine/compaction-plan.js";
import { rowBytesEstimate } from "../../protocol/schema.js";
import { rng } from "../random.js";

const POLICY = COMPACTION_DEFAULTS(100); // small below 50 live rows, rewrite at 20% deleted

const seg = (segment_id: number, rows: number, deleted = 0): CompactionCandidate => ({ segment_id, rows, deleted });

describe("compaction plan", () => {
  test("compaction plan - defaults", () => {
    assert.deepEqual(POLICY, { targetRows: 100, smallRows: 50, deletedRatio: 0.2 });
  });

  test("compaction plan - a byte bound below the row bound sizes merged segments by bytes", () => {
    // id 8 + 128-d 512 + Int32 4 + timestamp 8 bytes a row.
    const rowBytes = rowBytesEstimate({ enable_dynamic_field: false, fields: [{ name: "id", type: "Int64", is_primary: true }, { name: "v", type: "FloatVector", dim: 128 }, { name: "c", type: "Int32" }] });
    assert.equal(rowBytes, 532);
    const policy = boundedTo(COMPACTION_DEFAULTS(1_000_000), (256 << 20) / rowBytes);
    assert.deepEqual(policy, { targetRows: 504_577, smallRows: 252_288, deletedRatio: 0.2 });
    // Two segments sealed at the byte bound are not small; a tail alone is left; two tails merge.
    assert.deepEqual(planCompactions([seg(1, 490_000), seg(2, 490_000), seg(3, 20_000)], policy), []);
    assert.deepEqual(planCompactions([seg(1, 490_000), seg(3, 20_000), seg(4, 30_000)], policy), [[3, 4]]);
    assert.equal(boundedTo(POLICY, 1000), POLICY);
  });

  test("compaction plan - small segments merge into groups of at most targetRows live rows", () => {
    const plan = planCompactions([seg(1, 40), seg(2, 30), seg(3, 30), seg(4, 20), seg(5, 10), seg(6, 45, 5)], POLICY);
    // Live rows 40, 30, 30, 20, 10, 40: first-fit decreasing fills 40+40+20 = 100, then 30+30+10 = 70.
    assert.deepEqual(plan, [[1, 4, 6], [2, 3, 5]]);
  });

  test("compaction plan - big clean segments and a lone clean small one are left alone", () => {
    assert.deepEqual(planCompactions([seg(1, 100), seg(2, 80, 10), seg(3, 50), seg(4, 49)], POLICY), []);
    assert.deepEqual(planCompactions([], POLICY), []);
  });

  test("compaction plan - a deleted-heavy segment is rewritten alone, or merged when small", () => {
    assert.deepEqual(planCompactions([seg(1, 100, 20), seg(2, 100, 19), seg(3, 100)], POLICY), [[1]]);
    assert.deepEqual(planCompactions([seg(7, 40, 20)], POLICY), [[7]], "a lone small segment that sheds deletes");
    assert.deepEqual(planCompactions([seg(7, 40, 20), seg(8, 30)], POLICY), [[7, 8]]);
  });

  test("compaction plan - manual also rewrites every segment with any deleted row", () => {
    const segments = [seg(1, 100, 1), seg(2, 100), seg(3, 40, 1), seg(4, 30), seg(5, 10, 2), seg(6, 200)];
    assert.deepEqual(planCompactions(segments, POLICY), [[3, 4, 5]]);
    assert.deepEqual(planCompactions(segments, POLICY, true), [[1], [3, 4, 5]]);
    assert.deepEqual(planCompactions([seg(3, 40, 1)], POLICY, true), [[3]]);
    assert.deepEqual(planCompactions([seg(3, 40)], POLICY, true), []);
  });

  test("compaction plan - segments with no live rows are skipped", () => {
    const segments = [seg(1, 50, 50), seg(2, 0), seg(3, 10), seg(4, 10, 10)];
    assert.deepEqual(planCompactions(segments, POLICY), []);
    assert.deepEqual(planCompactions(segments, POLICY, true), []);
    assert.deepEqual(planCompactions([...segments, seg(5, 20)], POLICY, true), [[3, 5]]);
  });

  test("compaction plan - random shards: no segment twice, groups fit, deletes honoured, order-independent", () => {
    const r = rng(11);
    for (let round = 0; round < 300; round++) {
      const segments = Array.from({ length: Math.floor(r() * 30) }, (_, i) => {
        const rows = Math.floor(r() * 150);
        return seg(i * 3 + 1, rows, r() < 0.5 ? 0 : Math.floor(r() * (rows + 1)));
      });
      const byId = new Map(segments.map((s) => [s.segment_id, s]));
      const live = (id: number) => byId.get(id)!.rows - byId.get(id)!.deleted;
      for (const manual of [false, true]) {
        const plan = planCompactions(segments, POLICY, manual);
        const planned = plan.flat();
        assert.equal(new Set(planned).size, planned.length, "no segment twice");
        assert.deepEqual(planCompactions([...segments].reverse(), POLICY, manual), plan, "input order does not matter");
        assert.deepEqual(plan.map((g) => [...g].sort((a, b) => a - b)), plan, "ids sorted");
        assert.deepEqual([...plan].sort((a, b) => a[0] - b[0]), plan, "groups sorted");
        for (const g of plan) {
          assert.ok(g.every((id) => live(id) > 0), "no empty segment");
          if (g.length > 1) {
            assert.ok(g.every((id) => live(id) < POLICY.smallRows), "only small segments merge");
            assert.ok(g.reduce((n, id) => n + live(id), 0) <= POLICY.targetRows, "a group fits in one segment");
          }
        }
        const mustRewrite = segments.filter((s) => s.rows > s.deleted && (manual ? s.deleted > 0 : s.deleted / s.rows >= POLICY.deletedRatio));
        for (const s of mustRewrite) assert.ok(planned.includes(s.segment_id), `segment ${s.segment_id} is rewritten`);
        const smallLeft = segments.filter((s) => s.rows > s.deleted && s.rows - s.deleted < POLICY.smallRows && !planned.includes(s.segment_id));
        assert.ok(smallLeft.length <= 1, "at most one small segment is left unmerged");
      }
    }
  });
});
