// Load and release, and placement: which query node serves each indexed
// sealed segment of a loaded collection (meta key placement.<cid>).
import type { CollectionMeta } from "../../protocol/collection.js";
import { servedBuilds } from "../../protocol/indexes.js";
import { VecbusError } from "../../protocol/errors.js";
import { placementKey, REPLICAS_MAX, sameBuilds, type Placement, type PlacementCopy, type PlacementEntry, type ShardSegments } from "../../protocol/messages.js";
import { MetaKey } from "../../protocol/subjects.js";
import { withDeadline } from "../../runtime/retry.js";
import { liveNodes } from "../../runtime/session.js";
import { SWEEP_DEADLINE_MS } from "./coordinator.js";
import { updateCollection } from "./ddl.js";
import type { CoordinatorState } from "./state.js";

/**
 * Load state and the replica count live in the collection meta; the
 * placement follows at once (and at every sweep). As Milvus: a loaded
 * collection keeps its replica count until it is released, and a load asks
 * for no more replicas than there are live query nodes.
 */
export async function onLoad(co: CoordinatorState, name: string, load: boolean, replicas = 1): Promise<CollectionMeta> {
  if (replicas < 1 || replicas > REPLICAS_MAX) throw new VecbusError("INVALID_ARGUMENT", `replica_number must be from 1 to ${REPLICAS_MAX}; got ${replicas}`);
  if (load && replicas > 1) {
    const live = (await liveNodes(co.ctx.sessions, "query")).length;
    if (live < replicas) {
      throw new VecbusError(
        "INVALID_ARGUMENT",
        `replica_number ${replicas} needs ${replicas} live query nodes, ${live} running: start more (vecbus start query) or load "${name}" with fewer replicas`,
      );
    }
  }
  const meta = await updateCollection(co, name, (c) => {
    const { released: _was, replica_number: had, ...rest } = c;
    if (!load) return { ...rest, released: true };
    if (!c.released && (had ?? 1) !== replicas) {
      throw new VecbusError("INVALID_ARGUMENT", `collection "${name}" is loaded with ${had ?? 1} replica(s); release it before loading it with ${replicas}`);
    }
    return replicas > 1 ? { ...rest, replica_number: replicas } : rest;
  });
  await placeSegments(co, [meta]);
  co.ctx.log.info(load ? "loaded collection" : "released collection", { name, replicas: load ? replicas : 0 });
  return meta;
}

/** Balancing moves in flight at once, cluster-wide: each costs a segment load on its target. */
const BALANCE_MOVES_MAX = 2;

/**
 * Places the sealed segments of loaded collections on live query nodes:
 * a segment is placed once every index declared on the collection is built
 * for it (until then its shard owner serves it), one copy per replica, each
 * copy on a different node, the node with the fewest rows placed first; a
 * copy stays where it is while its node lives, and one on a node that died
 * is placed again elsewhere. A released collection, or a cluster without
 * query nodes, places nothing: shard owners then serve every segment
 * themselves. Then balance: see balance().
 */
export function placeSegments(co: CoordinatorState, only?: CollectionMeta[]): Promise<void> {
  // A load and the sweep must not place the same segment on two nodes from two reads of the key.
  const next = co.placing.then(() => withDeadline(SWEEP_DEADLINE_MS, "placing segments", () => place(co, only)));
  co.placing = next.catch(() => undefined);
  return next;
}

export async function place(co: CoordinatorState, only?: CollectionMeta[]): Promise<void> {
  const nodes = (await liveNodes(co.ctx.sessions, "query")).map((n) => n.node_id);
  const collections = only ?? [...(await co.ctx.meta.list<CollectionMeta>(MetaKey.collectionsPrefix)).values()].map((v) => v.value);
  const placed = await co.ctx.meta.list<Placement>(MetaKey.placementPrefix);
  // Rows each node serves once the moves in flight are done.
  const rows = new Map<string, number>(nodes.map((n) => [n, 0]));
  const moves = { inFlight: 0 };
  for (const { value } of placed.values()) {
    for (const e of Object.values(value.segments)) {
      for (const c of e.copies) {
        if (c.replaces !== undefined) moves.inFlight++;
        if (rows.has(c.node) && !e.copies.some((m) => m.replaces === c.node)) rows.set(c.node, rows.get(c.node)! + e.rows);
      }
    }
  }
  for (const c of collections) {
    const loaded = !c.released;
    const replicas = c.replica_number ?? 1;
    const cur = placed.get(MetaKey.placement(c.id))?.value;
    const wanted: { key: string; rows: number; builds: Record<string, number> }[] = [];
    if (loaded) {
      for (const { value: state } of (await co.ctx.meta.list<ShardSegments>(MetaKey.segmentsOf(c.id))).values()) {
        for (const ref of state.segments) {
          const key = placementKey(state.shard, ref.segment_id);
          // A placed segment waiting for a new index build stays where it is, served with what it has.
          const builds = servedBuilds(c, ref) ?? cur?.segments[key]?.builds;
          if (builds) wanted.push({ key, rows: ref.row_count - (ref.deleted_count ?? 0), builds });
        }
      }
    }
    const next: Placement = { collection_id: c.id, loaded, ...(replicas > 1 ? { replica_number: replicas } : {}), segments: {} };
    for (const w of wanted) {
      const copies = placeCopies(cur?.segments[w.key], w, replicas, rows);
      if (copies.length > 0) next.segments[w.key] = { copies, rows: w.rows, builds: w.builds };
    }
    balance(next, rows, moves);
    if (cur && JSON.stringify(cur) === JSON.stringify(next)) continue;
    const moved = Object.entries(next.segments).filter(([k, e]) => e.copies.some((x) => !cur?.segments[k]?.copies.some((y) => y.node === x.node))).length;
    if (moved > 0 || !loaded) co.ctx.log.info("placed segments", { collection: c.name, loaded, replicas, placed: Object.keys(next.segments).length, moved });
    // A query node may have marked a copy loaded since the list: keep its word where the copy is unchanged.
    await co.ctx.meta.casUpdate<Placement>(MetaKey.placement(c.id), (now) => {
      const merged: Placement = { ...next, segments: { ...next.segments } };
      for (const [k, e] of Object.entries(merged.segments)) {
        const theirs = now?.segments[k];
        if (!theirs || !sameBuilds(theirs.builds, e.builds)) continue;
        merged.segments[k] = { ...e, copies: e.copies.map((x) => theirs.copies.find((y) => y.node === x.node && y.state === "loaded" && y.replaces === x.replaces) ?? x) };
      }
      return now && JSON.stringify(now) === JSON.stringify(merged) ? undefined : merged;
    });
  }
  if (only) return;
  const live = new Set(collections.map((c) => c.id));
  for (const [key, { value, revision }] of placed) if (!live.has(value.collection_id)) await co.ctx.meta.delete(key, revision).catch(() => undefined);
}

