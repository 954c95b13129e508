// The coordinator's placement rules as pure functions, driven by a small
// simulation of sweeps: query nodes join and die, copies load between
// sweeps. Checked against properties a reader can state without the code:
// every segment keeps its replica count of copies on distinct live nodes,
// moves finish and then stop (no swinging back and forth), and the rows
// per node end within one segment of each other.
import assert from "node:assert/strict";
import { test } from "node:test";
import { balance, placeCopies } from "../../actors/coordinator/placement.js";
import type { Placement, PlacementEntry } from "../../protocol/messages.js";

const BUILDS = { vector: 1 };

/** Rows per live node once the moves in flight are done, as place() counts them. */
function rowsOf(p: Placement, nodes: string[]): Map<string, number> {
  const rows = new Map(nodes.map((n) => [n, 0]));
  for (const e of Object.values(p.segments)) {
    for (const c of e.copies) if (rows.has(c.node) && !e.copies.some((m) => m.replaces === c.node)) rows.set(c.node, rows.get(c.node)! + e.rows);
  }
  return rows;
}

function inFlight(p: Placement): number {
  return Object.values(p.segments).reduce((n, e) => n + e.copies.filter((c) => c.replaces !== undefined).length, 0);
}

/** One sweep of place() for one collection, then every copy placed loads (as query nodes would before the next sweep). */
function sweep(p: Placement, sizes: Record<string, number>, replicas: number, nodes: string[]): Placement {
  const rows = rowsOf(p, nodes);
  const moves = { inFlight: inFlight(p) };
  const next: Placement = { collection_id: 1, loaded: true, segments: {} };
  for (const [key, size] of Object.entries(sizes)) {
    const copies = placeCopies(p.segments[key], { rows: size, builds: BUILDS }, replicas, rows);
    if (copies.length > 0) next.segments[key] = { copies, rows: size, builds: BUILDS };
  }
  balance(next, rows, moves);
  return next;
}

function loadAll(p: Placement): Placement {
  const segments: Record<string, PlacementEntry> = {};
  for (const [k, e] of Object.entries(p.segments)) segments[k] = { ...e, copies: e.copies.map((c) => ({ ...c, state: "loaded" as const })) };
  return { ...p, segments };
}

function assertCopies(p: Placement, replicas: number, nodes: string[]): void {
  for (const [k, e] of Object.entries(p.segments)) {
    const base = e.copies.filter((c) => c.replaces === undefined);
    assert.equal(base.length, Math.min(replicas, nodes.length), `${k}: ${JSON.stringify(e.copies)}`);
    assert.equal(new Set(e.copies.map((c) => c.node)).size, e.copies.length, `${k} has two copies on one node: ${JSON.stringify(e.copies)}`);
    assert.ok(
      e.copies.every((c) => nodes.includes(c.node)),
      `${k} has a copy on a dead node: ${JSON.stringify(e.copies)}`,
    );
  }
}

/** Sweeps until nothing changes; returns the settled placement and how many sweeps moved something. */
function settle(p: Placement, sizes: Record<string, number>, replicas: number, nodes: string[]): { p: Placement; changes: number } {
  let changes = 0;
  for (let i = 0; i < 200; i++) {
    const next = loadAll(sweep(p, sizes, replicas, nodes));
    assertCopies(next, replicas, nodes);
    assert.ok(inFlight(next) <= 2, "at most two moves in flight");
    if (JSON.stringify(next) === JSON.stringify(p)) return { p, changes };
    p = next;
    changes++;
  }
  assert.fail("placement never settled");
}

function spread(p: Placement, nodes: string[]): number {
  const rows = [...rowsOf(p, nodes).values()];
  return Math.max(...rows) - Math.min(...rows);
}

test("placement - joins, deaths and replicas settle: every copy on a distinct live node, rows within one segment of even", () => {
  let seed = 7;
  const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  for (let round = 0; round < 40; round++) {
    const sizes: Record<string, number> = {};
    const count = 1 + Math.floor(random() * 12);
    for (let s = 0; s < count; s++) sizes[`0-${s}`] = 1 + Math.floor(random() * 1000);
    const replicas = 1 + Math.floor(random() * 2);
    const largest = Math.max(...Object.values(sizes));
    let nodes = ["q0"];
    let joined = 0;
    let p: Placement = { collection_id: 1, loaded: true, segments: {} };
    p = settle(p, sizes, replicas, nodes).p;
    for (const step of ["join", "join", "die", "join"] as const) {
      if (step === "join") nodes = [...nodes, `q${++joined}`];
      else nodes = nodes.filter((_, i) => i !== Math.floor(random() * nodes.length));
      const settled = settle(p, sizes, replicas, nodes);
      p = settled.p;
      // A strictly narrowing move never undoes an earlier one: a handful of sweeps, not hundreds.
      assert.ok(settled.changes <= count * replicas + 2, `${settled.changes} sweeps changed the placement`);
      if (replicas === 1) assert.ok(spread(p, nodes) <= largest, `rows per node ${JSON.stringify([...rowsOf(p, nodes)])} spread more than the largest segment (${largest})`);
    }
  }
});

test("placement - a move keeps the old copy until the new one is loaded, and is dropped when its target dies", () => {
  const p: Placement = {
    collection_id: 1,
    loaded: true,
    segments: {
      a: { copies: [{ node: "q1", state: "loaded" }], rows: 100, builds: BUILDS },
      b: { copies: [{ node: "q1", state: "loaded" }], rows: 100, builds: BUILDS },
    },
  };
  const moving = sweep(p, { a: 100, b: 100 }, 1, ["q1", "q2"]);
  const moved = Object.values(moving.segments).find((e) => e.copies.length === 2)!;
  assert.deepEqual(moved.copies, [
    { node: "q1", state: "loaded" },
    { node: "q2", state: "loading", replaces: "q1" },
  ]);
  // Not loaded yet: the same sweep again changes nothing.
  assert.deepEqual(sweep(moving, { a: 100, b: 100 }, 1, ["q1", "q2"]), moving);
  // Its target died: the old copy stays, the move is gone.
  assert.deepEqual(
    Object.values(sweep(moving, { a: 100, b: 100 }, 1, ["q1"]).segments).map((e) => e.copies),
    [[{ node: "q1", state: "loaded" }], [{ node: "q1", state: "loaded" }]],
  );
  // Loaded: the new copy takes the old one's place.
  const done = sweep(loadAll(moving), { a: 100, b: 100 }, 1, ["q1", "q2"]);
  assert.deepEqual(Object.values(done.segments).map((e) => e.copies.map((c) => c.node)).sort(), [["q1"], ["q2"]]);
});
