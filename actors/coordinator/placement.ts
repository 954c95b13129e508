// Load and release, and placement: which query node serves each indexed
// sealed segment of a loaded collection (meta key placement.<cid>).
import type { CollectionMeta } from "../../protocol/collection.js";
import { servedBuilds } from "../../protocol/indexes.js";
import { placementKey, sameBuilds, type Placement, type ShardSegments } from "../../protocol/messages.js";
import { MetaKey } from "../../protocol/subjects.js";
import { withDeadline } from "../../runtime/retry.js";
import { liveNodes } from "../../runtime/session.js";
import { SWEEP_DEADLINE_MS } from "./coordinator.js";
import { updateCollection } from "./ddl.js";
import type { CoordinatorState } from "./state.js";

/** Load state lives in the collection meta; the placement follows at once (and at every sweep). */
export async function onLoad(co: CoordinatorState, name: string, load: boolean): Promise<CollectionMeta> {
  const meta = await updateCollection(co, name, (c) => {
    const { released: _was, ...rest } = c;
    return load ? rest : { ...rest, released: true };
  });
  await placeSegments(co, [meta]);
  co.ctx.log.info(load ? "loaded collection" : "released collection", { name });
  return meta;
}

/**
 * Places the sealed segments of loaded collections on live query nodes:
 * a segment is placed once every index declared on the collection is built
 * for it (until then its shard owner serves it), on the node with the
 * fewest rows placed, and stays there while that node lives. A released
 * collection, or a cluster without query nodes, places nothing: shard
 * owners then serve every segment themselves.
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
  const rows = new Map<string, number>(nodes.map((n) => [n, 0]));
  for (const { value } of placed.values()) for (const e of Object.values(value.segments)) if (rows.has(e.node)) rows.set(e.node, rows.get(e.node)! + e.rows);
  for (const c of collections) {
    const loaded = !c.released;
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
    const next: Placement = { collection_id: c.id, loaded, segments: {} };
    for (const w of wanted) {
      const old = cur?.segments[w.key];
      if (old && rows.has(old.node)) {
        next.segments[w.key] = sameBuilds(old.builds, w.builds) ? old : { ...old, state: "loading", builds: w.builds };
        continue;
      }
      if (nodes.length === 0) continue;
      const node = [...rows.entries()].sort((a, b) => a[1] - b[1])[0][0];
      rows.set(node, rows.get(node)! + w.rows);
      next.segments[w.key] = { node, state: "loading", rows: w.rows, builds: w.builds };
    }
    if (cur && JSON.stringify(cur) === JSON.stringify(next)) continue;
    const moved = Object.entries(next.segments).filter(([k, e]) => cur?.segments[k]?.node !== e.node).length;
    if (moved > 0 || !loaded) co.ctx.log.info("placed segments", { collection: c.name, loaded, placed: Object.keys(next.segments).length, moved });
    // A query node may have marked an entry loaded since the list: keep its word when the entry is unchanged.
    await co.ctx.meta.casUpdate<Placement>(MetaKey.placement(c.id), (now) => {
      const merged: Placement = { ...next, segments: { ...next.segments } };
      for (const [k, e] of Object.entries(merged.segments)) {
        const theirs = now?.segments[k];
        if (theirs && theirs.node === e.node && sameBuilds(theirs.builds, e.builds)) merged.segments[k] = theirs;
      }
      return now && JSON.stringify(now) === JSON.stringify(merged) ? undefined : merged;
    });
  }
  if (only) return;
  const live = new Set(collections.map((c) => c.id));
  for (const [key, { value, revision }] of placed) if (!live.has(value.collection_id)) await co.ctx.meta.delete(key, revision).catch(() => undefined);
}