/**
 * One segment's copies from its entry as placed before: copy i is replica
 * i's. A live copy stays (loading again for new index builds); a dead or
 * missing one is placed anew. A move (a copy that `replaces` another) is
 * done once its copy is loaded, which then takes the place of the copy it
 * replaces; until then both serve. A move is dropped when its target dies
 * or new builds come, and finished at once when the copy it replaces is gone.
 */
export function placeCopies(old: PlacementEntry | undefined, w: { rows: number; builds: Record<string, number> }, replicas: number, rows: Map<string, number>): PlacementCopy[] {
  const same = old !== undefined && sameBuilds(old.builds, w.builds);
  const base = (old?.copies ?? []).filter((x) => x.replaces === undefined);
  const moving: PlacementCopy[] = [];
  for (const m of old?.copies ?? []) {
    if (m.replaces === undefined || !same || !rows.has(m.node)) continue;
    const at = base.findIndex((x) => x.node === m.replaces);
    if (m.state === "loading" && at >= 0 && rows.has(m.replaces)) {
      moving.push(m);
      continue;
    }
    const done: PlacementCopy = { node: m.node, state: m.state };
    if (at >= 0) base[at] = done;
    else base.push(done);
  }
  const taken = (n: string) => base.some((x) => x.node === n && rows.has(n)) || moving.some((x) => x.node === n);
  const copies: PlacementCopy[] = [];
  for (let i = 0; i < replicas; i++) {
    const kept = base[i];
    if (kept && rows.has(kept.node)) {
      copies.push(same ? kept : { node: kept.node, state: "loading" });
      continue;
    }
    const free = [...rows.entries()].filter(([n]) => !taken(n) && !copies.some((x) => x.node === n));
    if (free.length === 0) continue;
    const node = free.sort((a, b) => a[1] - b[1])[0][0];
    rows.set(node, rows.get(node)! + w.rows);
    copies.push({ node, state: "loading" });
  }
  return [...copies, ...moving];
}

/**
 * Balance by rows: while fewer than BALANCE_MOVES_MAX moves are in flight,
 * a loaded copy on the node with the most rows gets a replacement on the
 * node with the fewest (make before break: the old copy serves until the
 * new one is loaded, and a read asks one of them, never both). Only a move
 * that narrows the gap between the two is made, the largest such segment
 * first, so placements settle instead of swinging between nodes.
 */
export function balance(next: Placement, rows: Map<string, number>, moves: { inFlight: number }): void {
  while (moves.inFlight < BALANCE_MOVES_MAX && rows.size > 1) {
    const byRows = [...rows.entries()].sort((a, b) => a[1] - b[1]);
    const [light, lightRows] = byRows[0];
    const [heavy, heavyRows] = byRows[byRows.length - 1];
    let best: PlacementEntry | undefined;
    for (const e of Object.values(next.segments)) {
      if (e.rows === 0 || e.rows >= heavyRows - lightRows || (best && best.rows >= e.rows)) continue;
      // One move per segment at a time, and never two copies of a segment on one node.
      if (e.copies.some((x) => x.replaces !== undefined || x.node === light)) continue;
      if (e.copies.some((x) => x.node === heavy && x.state === "loaded")) best = e;
    }
    if (!best) return;
    best.copies.push({ node: light, state: "loading", replaces: heavy });
    rows.set(heavy, heavyRows - best.rows);
    rows.set(light, lightRows + best.rows);
    moves.inFlight++;
  }
}
