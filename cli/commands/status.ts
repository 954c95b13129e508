// `vecbus status`.
import type { ClusterStatus } from "../../protocol/api.js";
import type { NodeLoad } from "../../protocol/messages.js";
import { ClientCommandSpec, isoTime } from "../command.js";
import { table } from "../table.js";

export function statusCommands(): ClientCommandSpec[] {
  return [
    {
      name: "status",
      args: "",
      summary: "live nodes, shard owners and segments (state, rows, index, who serves them)",
      plan: () => async (client) => {
        const s = await client.status();
        return { data: s, text: statusText(s) };
      },
    },
  ];
}

function statusText(s: ClusterStatus): string {
  const nodes = table(
    ["role", "node", "host", "pid", "up since", "in flight", "shards", "segments", "rows", "note"],
    s.nodes.map((n) => [
      n.role,
      n.node_id,
      n.host,
      n.pid,
      isoTime(n.started_at),
      n.load?.in_flight,
      n.load?.shards,
      n.load?.segments,
      n.load?.rows,
      nodeNote(n.load),
    ]),
  );
  const shards = table(
    ["collection", "shard", "owner", "epoch", "rows", "segments", "wal stream", "wal last seq", "health"],
    s.shards.map((x) => [x.collection_name, x.shard, x.owner, x.epoch, x.row_count ?? undefined, x.segments ?? undefined, x.wal_stream, x.wal_last_seq, x.health]),
  );
  const segments = table(
    ["collection", "shard", "segment", "state", "rows", "deleted", "index", "served by"],
    s.segments.map((x) => [x.collection_name, x.shard, x.segment_id ?? "growing", x.state, x.rows, x.deleted, x.index, x.served_by]),
  );
  return `nodes\n${nodes}\n\nshards\n${shards}\n\nsegments\n${segments}`;
}

function nodeNote(load: NodeLoad | null): string {
  if (!load) return "no answer";
  if (load.leader !== undefined) return load.leader ? "leader" : "standby";
  if (load.lag_ms !== undefined) return `lag ${(load.lag_ms / 1000).toFixed(1)} s`;
  if (load.vector_bytes === undefined) return "";
  return `in memory: vectors ${mib(load.vector_bytes)}, codes ${mib(load.code_bytes ?? 0)}`;
}

function mib(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(1)} MiB`;
}
