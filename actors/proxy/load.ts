// load_collection, release_collection, get_load_state. The load state is the
// collection meta's `released` flag; how far loading has come is read from
// the collection's placement key, where query nodes mark what they loaded.
import type { Args } from "../../protocol/args.js";
import type { CollectionMeta } from "../../protocol/collection.js";
import { VecbusError } from "../../protocol/errors.js";
import { loadTimeoutS, type LoadState } from "../../protocol/api.js";
import type { Placement } from "../../protocol/messages.js";
import { MetaKey } from "../../protocol/subjects.js";
import type { ProxyCore } from "./core.js";

const LOAD_POLL_MS = 200;

/** Waits until every placed segment is loaded, as MilvusClient.load_collection does, up to `timeout` seconds. */
export async function loadCollection(core: ProxyCore, args: Args): Promise<LoadState> {
  const meta = await core.collection(args);
  const timeout = loadTimeoutS(args.timeout);
  await core.coordinator({ kind: "load_collection", collection_name: meta.name });
  const deadline = Date.now() + timeout * 1000;
  for (;;) {
    const state = await loadState(core, (await core.collection(args)) ?? meta);
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
  return meta ? loadState(core, meta) : { state: "NotExist", progress: 0 };
}

export async function loadState(core: ProxyCore, meta: CollectionMeta): Promise<LoadState> {
  if (meta.released) return { state: "NotLoad", progress: 0 };
  const p = (await core.ctx.meta.get<Placement>(MetaKey.placement(meta.id)))?.value;
  // The coordinator has not placed anything since the load yet.
  if (!p || !p.loaded) return { state: "Loading", progress: 0 };
  const entries = Object.values(p.segments);
  const rows = entries.reduce((n, e) => n + e.rows, 0);
  const loadedRows = entries.filter((e) => e.state === "loaded").reduce((n, e) => n + e.rows, 0);
  if (entries.every((e) => e.state === "loaded")) return { state: "Loaded", progress: 100 };
  return { state: "Loading", progress: rows === 0 ? 0 : Math.floor((100 * loadedRows) / rows) };
}

/** Reads of a released collection are refused, as in Milvus. */
export function requireLoaded(meta: CollectionMeta): void {
  if (meta.released) {
    throw new VecbusError("COLLECTION_NOT_LOADED", `collection "${meta.name}" is not loaded; load it with load_collection (vecbus collection load ${meta.name})`);
  }
}
