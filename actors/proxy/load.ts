// load_collection, release_collection, get_load_state. The load state is the
// collection meta's `released` flag; how far loading has come is read from
// the collection's placement key, where query nodes mark what they loaded.
import { optInt, type Args } from "../../protocol/args.js";
import type { CollectionMeta } from "../../protocol/collection.js";
import { VecbusError } from "../../protocol/errors.js";
import { loadTimeoutS, type LoadState, type ReplicaDescription } from "../../protocol/api.js";
import { servedBuilds } from "../../protocol/indexes.js";
import { placementKey, REPLICAS_MAX, sameBuilds, servingNodes, type Placement, type ShardSegments } from "../../protocol/messages.js";
import { MetaKey } from "../../protocol/subjects.js";
import { liveNodes } from "../../runtime/session.js";
import { shardAssignment, type ActorContext } from "../context.js";
import type { ProxyCore } from "./core.js";

const LOAD_POLL_MS = 200;

/**
 * Waits until every copy of every placed segment is loaded, as
 * MilvusClient.load_collection does, up to `timeout` seconds.
 */
export async function loadCollection(core: ProxyCore, args: Args): Promise<LoadState> {
  const meta = await core.collection(args);
  const timeout = loadTimeoutS(args.timeout);
  const replicas = optInt(args, "replica_number", 1, 1, REPLICAS_MAX);
  await core.coordinator({ kind: "load_collection", collection_name: meta.name, replica_number: replicas });
  const deadline = Date.now() + timeout * 1000;
  for (;;) {
    const state = await loadState(core.ctx, (await core.collection(args)) ?? meta);
    if (state.state === "Loaded") return state;
    if (Date.now() > deadline) {
      throw new VecbusError("TIMEOUT", `collection "${meta.name}" is still loading (${state.progress}%) after ${timeout} s; get_load_state shows its progress`);
    }
    await new Promise((r) => setTimeout(r, LOAD_POLL_MS));
  }
}

export async function releaseCollection(core: ProxyCore, args: Args): Promise<LoadState> {
  const meta = await core.collection(args);
  await core.coordinator({ kind: "release_collection", collection_name: meta.name });
  return { state: "NotLoad", progress: 0 };
}

/** As pymilvus: NotExist for a name that is neither a collection nor an alias. */
export async function getLoadState(core: ProxyCore, args: Args): Promise<LoadState> {
  const meta = await core.findCollection(args);
  return meta ? loadState(core.ctx, meta) : { state: "NotExist", progress: 0 };
}

/**
 * Loaded once every segment a query node should serve (each committed segment
 * with its index builds, see servedBuilds) is placed and every copy of it
 * loaded; with no query node alive the shard owners serve everything, and a
 * load is done at once. Progress counts rows, of every copy. While a placed segment is still loading the
 * placement alone answers: load_collection polls this, and the segment
 * listing is only needed to tell "all placed ones loaded" from "all loaded".
 */
export async function loadState(ctx: Pick<ActorContext, "meta" | "sessions">, meta: CollectionMeta): Promise<LoadState> {
  if (meta.released) return { state: "NotLoad", progress: 0 };
  const p = (await ctx.meta.get<Placement>(MetaKey.placement(meta.id)))?.value;
  // The coordinator has not placed anything since the load yet.
  if (!p || !p.loaded) return { state: "Loading", progress: 0 };
  const due = new Map(
    Object.entries(p.segments).map(([k, e]) => [k, { rows: e.rows * e.copies.length, loadedRows: e.rows * servingNodes(e).length }]),
  );
  if ([...due.values()].every((e) => e.loadedRows === e.rows) && (await liveNodes(ctx.sessions, "query")).length > 0) {
    for (const { value: shard } of (await ctx.meta.list<ShardSegments>(MetaKey.segmentsOf(meta.id))).values()) {
      for (const ref of shard.segments) {
        const key = placementKey(shard.shard, ref.segment_id);
        const builds = servedBuilds(meta, ref);
        const entry = p.segments[key];
        // Indexed, but not placed yet (or placed with older builds): not loaded yet.
        if (builds && (!entry || !sameBuilds(entry.builds, builds))) due.set(key, { rows: ref.row_count - (ref.deleted_count ?? 0), loadedRows: 0 });
      }
    }
  }
  const all = [...due.values()];
  if (all.every((e) => e.loadedRows === e.rows)) return { state: "Loaded", progress: 100 };
  const rows = all.reduce((n, e) => n + e.rows, 0);
  const loadedRows = all.reduce((n, e) => n + e.loadedRows, 0);
  return { state: "Loading", progress: rows === 0 ? 0 : Math.floor((100 * loadedRows) / rows) };
}

/** The replicas of a loaded collection, from its placement and its shards' owners; none while it is released. */
export async function describeReplicas(core: ProxyCore, args: Args): Promise<ReplicaDescription[]> {
  const meta = await core.collection(args);
  if (meta.released) return [];
  const p = (await core.ctx.meta.get<Placement>(MetaKey.placement(meta.id)))?.value;
  const leaders: ReplicaDescription["shard_leaders"] = [];
  for (let shard = 0; shard < meta.num_shards; shard++) {
    const a = await shardAssignment(core.ctx, meta.id, shard, meta.name);
    leaders.push({ shard, node_id: a.owner });
  }
  return Array.from({ length: meta.replica_number ?? 1 }, (_, replica) => {
    const copies = Object.values(p?.segments ?? {}).flatMap((e) => (e.copies[replica] ? [{ copy: e.copies[replica], rows: e.rows }] : []));
    return {
      replica_id: replica,
      collection_name: meta.name,
      node_ids: [...new Set(copies.map((c) => c.copy.node))].sort(),
      segments: copies.length,
      loaded_segments: copies.filter((c) => c.copy.state === "loaded").length,
      rows: copies.reduce((n, c) => n + c.rows, 0),
      shard_leaders: leaders,
    };
  });
}

/** Reads of a released collection are refused, as in Milvus. */
export function requireLoaded(meta: CollectionMeta): void {
  if (meta.released) {
    throw new VecbusError("COLLECTION_NOT_LOADED", `collection "${meta.name}" is not loaded; load it with load_collection (vecbus collection load ${meta.name})`);
  }
}
