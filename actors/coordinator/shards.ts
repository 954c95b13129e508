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

/** A streaming node takes shards over by balance only once it has been up this long: a node that restarts in a loop is not fed. */
const BALANCE_SETTLE_MS = 10_000;
/** Between two balancing moves: the last one's new owner has opened the shard by then. */
const BALANCE_PAUSE_MS = 10_000;
/** How long the owner may take to flush before a move (its new owner then replays the WAL after the last flush). */
const MOVE_FLUSH_MS = 30_000;

/**
 * Balance by shard count: when the live streaming node with the most shards
 * has two or more above one with the fewest (up for BALANCE_SETTLE_MS),
 * one of its shards moves there. The owner flushes first, so the new owner
 * replays a short WAL tail; then the assignment names the new owner at a new
 * epoch and the move is a failover without a death: the new owner fences
 * the WAL, the old one closes the shard when it hears, and requests in
 * between are retried by the proxies. One move at a time, in the background.
 */
export async function balanceShards(co: CoordinatorState): Promise<void> {
  if (co.shardMove.running || Date.now() - co.shardMove.at < BALANCE_PAUSE_MS) return;
  const nodes = await liveNodes(co.ctx.sessions, "streaming");
  const count = new Map<string, number>(nodes.map((n) => [n.node_id, 0]));
  const assignments = [...(await co.ctx.meta.list<ShardAssignment>(MetaKey.shardsPrefix)).values()];
  for (const { value } of assignments) if (count.has(value.owner)) count.set(value.owner, count.get(value.owner)! + 1);
  const settled = nodes.filter((n) => Date.now() - n.started_at >= BALANCE_SETTLE_MS).map((n) => n.node_id);
  const heavy = [...count.entries()].sort((a, b) => b[1] - a[1])[0];
  const light = settled.map((n) => [n, count.get(n)!] as const).sort((a, b) => a[1] - b[1])[0];
  if (!heavy || !light || heavy[1] - light[1] < 2) return;
  const moving = assignments.find((a) => a.value.owner === heavy[0]);
  if (!moving) return;
  co.shardMove = { at: Date.now(), running: true };
  void moveShard(co, moving.value, light[0])
    .catch((e) => co.ctx.log.warn("moving a shard for balance failed", { collection: moving.value.collection_name, shard: moving.value.shard, error: String(e) }))
    .finally(() => (co.shardMove = { at: Date.now(), running: false }));
}

async function moveShard(co: CoordinatorState, a: ShardAssignment, to: string): Promise<void> {
  await co.ctx.refs
    .shard(a.collection_id, a.shard, a.epoch)
    .ask({ kind: "flush" }, MOVE_FLUSH_MS)
    .catch(() => undefined);
  const next: ShardAssignment = { ...a, owner: to, epoch: a.epoch + 1 };
  const updated = await co.ctx.meta.casUpdate<ShardAssignment>(MetaKey.shard(a.collection_id, a.shard), (cur) =>
    cur && cur.epoch === a.epoch && cur.owner === a.owner ? next : undefined,
  );
  if (updated?.owner === to && updated.epoch === next.epoch) co.ctx.log.info("moved a shard for balance", { collection: a.collection_name, shard: a.shard, from: a.owner, to, epoch: next.epoch });
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
