// load_collection, release_collection, get_load_state. The load state is the
// collection meta's `released` flag; how far loading has come is read from
// the collection's placement key, where query nodes mark what they loaded.
import type { Args } from "../../protocol/args.js";
import type { CollectionMeta } from "../../protocol/collection.js";
import { VecbusError } from "../../protocol/errors.js";
import { loadTimeoutS, type LoadState } from "../../protocol/api.js";
import { servedBuilds } from "../../protocol/indexes.js";
import { placementKey, sameBuilds, type Placement, type ShardSegments } from "../../protocol/messages.js";
import { MetaKey } from "../../protocol/subjects.js";
import { liveNodes } from "../../runtime/session.js";
import type { ActorContext } from "../context.js";
import type { ProxyCore } from "./core.js";

const LOAD_POLL_MS = 200;

/** Waits until every placed segment is loaded, as MilvusClient.load_collection does, up to `timeout` seconds. */
export async function loadCollection(core: ProxyCore, args: Args): Promise<LoadState> {
  const meta = await core.collection(args);
  const timeout = loadTimeoutS(args.timeout);
  await core.coordinator({ kind: "load_collection", collection_name: meta.name });
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
 * with its index builds, see servedBuilds) is placed and loaded there; with no
 * query node alive the shard owners serve everything, and a load is done at
 * once. Progress counts rows. While a placed segment is still loading the
 * placement alone answers: load_collection polls this, and the segment
 * listing is only needed to tell "all placed ones loaded" from "all loaded".
 */
export async function loadState(ctx: Pick<ActorContext, "meta" | "sessions">, meta: CollectionMeta): Promise<LoadState> {
  if (meta.released) return { state: "NotLoad", progress: 0 };
  const p = (await ctx.meta.get<Placement>(MetaKey.placement(meta.id)))?.value;
  // The coordinator has not placed anything since the load yet.
  if (!p || !p.loaded) return { state: "Loading", progress: 0 };
  const due = new Map(Object.entries(p.segments).map(([k, e]) => [k, { rows: e.rows, loaded: e.state === "loaded" }]));
  if ([...due.values()].every((e) => e.loaded) && (await liveNodes(ctx.sessions, "query")).length > 0) {
    for (const { value: shard } of (await ctx.meta.list<ShardSegments>(MetaKey.segmentsOf(meta.id))).values()) {
      for (const ref of shard.segments) {
        const key = placementKey(shard.shard, ref.segment_id);
        const builds = servedBuilds(meta, ref);
        const entry = p.segments[key];
        // Indexed, but not placed yet (or placed with older builds): not loaded yet.
        if (builds && (!entry || !sameBuilds(entry.builds, builds))) due.set(key, { rows: ref.row_count - (ref.deleted_count ?? 0), loaded: false });
      }
    }
  }
  const all = [...due.values()];
  if (all.every((e) => e.loaded)) return { state: "Loaded", progress: 100 };
  const rows = all.reduce((n, e) => n + e.rows, 0);
  const loadedRows = all.filter((e) => e.loaded).reduce((n, e) => n + e.rows, 0);
  return { state: "Loading", progress: rows === 0 ? 0 : Math.floor((100 * loadedRows) / rows) };
}

/** Reads of a released collection are refused, as in Milvus. */
export function requireLoaded(meta: CollectionMeta): void {
  if (meta.released) {
    throw new VecbusError("COLLECTION_NOT_LOADED", `collection "${meta.name}" is not loaded; load it with load_collection (vecbus collection load ${meta.name})`);
  }
}
