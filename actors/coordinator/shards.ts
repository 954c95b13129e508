// Shard assignment: every shard has one live streaming node as owner, with
// an epoch that rises on each move (the new owner fences the old one).
import type { CollectionMeta } from "../../protocol/collection.js";
import { VecbusError } from "../../protocol/errors.js";
import { type ShardAssignment } from "../../protocol/messages.js";
import { MetaKey } from "../../protocol/subjects.js";
import { retrying } from "../../runtime/retry.js";
import { liveNodes } from "../../runtime/session.js";
import { shardOwner } from "../context.js";
import type { CoordinatorState } from "./state.js";

const SHARD_READY_TIMEOUT_MS = 15_000;

/**
 * Gives every shard without a live owner to the least-loaded live streaming
 * node, bumping the shard epoch so the previous owner knows it was replaced.
 */
export async function assignShards(co: CoordinatorState, only?: CollectionMeta): Promise<void> {
  const nodes = (await liveNodes(co.ctx.sessions, "streaming")).map((n) => n.node_id);
  const collections = only ? [only] : [...(await co.ctx.meta.list<CollectionMeta>(MetaKey.collectionsPrefix)).values()].map((v) => v.value);
  const assignments = await co.ctx.meta.list<ShardAssignment>(MetaKey.shardsPrefix);
  const load = new Map<string, number>(nodes.map((n) => [n, 0]));
  for (const { value } of assignments.values()) if (load.has(value.owner)) load.set(value.owner, load.get(value.owner)! + 1);
  for (const c of collections) {
    for (let s = 0; s < c.num_shards; s++) {
      const cur = assignments.get(MetaKey.shard(c.id, s));
      if (cur && load.has(cur.value.owner)) continue;
      if (nodes.length === 0) {
        throw new VecbusError("UNAVAILABLE", "no streaming node is running; start one with `vecbus start streaming`");
      }
      const owner = [...load.entries()].sort((a, b) => a[1] - b[1])[0][0];
      const next: ShardAssignment = { collection_id: c.id, collection_name: c.name, shard: s, owner, epoch: (cur?.value.epoch ?? 0) + 1 };
      try {
        if (cur) await co.ctx.meta.update(MetaKey.shard(c.id, s), next, cur.revision);
        else await co.ctx.meta.create(MetaKey.shard(c.id, s), next);
      } catch (e) {
        // Another sweep (or a create racing a sweep) assigned it first: its choice stands.
        if (e instanceof VecbusError && e.code === "CONFLICT") continue;
        throw e;
      }
      load.set(owner, load.get(owner)! + 1);
      co.ctx.log.info("assigned shard", { collection: c.name, shard: s, owner, epoch: next.epoch, previous: cur?.value.owner });
    }
  }
}

export async function waitShardsReady(co: CoordinatorState, meta: CollectionMeta): Promise<void> {
  const deadline = Date.now() + SHARD_READY_TIMEOUT_MS;
  for (let s = 0; s < meta.num_shards; s++) {
    await retrying(async () => (await shardOwner(co.ctx, meta.id, s)).ask({ kind: "stats" }, 1_000), {
      ms: Math.max(0, deadline - Date.now()),
      retriable: () => true,
      pauseMs: 50,
      giveUp: () => new VecbusError("UNAVAILABLE", `shard ${s} of "${meta.name}" did not come up within ${SHARD_READY_TIMEOUT_MS} ms; check \`vecbus status\``),
    });
  }
}
